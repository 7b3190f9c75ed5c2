package sim

import (
	"math"
	"time"

	"github.com/kisproject/kis/sim/traffic"
	"github.com/kisproject/kis/sim/workload"
)

// fifo is a queue of requests that reuses its backing array.
type fifo struct {
	buf  []traffic.Request
	head int
}

func (q *fifo) len() int { return len(q.buf) - q.head }

func (q *fifo) push(r traffic.Request) {
	if q.head > 0 && q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	}
	q.buf = append(q.buf, r)
}

func (q *fifo) front() *traffic.Request { return &q.buf[q.head] }

func (q *fifo) pop() traffic.Request {
	r := q.buf[q.head]
	q.head++
	if q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	} else if q.head > 1024 && q.head*2 > len(q.buf) {
		n := copy(q.buf, q.buf[q.head:])
		q.buf, q.head = q.buf[:n], 0
	}
	return r
}

// slot is a request in an LLM replica's running batch. It finishes when the
// replica's decode progress reaches finish.
type slot struct {
	finish float64
	arrive time.Duration
}

// server is one replica's serving engine. The LLM engine batches at token
// level: between events all running requests advance together at one token
// per decode step, so the engine only needs an event when a request joins
// or finishes (processor-sharing style bookkeeping on "progress", the
// tokens decoded per sequence since start). The image engine batches at
// request level: one event per batch.
type server struct {
	prof  *workload.Profile
	speed float64

	queue fifo

	// LLM state.
	running    []slot // min-heap on finish
	progress   float64
	last       time.Duration
	stallUntil time.Duration // prefills in progress stall decoding

	// Image state.
	batch    []time.Duration // arrival times of the executing batch
	batchEnd time.Duration

	busy     time.Duration // total time with work on the GPU
	busyMark time.Duration // busy at the last scrape
	gen      uint32        // invalidates scheduled wake-ups
}

func newServer(prof *workload.Profile, speed float64, now time.Duration) *server {
	return &server{prof: prof, speed: speed, last: now}
}

// outstanding is what a least-outstanding balancer compares.
func (s *server) outstanding() int { return s.queue.len() + s.inService() }

func (s *server) inService() int {
	if s.prof.Kind == workload.Image {
		return len(s.batch)
	}
	return len(s.running)
}

func (s *server) idle() bool { return s.outstanding() == 0 }

func (s *server) scaled(d time.Duration) time.Duration {
	return time.Duration(math.Ceil(float64(d) / s.speed))
}

// advance brings the LLM engine's progress and busy time up to now.
func (s *server) advance(now time.Duration) {
	if s.prof.Kind == workload.Image {
		return
	}
	if n := len(s.running); n > 0 {
		if start := max(s.last, s.stallUntil); now > start {
			step := float64(s.prof.DecodeStep(n)) / s.speed
			s.progress += float64(now-start) / step
		}
		s.busy += now - s.last
	}
	s.last = now
}

// busyUntil reports busy time including the part of a running image batch
// that has already elapsed.
func (s *server) busyUntil(now time.Duration) time.Duration {
	if s.prof.Kind == workload.Image && len(s.batch) > 0 {
		start := s.batchEnd - s.batchDuration(len(s.batch))
		return s.busy + max(0, now-start)
	}
	return s.busy
}

func (s *server) batchDuration(n int) time.Duration {
	return s.scaled(s.prof.BatchBase + time.Duration(n)*s.prof.BatchPerItem)
}

// admit starts an LLM request now: its prompt is prefilled (stalling the
// batch) and it then decodes Output tokens. Caller has called advance(now).
func (s *server) admit(r traffic.Request, now time.Duration) {
	s.pushSlot(slot{finish: s.progress + float64(r.Output), arrive: r.At})
	s.stallUntil = max(s.stallUntil, now) + s.scaled(time.Duration(r.Input)*s.prof.PrefillPerToken)
}

// nextWake is when the engine next needs an event, or -1 if never.
func (s *server) nextWake(now time.Duration) time.Duration {
	if s.prof.Kind == workload.Image {
		if len(s.batch) == 0 {
			return -1
		}
		return s.batchEnd
	}
	if len(s.running) == 0 {
		return -1
	}
	step := float64(s.prof.DecodeStep(len(s.running))) / s.speed
	left := math.Max(0, s.running[0].finish-s.progress)
	return max(now, s.stallUntil) + time.Duration(math.Ceil(left*step))
}

func (s *server) pushSlot(x slot) {
	h := append(s.running, x)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if h[p].finish <= h[i].finish {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	s.running = h
}

func (s *server) popSlot() slot {
	h := s.running
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && h[r].finish < h[l].finish {
			m = r
		}
		if h[i].finish <= h[m].finish {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	s.running = h
	return top
}

// finishedEpsilon absorbs float rounding when comparing progress.
const finishedEpsilon = 1e-6
