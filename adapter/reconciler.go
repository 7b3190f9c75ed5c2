package adapter

import (
	"context"
	"fmt"
	"time"

	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/kisproject/kis/policy"
)

// Source says where a served decision came from.
type Source string

const (
	// SourcePolicy: fresh, valid signals went through the decider.
	SourcePolicy Source = "policy"
	// SourceGuard: as SourcePolicy, but the SLO guard raised the decider's
	// count (the p95 is over the SLO, requests wait, and the decider asked
	// for no more replicas than are Ready).
	SourceGuard Source = "guard"
	// SourceHold: the signals are unusable; the last policy decision is
	// younger than HoldFor and is served again.
	SourceHold Source = "hold"
	// SourceFallback: the signals have been unusable for longer than
	// HoldFor; the conservative rule applies (see Reconciler.Reconcile).
	SourceFallback Source = "fallback"
)

var sources = []Source{SourcePolicy, SourceGuard, SourceHold, SourceFallback}

// Decision is a replica count the adapter serves.
type Decision struct {
	Replicas int32
	// At is when it was decided.
	At     time.Time
	Source Source
	// Reason is why the signals were unusable (empty for SourcePolicy and
	// SourceGuard).
	Reason Reason
}

// Reconciler decides one target's replica count, once per interval.
type Reconciler struct {
	target  *Target
	queries Queries
	prom    Querier
	scales  ScaleClient
	decider Decider
	guard   policy.SLOGuard
	clock   clock.WithTicker
	store   *Store
	metrics *Metrics

	maxStaleness, holdFor, timeout time.Duration

	lastGood   *Decision
	lastServed *Decision
	// state is the source and reason of the previous reconcile, so that a
	// change is logged once instead of every interval.
	state string
}

// Reconcile evaluates the signals, decides and stores the decision. The
// rule when the signals cannot be used (Prometheus down, garbage, empty
// or stale):
//
//   - within HoldFor of the last policy decision, serve that decision;
//   - after that, serve max(current spec replicas, last policy decision),
//     clamped to [minReplicas, maxReplicas]: the workload keeps what it
//     runs and never scales down, let alone to minReplicas, on missing data;
//   - if the scale subresource cannot be read either, serve the previous
//     decision again (nothing is served before the first decision, and the
//     HPA keeps the replica count while the metric is unavailable).
func (r *Reconciler) Reconcile(ctx context.Context) (Decision, bool) {
	start := r.clock.Now()
	logger := klog.FromContext(ctx).WithValues("target", r.key())
	defer func() {
		r.metrics.ReconcileSeconds.WithLabelValues(r.target.ID).Observe(r.clock.Since(start).Seconds())
	}()

	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	current, scaleErr := r.scales.GetReplicas(ctx, r.target.Namespace, r.target.ScaleTargetRef)
	var (
		obs policy.Observation
		sig policy.Signals
	)
	err := scaleErr
	if err != nil {
		err = &SignalError{Reason: ReasonScaleUnavailable, Err: fmt.Errorf("reading scale of %s %s: %w", r.target.ScaleTargetRef.Kind, r.target.ScaleTargetRef.Name, err)}
	} else {
		obs, sig, err = r.observe(ctx, start, current)
	}

	var d Decision
	switch {
	case err == nil:
		d = Decision{Replicas: r.decider.Desired(obs, current, r.target.MinReplicas, r.target.MaxReplicas), At: start, Source: SourcePolicy}
		if n, raised := r.guard.Apply(obs, d.Replicas, r.target.MaxReplicas); raised {
			d.Replicas, d.Source = n, SourceGuard
		}
		r.lastGood = &d
		// As observed: NaN while nothing finishes, as histogram_quantile
		// says it, where the policy reads zero.
		r.metrics.P95Latency.WithLabelValues(r.target.ID).Set(sig.P95LatencySeconds)
	case r.lastGood != nil && start.Sub(r.lastGood.At) <= r.holdFor:
		d = Decision{Replicas: r.lastGood.Replicas, At: start, Source: SourceHold, Reason: ReasonOf(err)}
	case scaleErr == nil:
		n := current
		if r.lastGood != nil {
			n = max(n, r.lastGood.Replicas)
		}
		d = Decision{Replicas: min(max(n, r.target.MinReplicas), r.target.MaxReplicas), At: start, Source: SourceFallback, Reason: ReasonOf(err)}
	case r.lastServed != nil:
		d = Decision{Replicas: r.lastServed.Replicas, At: start, Source: SourceFallback, Reason: ReasonOf(err)}
	default:
		r.transition(logger, "none", err, "No decision: neither signals nor the scale subresource are readable")
		r.metrics.Fallbacks.WithLabelValues(r.target.ID, string(ReasonOf(err))).Inc()
		return Decision{}, false
	}
	if err != nil {
		r.metrics.Fallbacks.WithLabelValues(r.target.ID, string(d.Reason)).Inc()
	}
	r.transition(logger, string(d.Source)+"/"+string(d.Reason), err, "Decision source changed", "source", d.Source, "replicas", d.Replicas)

	r.lastServed = &d
	r.store.set(r.key(), d)
	r.metrics.DesiredReplicas.WithLabelValues(r.target.ID).Set(float64(d.Replicas))
	for _, s := range sources {
		v := 0.0
		if s == d.Source {
			v = 1
		}
		r.metrics.DecisionSource.WithLabelValues(r.target.ID, string(s)).Set(v)
	}
	if r.target.Direct && scaleErr == nil && d.Replicas != current {
		r.scaleDirectly(ctx, logger, current, d.Replicas)
	}
	return d, true
}

func (r *Reconciler) observe(ctx context.Context, now time.Time, current int32) (policy.Observation, policy.Signals, error) {
	sig, err := r.queries.Evaluate(ctx, r.prom, now, r.maxStaleness)
	if err != nil {
		return policy.Observation{}, policy.Signals{}, err
	}
	sig.DesiredReplicas = float64(current)
	obs, err := policy.FromSignals(sig)
	if err != nil {
		return policy.Observation{}, policy.Signals{}, &SignalError{Reason: ReasonGarbage, Err: err}
	}
	return obs, sig, nil
}

// transition logs when the reconcile outcome changes kind.
func (r *Reconciler) transition(logger klog.Logger, state string, err error, msg string, kv ...any) {
	if state == r.state {
		return
	}
	r.state = state
	if err != nil {
		logger.Error(err, msg, kv...)
		return
	}
	logger.Info(msg, kv...)
}

func (r *Reconciler) scaleDirectly(ctx context.Context, logger klog.Logger, from, to int32) {
	if err := r.scales.SetReplicas(ctx, r.target.Namespace, r.target.ScaleTargetRef, to); err != nil {
		r.metrics.DirectScales.WithLabelValues(r.target.ID, "error").Inc()
		logger.Error(err, "Direct scale failed", "from", from, "to", to)
		return
	}
	r.metrics.DirectScales.WithLabelValues(r.target.ID, "ok").Inc()
	logger.V(2).Info("Scaled directly", "from", from, "to", to)
}

func (r *Reconciler) key() string { return r.target.Namespace + "/" + r.target.ID }

// Run reconciles now and then every interval until ctx is done.
func (r *Reconciler) Run(ctx context.Context, interval time.Duration) {
	r.metrics.SLO.WithLabelValues(r.target.ID).Set(r.target.SLOSeconds)
	t := r.clock.NewTicker(interval)
	defer t.Stop()
	for {
		r.Reconcile(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}
