package engine

import "time"

// Event is one scheduled occurrence. Kind, Target and Gen are opaque to the
// engine: the simulation uses Kind to dispatch, Target to name the object the
// event is about and Gen to recognise events that were superseded after they
// were scheduled (cheaper than removing them from the heap).
type Event struct {
	At     time.Duration
	Kind   uint8
	Target int32
	Gen    uint32
	seq    uint64
}

// Loop owns the clock and the pending events. Events are stored by value in
// a hand-written binary heap: no interface boxing, no allocation per event
// once the backing array has grown.
type Loop struct {
	clock Clock
	heap  []Event
	seq   uint64
}

// Clock returns the loop's virtual clock.
func (l *Loop) Clock() *Clock { return &l.clock }

// Now is the current virtual time.
func (l *Loop) Now() time.Duration { return l.clock.now }

// Schedule queues an event at now+delay. A negative delay is a programming
// error: an event may not happen in the past.
func (l *Loop) Schedule(delay time.Duration, kind uint8, target int32, gen uint32) {
	if delay < 0 {
		panic("engine: negative delay")
	}
	l.push(Event{At: l.clock.now + delay, Kind: kind, Target: target, Gen: gen})
}

// ScheduleAt queues an event at an absolute virtual time, which must not be
// in the past.
func (l *Loop) ScheduleAt(at time.Duration, kind uint8, target int32, gen uint32) {
	if at < l.clock.now {
		panic("engine: event scheduled in the past")
	}
	l.push(Event{At: at, Kind: kind, Target: target, Gen: gen})
}

// Peek returns the time of the earliest pending event.
func (l *Loop) Peek() (time.Duration, bool) {
	if len(l.heap) == 0 {
		return 0, false
	}
	return l.heap[0].At, true
}

// Pop removes the earliest event and advances the clock to it.
func (l *Loop) Pop() (Event, bool) {
	if len(l.heap) == 0 {
		return Event{}, false
	}
	ev := l.heap[0]
	last := len(l.heap) - 1
	l.heap[0] = l.heap[last]
	l.heap = l.heap[:last]
	l.down(0)
	l.clock.advance(ev.At)
	return ev, true
}

// AdvanceTo moves the clock forward without an event, for work that the
// caller generates lazily (arrivals) and that falls before the next event.
func (l *Loop) AdvanceTo(at time.Duration) { l.clock.advance(at) }

func (l *Loop) push(ev Event) {
	l.seq++
	ev.seq = l.seq
	l.heap = append(l.heap, ev)
	l.up(len(l.heap) - 1)
}

func less(a, b *Event) bool {
	if a.At != b.At {
		return a.At < b.At
	}
	return a.seq < b.seq
}

func (l *Loop) up(i int) {
	h := l.heap
	for i > 0 {
		parent := (i - 1) / 2
		if !less(&h[i], &h[parent]) {
			return
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (l *Loop) down(i int) {
	h := l.heap
	n := len(h)
	for {
		left := 2*i + 1
		if left >= n {
			return
		}
		smallest := left
		if right := left + 1; right < n && less(&h[right], &h[left]) {
			smallest = right
		}
		if !less(&h[smallest], &h[i]) {
			return
		}
		h[i], h[smallest] = h[smallest], h[i]
		i = smallest
	}
}
