// Package parallel runs indexed work on a fixed number of goroutines.
package parallel

import (
	"context"
	"sync"
)

// Each calls work(i) for i in [0, n) on workers goroutines, each with its
// own work function from newWorker, so that a worker can keep state that
// is not safe to share. It hands out no more indices once ctx is done, and
// returns when every call it started has returned.
func Each(ctx context.Context, n, workers int, newWorker func() (work func(i int))) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work := newWorker()
			for i := range next {
				work(i)
			}
		}()
	}
feed:
	for i := range n {
		// A select with both cases ready picks either, so check first.
		if ctx.Err() != nil {
			break
		}
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
}
