package adapter

import (
	"k8s.io/component-base/metrics"
)

const metricsSubsystem = "kis_adapter"

// Metrics are the adapter's own series, served on its /metrics.
type Metrics struct {
	DesiredReplicas  *metrics.GaugeVec
	DecisionSource   *metrics.GaugeVec
	Fallbacks        *metrics.CounterVec
	ReconcileSeconds *metrics.HistogramVec
	P95Latency       *metrics.GaugeVec
	SLO              *metrics.GaugeVec
	DirectScales     *metrics.CounterVec
}

// NewMetrics creates the series; register them with Register.
func NewMetrics() *Metrics {
	return &Metrics{
		DesiredReplicas: metrics.NewGaugeVec(&metrics.GaugeOpts{
			Subsystem: metricsSubsystem, Name: "desired_replicas",
			Help:           "Replica count the adapter serves for the target.",
			StabilityLevel: metrics.ALPHA,
		}, []string{"target"}),
		DecisionSource: metrics.NewGaugeVec(&metrics.GaugeOpts{
			Subsystem: metricsSubsystem, Name: "decision_source",
			Help:           "1 for the source of the served decision: policy (fresh signals), guard (fresh signals, the SLO guard raised the policy's count), hold (last good decision) or fallback (the conservative rule).",
			StabilityLevel: metrics.ALPHA,
		}, []string{"target", "source"}),
		Fallbacks: metrics.NewCounterVec(&metrics.CounterOpts{
			Subsystem: metricsSubsystem, Name: "fallbacks_total",
			Help:           "Reconciles that could not use fresh signals, by reason.",
			StabilityLevel: metrics.ALPHA,
		}, []string{"target", "reason"}),
		ReconcileSeconds: metrics.NewHistogramVec(&metrics.HistogramOpts{
			Subsystem: metricsSubsystem, Name: "reconcile_duration_seconds",
			Help:           "Time to query Prometheus, read the scale and decide.",
			Buckets:        metrics.ExponentialBuckets(0.001, 2, 14),
			StabilityLevel: metrics.ALPHA,
		}, []string{"target"}),
		P95Latency: metrics.NewGaugeVec(&metrics.GaugeOpts{
			Subsystem: metricsSubsystem, Name: "p95_latency_seconds",
			Help:           "The target's p95 request latency as last observed.",
			StabilityLevel: metrics.ALPHA,
		}, []string{"target"}),
		SLO: metrics.NewGaugeVec(&metrics.GaugeOpts{
			Subsystem: metricsSubsystem, Name: "slo_seconds",
			Help:           "The target's p95 latency objective.",
			StabilityLevel: metrics.ALPHA,
		}, []string{"target"}),
		DirectScales: metrics.NewCounterVec(&metrics.CounterOpts{
			Subsystem: metricsSubsystem, Name: "direct_scales_total",
			Help:           "Scale subresource updates in direct mode, by result.",
			StabilityLevel: metrics.ALPHA,
		}, []string{"target", "result"}),
	}
}

// Register adds every series to r (legacyregistry.Register in the binary).
func (m *Metrics) Register(register func(metrics.Registerable) error) error {
	for _, c := range []metrics.Registerable{m.DesiredReplicas, m.DecisionSource, m.Fallbacks, m.ReconcileSeconds, m.P95Latency, m.SLO, m.DirectScales} {
		if err := register(c); err != nil {
			return err
		}
	}
	return nil
}
