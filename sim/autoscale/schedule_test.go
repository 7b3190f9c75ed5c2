package autoscale

import (
	"strings"
	"testing"
	"time"

	"github.com/kisproject/kis/policy"
	"github.com/kisproject/kis/sim/traffic"
)

func scheduleEnv() Env {
	return Env{
		MinReplicas: 1, MaxReplicas: 20, SyncPeriod: 15 * time.Second,
		Capacity: 10, MaxBatch: 32, Lead: 60 * time.Second,
		Jumps: []traffic.Jump{
			{From: 300 * time.Second, To: 400 * time.Second, Over: 50}, // a spike's window
			{From: 900 * time.Second, To: 930 * time.Second},           // a level change
			{From: 1500 * time.Second, To: 1600 * time.Second, Over: 50},
		},
	}
}

// scheduleStep is one sync: the load it sees and the fleet it must ask for.
type scheduleStep struct {
	at          time.Duration
	rate, queue float64
	want        int32
	why         string
}

func checkScheduleSteps(t *testing.T, s *Schedule, steps []scheduleStep) {
	t.Helper()
	for _, st := range steps {
		got := s.Desired(&Input{Now: st.at, Obs: policy.Observation{RequestRate: st.rate, Running: st.queue}})
		if got != st.want {
			t.Errorf("at %v (%s): %d replicas, want %d", st.at, st.why, got, st.want)
		}
	}
}

// Hand-computed: between jumps the fleet is max(ceil(0.8 x rate / 10),
// ceil(outstanding / 16)) capped at high; from Lead before each window
// until the jump is over it is high.
func TestScheduleHoldsHighThroughEachJump(t *testing.T) {
	s, err := newSchedule("schedule:high=8", "high=8", scheduleEnv())
	if err != nil {
		t.Fatal(err)
	}
	checkScheduleSteps(t, s, []scheduleStep{
		{100 * time.Second, 20, 10, 2, "before the first window: ceil(0.8*20/10) = 2 beats ceil(10/16) = 1"},
		{239 * time.Second, 20, 10, 2, "just under one lead before the window"},
		{240 * time.Second, 20, 10, 8, "one lead before the window opens"},
		{330 * time.Second, 80, 120, 8, "the spike, above Over"},
		{345 * time.Second, 60, 40, 8, "still above Over"},
		{360 * time.Second, 30, 40, 3, "back below Over: the spike is over, ceil(40/16) = 3"},
		{500 * time.Second, 20, 10, 2, "between windows"},
		{840 * time.Second, 20, 10, 8, "one lead before the level change"},
		{944 * time.Second, 90, 100, 8, "the level change's window closed under a scrape ago"},
		{945 * time.Second, 120, 100, 8, "settled: ceil(0.8*120/10) = 10, capped at high"},
		{960 * time.Second, 30, 100, 7, "a fleet sized by the queue"},
		{1440 * time.Second, 20, 10, 8, "one lead before a spike that never comes"},
		{1614 * time.Second, 20, 10, 8, "its window closed under a scrape ago"},
		{1615 * time.Second, 20, 10, 2, "a spike never seen is over once its window has closed"},
	})
}

// Hand-computed with stabilize=60s: between holds the fleet is the
// highest size asked for in the last minute; a hold asks for none, so the
// fleet falls from high to the size the load asks at once.
func TestScheduleStabilizesTheFleetBetweenHolds(t *testing.T) {
	s, err := newSchedule("schedule:high=8,stabilize=60s", "high=8,stabilize=60s", scheduleEnv())
	if err != nil {
		t.Fatal(err)
	}
	checkScheduleSteps(t, s, []scheduleStep{
		{100 * time.Second, 20, 40, 3, "ceil(40/16) = 3"},
		{115 * time.Second, 20, 10, 3, "sized 2, but 3 within the last minute"},
		{160 * time.Second, 20, 10, 2, "the 3 of 100 s is a minute old"},
		{240 * time.Second, 20, 10, 8, "one lead before the window"},
		{330 * time.Second, 80, 120, 8, "the spike"},
		{360 * time.Second, 30, 40, 3, "the spike is over: the hold left no high behind"},
		{375 * time.Second, 10, 0, 3, "sized 1, but 3 within the last minute"},
		{421 * time.Second, 10, 0, 1, "the 3 of 360 s is over a minute old"},
	})
}

// Syncs are 15 s apart: one that comes only after a whole window has
// passed moves past it without holding high.
func TestScheduleSkipsAWindowThatPassedBetweenSyncs(t *testing.T) {
	env := scheduleEnv()
	env.Lead = 0
	s, err := newSchedule("schedule:high=8,lead=0s", "high=8,lead=0s", env)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Desired(&Input{Now: 1000 * time.Second, Obs: policy.Observation{RequestRate: 20}}); got != 2 {
		t.Errorf("after the first two windows: %d replicas, want 2", got)
	}
	if got := s.Desired(&Input{Now: 1500 * time.Second, Obs: policy.Observation{RequestRate: 20}}); got != 8 {
		t.Errorf("in the third window: %d replicas, want 8", got)
	}
}

func TestScheduleSpecErrors(t *testing.T) {
	noJumps := scheduleEnv()
	noJumps.Jumps = nil
	tests := []struct {
		spec string
		env  Env
		want string
	}{
		{"schedule:high=8", noJumps, "no jumps to schedule"},
		{"schedule", scheduleEnv(), "want schedule:high=<replicas>"},
		{"schedule:headroom=0.8", scheduleEnv(), "want schedule:high=<replicas>"},
		{"schedule:high=0", scheduleEnv(), "high must be a replica count in [1, 20]"},
		{"schedule:high=21", scheduleEnv(), "high must be a replica count in [1, 20]"},
		{"schedule:high=x", scheduleEnv(), "high must be a replica count"},
		{"schedule:high=8,headroom=0", scheduleEnv(), "headroom=<0 < f"},
		{"schedule:high=8,headroom=NaN", scheduleEnv(), "headroom=<0 < f"},
		{"schedule:high=8,lead=-1s", scheduleEnv(), "lead must be a duration >= 0"},
		{"schedule:high=8,lead=90", scheduleEnv(), "lead must be a duration >= 0"},
		{"schedule:high=8,stabilize=-1m", scheduleEnv(), "stabilize must be a duration >= 0"},
		{"schedule:high=8,stabilize=60", scheduleEnv(), "stabilize must be a duration >= 0"},
		{"schedule:high=8,window=1m", scheduleEnv(), `unknown parameter "window"`},
	}
	for _, tc := range tests {
		_, err := Parse(tc.spec, tc.env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) error = %v, want one containing %q", tc.spec, err, tc.want)
		}
	}
	if _, err := Parse("schedule:high=8,headroom=0.7,lead=90s,stabilize=1m", scheduleEnv()); err != nil {
		t.Errorf("a full spec: %v", err)
	}
}
