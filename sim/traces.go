package sim

import (
	"sync"

	"github.com/kisproject/kis/sim/traffic"
)

// TraceCache shares each trace file among the simulations that replay it,
// so that an evaluation matrix or a training run reads it once and holds
// one copy: a week of Azure's 2024 traces is ~27 million rows, ~15 s to
// parse and ~440 MB to hold, and a matrix builds every cell before it runs
// any. It also keeps a run's cells on one reading of a file that changes
// under it, and makes a trace read from a pipe replayable more than once.
// Safe for concurrent use; a nil *TraceCache reads the file every time.
type TraceCache struct {
	mu     sync.Mutex
	traces map[string]*traffic.Trace
}

// NewTraceCache returns an empty cache.
func NewTraceCache() *TraceCache {
	return &TraceCache{traces: map[string]*traffic.Trace{}}
}

// Load returns the trace at path, reading it on first use. A file that
// fails to load is not cached: each caller gets the error.
func (c *TraceCache) Load(path string) (*traffic.Trace, error) {
	if c == nil {
		return traffic.LoadTrace(path)
	}
	// Held while reading, so that simulations built at once wait for one
	// read instead of each starting its own.
	c.mu.Lock()
	defer c.mu.Unlock()
	if tr, ok := c.traces[path]; ok {
		return tr, nil
	}
	tr, err := traffic.LoadTrace(path)
	if err != nil {
		return nil, err
	}
	c.traces[path] = tr
	return tr, nil
}
