package sim

import (
	"testing"
	"time"

	"github.com/kisproject/kis/sim/traffic"
	"github.com/kisproject/kis/sim/workload"
)

func TestArrivedSinceCountsQueuedAndRunningRequests(t *testing.T) {
	prof, err := workload.LookupProfile("llm")
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(&prof, 1, 0)
	for _, at := range []time.Duration{1, 5, 9} {
		s.queue.push(traffic.Request{At: at * time.Second})
	}
	s.queue.pop() // served: no longer counts
	for _, at := range []time.Duration{2, 8} {
		s.pushSlot(slot{finish: 100, arrive: at * time.Second})
	}
	// Queued at 5 s and 9 s, running since 8 s; 5 s is on the boundary.
	if got := s.arrivedSince(5 * time.Second); got != 3 {
		t.Errorf("arrivedSince(5s) = %d, want 3", got)
	}
	if got := s.arrivedSince(0); got != 4 {
		t.Errorf("arrivedSince(0) = %d, want 4 (the popped request left)", got)
	}
}
