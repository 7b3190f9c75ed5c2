package parallel

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
)

func TestEachCallsEveryIndexOnceOnItsWorkers(t *testing.T) {
	const n, workers = 100, 4
	var calls [n]atomic.Int32
	var made atomic.Int32
	Each(context.Background(), n, workers, func() func(int) {
		made.Add(1)
		return func(i int) { calls[i].Add(1) }
	})
	if got := made.Load(); got != workers {
		t.Errorf("%d workers made, want %d", got, workers)
	}
	for i := range calls {
		if got := calls[i].Load(); got != 1 {
			t.Errorf("index %d called %d times, want 1", i, got)
		}
	}
}

func TestEachHandsOutNothingOnceCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var done []int
	Each(ctx, 1000, 1, func() func(int) {
		return func(i int) {
			mu.Lock()
			defer mu.Unlock()
			done = append(done, i)
			if i == 2 {
				cancel()
			}
		}
	})
	// Index 3 may be handed out in the instant the cancel comes, but no
	// index after it.
	if len(done) < 3 || len(done) > 4 {
		t.Fatalf("ran indices %v after a cancel at index 2, want 0-2 and at most 3", done)
	}
}
