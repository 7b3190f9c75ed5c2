package engine

import (
	"time"

	"k8s.io/utils/clock"
)

// Epoch is the wall-clock instant that virtual time zero maps to. It is fixed
// so that code reading the clock as a time.Time (for example Kubernetes code
// written against clock.PassiveClock) sees the same timestamps in every run.
var Epoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// Clock is the virtual clock of one simulation. Only the event loop advances
// it; everything else reads it.
type Clock struct {
	now time.Duration
}

var _ clock.PassiveClock = (*Clock)(nil)

// Now implements clock.PassiveClock.
func (c *Clock) Now() time.Time { return Epoch.Add(c.now) }

// Since implements clock.PassiveClock.
func (c *Clock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

func (c *Clock) advance(to time.Duration) {
	if to < c.now {
		panic("engine: clock moved backwards")
	}
	c.now = to
}
