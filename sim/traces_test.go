package sim_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kisproject/kis/sim"
	"github.com/kisproject/kis/sim/traffic"
)

// A cache reads a file once: later loads, concurrent ones included, get
// that reading even after the file changes, and a failed load is retried.
func TestTraceCacheReadsAFileOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.csv")
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := sim.NewTraceCache()
	if _, err := c.Load(path); err == nil {
		t.Fatal("loaded a file that does not exist")
	}
	write("t_seconds\n0\n1\n")
	loaded := make([]*traffic.Trace, 8)
	var wg sync.WaitGroup
	for i := range loaded {
		wg.Go(func() {
			tr, err := c.Load(path)
			if err != nil {
				t.Error(err)
			}
			loaded[i] = tr
		})
	}
	wg.Wait()
	for _, tr := range loaded[1:] {
		if tr != loaded[0] {
			t.Fatal("concurrent loads of one file returned different traces")
		}
	}
	write("t_seconds\n0\n1\n2\n")
	if tr, err := c.Load(path); err != nil || tr != loaded[0] {
		t.Errorf("after the file changed: %v, %v; want the first reading", tr, err)
	}
	var uncached *sim.TraceCache
	if tr, err := uncached.Load(path); err != nil || len(tr.Requests) != 3 {
		t.Errorf("a nil cache: %v, %v; want the file as it is now, 3 requests", tr, err)
	}
}
