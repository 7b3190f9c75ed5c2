package engine

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoopOrdersByTimeThenSequence(t *testing.T) {
	var l Loop
	l.Schedule(3*time.Second, 1, 0, 0)
	l.Schedule(time.Second, 2, 0, 0)
	l.Schedule(3*time.Second, 3, 0, 0) // same time as kind 1: must come after it
	l.Schedule(2*time.Second, 4, 0, 0)
	l.Schedule(time.Second, 5, 0, 0) // same time as kind 2: after it

	var got []uint8
	var times []time.Duration
	for {
		ev, ok := l.Pop()
		if !ok {
			break
		}
		got = append(got, ev.Kind)
		times = append(times, l.Now())
	}
	if diff := cmp.Diff([]uint8{2, 5, 4, 1, 3}, got); diff != "" {
		t.Errorf("order (-want,+got):\n%s", diff)
	}
	want := []time.Duration{time.Second, time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}
	if diff := cmp.Diff(want, times); diff != "" {
		t.Errorf("clock (-want,+got):\n%s", diff)
	}
}

func TestClockIsPassiveClockOnFixedEpoch(t *testing.T) {
	var l Loop
	l.Schedule(90*time.Second, 0, 0, 0)
	start := l.Clock().Now()
	l.Pop()
	if got := l.Clock().Since(start); got != 90*time.Second {
		t.Errorf("Since = %v, want 90s", got)
	}
	if !start.Equal(Epoch) {
		t.Errorf("start = %v, want %v", start, Epoch)
	}
}

func TestScheduleNegativeDelayPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("negative delay did not panic")
		}
	}()
	var l Loop
	l.Schedule(-time.Nanosecond, 0, 0, 0)
}

func BenchmarkLoopScheduleAndPop(b *testing.B) {
	var l Loop
	for i := 0; i < 1024; i++ {
		l.Schedule(time.Duration(i)*time.Millisecond, 0, 0, 0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev, _ := l.Pop()
		l.Schedule(time.Duration(ev.Kind+1)*time.Second, ev.Kind, 0, 0)
	}
}
