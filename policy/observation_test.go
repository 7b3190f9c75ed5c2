package policy

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func validSignals() Signals {
	return Signals{
		At:                time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC),
		RequestRate:       12,
		RequestRatePrev:   9,
		Waiting:           4,
		Running:           30,
		P95LatencySeconds: 2.5,
		GPUUtilPercent:    80,
		ReadyReplicas:     3,
		DesiredReplicas:   4,
		PendingPods:       1,
	}
}

func TestFromSignals(t *testing.T) {
	got, err := FromSignals(validSignals())
	if err != nil {
		t.Fatal(err)
	}
	want := Observation{
		RequestRate: 12,
		RateTrend:   3, // (12-9) req/s over a one-minute window
		Waiting:     4, Running: 30, P95Latency: 2.5, GPUUtil: 80,
		Ready: 3, Desired: 4, Pending: 1,
		TimeSin: 1, // 06:00 is a quarter of the day: sin(pi/2)
		TimeCos: math.Cos(math.Pi / 2),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want,+got):\n%s", diff)
	}
	if v := got.Vector(nil); len(v) != len(FeatureNames) {
		t.Errorf("Vector has %d features, FeatureNames %d", len(v), len(FeatureNames))
	}
}

func TestFromSignalsNaNLatencyWithoutTrafficIsZero(t *testing.T) {
	s := validSignals()
	s.RequestRate, s.P95LatencySeconds = 0, math.NaN()
	got, err := FromSignals(s)
	if err != nil {
		t.Fatal(err)
	}
	if got.P95Latency != 0 {
		t.Errorf("P95Latency = %v, want 0", got.P95Latency)
	}
}

func TestFromSignalsRejectsGarbage(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Signals)
		wantErr string
	}{
		{"NaN latency with traffic", func(s *Signals) { s.P95LatencySeconds = math.NaN() }, "p95_latency_seconds"},
		{"infinite rate", func(s *Signals) { s.RequestRate = math.Inf(1) }, "request_rate"},
		{"negative queue", func(s *Signals) { s.Waiting = -1 }, "waiting"},
		{"utilisation above 100", func(s *Signals) { s.GPUUtilPercent = 101 }, "gpu_util_percent"},
		{"NaN replicas", func(s *Signals) { s.ReadyReplicas = math.NaN() }, "ready_replicas"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := validSignals()
			tc.mutate(&s)
			_, err := FromSignals(s)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one naming %q", err, tc.wantErr)
			}
		})
	}
}
