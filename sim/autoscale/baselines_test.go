package autoscale

import (
	"strings"
	"testing"
	"time"

	"github.com/kisproject/kis/policy"
)

func TestPredictiveFollowsTrendAndComesBackDown(t *testing.T) {
	env := Env{MinReplicas: 1, MaxReplicas: 50, SyncPeriod: 15 * time.Second, Capacity: 10, Lead: 45 * time.Second}
	p, err := newPredictive("predictive", "", env)
	if err != nil {
		t.Fatal(err)
	}
	desired := func(at time.Duration, rate float64) int32 {
		return p.Desired(&Input{Now: at, Obs: policy.Observation{RequestRate: rate}})
	}
	// Flat at 20 req/s: level 20, trend 0, 2 replicas of 10 req/s.
	if got := desired(0, 20); got != 2 {
		t.Errorf("flat: %d replicas, want 2", got)
	}
	// A jump to 40: level 0.5*40 + 0.5*20 = 30, trend 0.3*10 = 3 per step;
	// forecast 4 steps ((45s+15s)/15s) ahead: 30 + 3*4 = 42, so 5 replicas.
	if got := desired(15*time.Second, 40); got != 5 {
		t.Errorf("rising: %d replicas, want 5", got)
	}
	// Back at 20 for long: the 5 stays for the 3-minute window, then goes.
	var got int32
	for at := 30 * time.Second; at <= 15*time.Minute; at += 15 * time.Second {
		got = desired(at, 20)
		if at < 3*time.Minute && got != 5 {
			t.Fatalf("at %v: %d replicas, want the recent 5 kept", at, got)
		}
	}
	if got != 2 {
		t.Errorf("after 15 minutes at 20 req/s: %d replicas, want 2", got)
	}
}

func TestPredictiveHeadroomAndStabilization(t *testing.T) {
	env := Env{MinReplicas: 1, MaxReplicas: 50, SyncPeriod: 15 * time.Second, Capacity: 10, Lead: 45 * time.Second}
	p, err := Parse("predictive:headroom=0.5,stabilize=30s", env)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		at        time.Duration
		rate      float64
		want      int32
		rationale string
	}{
		{0, 20, 1, "ceil(0.5*20/10)"},
		{15 * time.Second, 40, 3, "forecast 42 as in the test above: ceil(0.5*42/10)"},
		{30 * time.Second, 20, 3, "level 26.5, trend 1.05, forecast 30.7 asks for 2; the 3 of 15 s is in the window"},
		{45 * time.Second, 20, 2, "forecast 23.4 asks for 2; the 3 of 15 s has left the 30 s window"},
	} {
		if got := p.Desired(&Input{Now: step.at, Obs: policy.Observation{RequestRate: step.rate}}); got != step.want {
			t.Errorf("at %v: %d replicas, want %d (%s)", step.at, got, step.want, step.rationale)
		}
	}
}

func TestPredictiveSpecErrors(t *testing.T) {
	env := Env{MinReplicas: 1, MaxReplicas: 20, SyncPeriod: 15 * time.Second, Capacity: 10, Lead: 45 * time.Second}
	for spec, want := range map[string]string{
		"predictive:0.8":                  "want predictive[:headroom=<0 < f <= 10>][,stabilize=<duration >= 0>]",
		"predictive:headroom=0":           "want predictive[:headroom=<0 < f",
		"predictive:headroom=11":          "want predictive[:headroom=<0 < f",
		"predictive:headroom=NaN":         "want predictive[:headroom=<0 < f",
		"predictive:stabilize=-1m":        "stabilize must be a duration >= 0",
		"predictive:stabilize=60":         "stabilize must be a duration >= 0",
		"predictive:headroom=1,window=1m": `unknown parameter "window" (known: headroom, stabilize)`,
	} {
		if _, err := Parse(spec, env); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) error = %v, want one containing %q", spec, err, want)
		}
	}
	if _, err := Parse("predictive", Env{MinReplicas: 1, MaxReplicas: 20}); err == nil || !strings.Contains(err.Error(), "needs a replica capacity") {
		t.Errorf("predictive without a capacity: %v", err)
	}
}

func TestOracleProvisionsForTheComingPeakTimesHeadroom(t *testing.T) {
	// 30 req/s until 100 s, then 95: a replica serves 10.
	rate := func(at time.Duration) float64 {
		if at < 100*time.Second {
			return 30
		}
		return 95
	}
	env := Env{MinReplicas: 1, MaxReplicas: 50, SyncPeriod: 15 * time.Second, Capacity: 10, Lead: 60 * time.Second, FutureRate: rate}
	for _, tc := range []struct {
		spec      string
		at        time.Duration
		want      int32
		rationale string
	}{
		{"oracle", 0, 3, "peak 30 within the next 75 s"},
		{"oracle", 30 * time.Second, 10, "the jump at 100 s is within 75 s: ceil(95/10)"},
		{"oracle:headroom=0.5", 30 * time.Second, 5, "ceil(0.5*95/10)"},
		{"oracle:headroom=1.3", 0, 4, "ceil(1.3*30/10)"},
	} {
		o, err := Parse(tc.spec, env)
		if err != nil {
			t.Fatal(err)
		}
		if got := o.Desired(&Input{Now: tc.at}); got != tc.want {
			t.Errorf("%s at %v: %d replicas, want %d (%s)", tc.spec, tc.at, got, tc.want, tc.rationale)
		}
	}
	for _, spec := range []string{"oracle:headroom=0", "oracle:headroom=-1", "oracle:headroom=NaN", "oracle:headroom=11", "oracle:1.2"} {
		if _, err := Parse(spec, env); err == nil || !strings.Contains(err.Error(), "want oracle[:headroom=") {
			t.Errorf("Parse(%q): %v, want an error naming the form", spec, err)
		}
	}
	env.FutureRate = nil
	if _, err := Parse("oracle", env); err == nil || !strings.Contains(err.Error(), "known arrival rate") {
		t.Errorf("oracle without a known rate: %v, want an error", err)
	}
}
