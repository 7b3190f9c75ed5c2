package policy

import (
	"fmt"
	"math"
	"time"
)

// RateWindow is the range of the rate() queries behind Signals.RequestRate.
const RateWindow = time.Minute

// Signals are the scalar results of one evaluation of a query set, as a
// Prometheus instant query returns them. KISim computes them from its own
// scraped series; the adapter from real PromQL results.
type Signals struct {
	// At is the evaluation time.
	At time.Time
	// RequestRate is completed requests per second over RateWindow.
	RequestRate float64
	// RequestRatePrev is the same rate one RateWindow earlier.
	RequestRatePrev float64
	// Waiting and Running are summed over the workload's pods.
	Waiting float64
	Running float64
	// P95LatencySeconds is histogram_quantile(0.95) over RateWindow. NaN is
	// what Prometheus returns when no request finished in the window.
	P95LatencySeconds float64
	// GPUUtilPercent is the mean utilisation of the workload's GPUs.
	GPUUtilPercent  float64
	ReadyReplicas   float64
	DesiredReplicas float64
	PendingPods     float64
}

// Observation is what an autoscaler sees of a workload at one decision.
// Field order is the feature order of Vector and FeatureNames.
type Observation struct {
	RequestRate float64 // completed requests/s
	RateTrend   float64 // change of RequestRate over the last RateWindow, requests/s per minute
	Waiting     float64 // queued requests, all pods
	Running     float64 // in-flight requests, all pods
	P95Latency  float64 // seconds
	GPUUtil     float64 // percent, mean over the workload's GPUs
	Ready       float64 // ready replicas
	Desired     float64 // desired (spec) replicas
	Pending     float64 // pods in phase Pending: not yet scheduled, or pulling the image
	TimeSin     float64 // time of day on the unit circle, so 23:59 is near 00:00
	TimeCos     float64
}

// FeatureNames lists the features of Vector, in order. It is part of a
// trained model's schema: a model trained on another list is rejected.
var FeatureNames = []string{
	"request_rate", "rate_trend", "waiting", "running", "p95_latency_seconds",
	"gpu_util_percent", "ready_replicas", "desired_replicas", "pending_pods",
	"time_of_day_sin", "time_of_day_cos",
	"rate_per_replica", "outstanding_per_replica",
}

// Vector appends the features to dst in FeatureNames order. The last two
// are derived: load per desired replica, which a small network would
// otherwise have to learn to divide for, and which carry over between
// clusters and workloads of different sizes.
func (o Observation) Vector(dst []float64) []float64 {
	per := math.Max(o.Desired, 1)
	return append(dst, o.RequestRate, o.RateTrend, o.Waiting, o.Running, o.P95Latency,
		o.GPUUtil, o.Ready, o.Desired, o.Pending, o.TimeSin, o.TimeCos,
		o.RequestRate/per, (o.Waiting+o.Running)/per)
}

// FromSignals builds an Observation. Every signal must be a finite,
// non-negative number; the one exception is a NaN latency while the request
// rate is zero, which is Prometheus' way of saying that nothing finished and
// is read as zero latency. Anything else is garbage, and the error names the
// signal, so that callers can fall back instead of acting on it.
func FromSignals(s Signals) (Observation, error) {
	p95 := s.P95LatencySeconds
	if math.IsNaN(p95) && s.RequestRate == 0 {
		p95 = 0
	}
	checks := []struct {
		name string
		v    float64
	}{
		{"request_rate", s.RequestRate},
		{"request_rate_prev", s.RequestRatePrev},
		{"waiting", s.Waiting},
		{"running", s.Running},
		{"p95_latency_seconds", p95},
		{"gpu_util_percent", s.GPUUtilPercent},
		{"ready_replicas", s.ReadyReplicas},
		{"desired_replicas", s.DesiredReplicas},
		{"pending_pods", s.PendingPods},
	}
	for _, c := range checks {
		if !finite(c.v) || c.v < 0 {
			return Observation{}, fmt.Errorf("signal %s: %v is not a finite non-negative number", c.name, c.v)
		}
	}
	if s.GPUUtilPercent > 100 {
		return Observation{}, fmt.Errorf("signal gpu_util_percent: %v is above 100", s.GPUUtilPercent)
	}
	h, m, sec := s.At.UTC().Clock()
	dayFraction := float64(h*3600+m*60+sec) / 86400
	return Observation{
		RequestRate: s.RequestRate,
		RateTrend:   (s.RequestRate - s.RequestRatePrev) * float64(time.Minute) / float64(RateWindow),
		Waiting:     s.Waiting,
		Running:     s.Running,
		P95Latency:  p95,
		GPUUtil:     s.GPUUtilPercent,
		Ready:       s.ReadyReplicas,
		Desired:     s.DesiredReplicas,
		Pending:     s.PendingPods,
		TimeSin:     math.Sin(2 * math.Pi * dayFraction),
		TimeCos:     math.Cos(2 * math.Pi * dayFraction),
	}, nil
}
