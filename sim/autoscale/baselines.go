package autoscale

import (
	"fmt"
	"time"
)

// newQueue is a KEDA Prometheus scaler: KEDA serves the workload's
// outstanding requests (waiting + running) as an external metric and
// creates an HPA with an AverageValue target on it, so the stock controller
// computes desired = ceil(outstanding / target) (with its tolerance and
// stabilisation). The default target is three quarters of a full batch.
func newQueue(spec, arg string, env Env) (Autoscaler, error) {
	target := 0.75 * float64(env.MaxBatch)
	if arg != "" {
		f, err := parseFloatArg(arg)
		if err != nil || f <= 0 {
			return nil, fmt.Errorf("scaler %q: want queue[:<outstanding requests per replica > 0>]", spec)
		}
		target = f
	}
	cfg := DefaultHPAConfig(env.MinReplicas, env.MaxReplicas, Metric{Kind: ExternalMetric, Name: MetricOutstanding, AverageValue: target})
	return NewHPA(spec, cfg)
}

// Predictive forecasts the request rate with Holt's linear trend method
// (double exponential smoothing) one lead time ahead and provisions for the
// forecast plus draining the current queue within the lead time, scaled by
// headroom as the oracle's demand is. It keeps the highest recommendation of
// the last few minutes, as the HPA does, so that a dip in a noisy forecast
// does not drop warm replicas.
type Predictive struct {
	name         string
	env          Env
	headroom     float64
	level, trend float64
	primed       bool
	// recent keeps the raw recommendations, as the HPA does: keeping the
	// stabilised value would make one high forecast hold forever.
	recent windowMax
}

const (
	holtAlpha = 0.5
	holtBeta  = 0.3
)

// The predictive scaler's defaults: the spec "predictive" is
// "predictive:headroom=1,stabilize=3m".
const (
	PredictiveHeadroom    = 1.0
	PredictiveStabilizing = 3 * time.Minute
)

func newPredictive(spec, args string, env Env) (*Predictive, error) {
	if !(env.Capacity > 0) || env.SyncPeriod <= 0 {
		return nil, fmt.Errorf("scaler %q needs a replica capacity > 0 and a sync period", spec)
	}
	usage := fmt.Errorf("scaler %q: want predictive[:headroom=<0 < f <= %g>][,stabilize=<duration >= 0>]", spec, float64(maxHeadroom))
	params, err := scalerParams(spec, args, usage, "headroom", "stabilize")
	if err != nil {
		return nil, err
	}
	p := &Predictive{name: spec, env: env, headroom: PredictiveHeadroom, recent: windowMax{window: PredictiveStabilizing}}
	if v, set := params["headroom"]; set {
		var ok bool
		if p.headroom, ok = parseHeadroom(v); !ok {
			return nil, usage
		}
	}
	if v, set := params["stabilize"]; set {
		if p.recent.window, err = parseDurationArg(spec, "stabilize", v); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Name implements Autoscaler.
func (p *Predictive) Name() string { return p.name }

// Desired implements Autoscaler.
func (p *Predictive) Desired(in *Input) int32 {
	rate := in.Obs.RequestRate
	if !p.primed {
		p.level, p.primed = rate, true
	} else {
		prev := p.level
		p.level = holtAlpha*rate + (1-holtAlpha)*(p.level+p.trend)
		p.trend = holtBeta*(p.level-prev) + (1-holtBeta)*p.trend
	}
	steps := float64(p.env.Lead+p.env.SyncPeriod) / float64(p.env.SyncPeriod)
	forecast := max(p.level+p.trend*steps, rate)
	drain := in.Obs.Waiting / max(p.env.Lead.Seconds(), 1)
	raw := clamp(ceilReplicas(p.headroom*(forecast+drain)/p.env.Capacity), p.env.MinReplicas, p.env.MaxReplicas)
	return p.recent.add(in.Now, raw)
}

// windowMax is a scale-down stabilisation window: the highest of the
// recommendations made in the last window, the one made now included.
type windowMax struct {
	window time.Duration
	kept   []timestamped
}

// add records the recommendation made at now and returns the highest
// made in the window ending now.
func (w *windowMax) add(now time.Duration, value int32) int32 {
	highest := value
	kept := w.kept[:0]
	for _, h := range w.kept {
		if h.at > now-w.window {
			kept = append(kept, h)
			highest = max(highest, h.value)
		}
	}
	w.kept = append(kept, timestamped{value: value, at: now})
	return highest
}

// Oracle knows the future arrival rate. Each sync it provisions for the
// highest rate between now and one lead time plus one sync period ahead:
// replicas asked for now are Ready by then, and replicas removed now are
// gone at once. It is the lower bound on GPU cost that no causal scaler can
// reach. Headroom scales the replicas it provisions: its capacity per
// replica is the reference GPU's, so on faster GPUs less than 1 suffices,
// and comparisons sweep it to meet a scaler at its SLO attainment.
type Oracle struct {
	name     string
	env      Env
	headroom float64
}

func newOracle(spec, arg string, env Env) (*Oracle, error) {
	if env.FutureRate == nil || !(env.Capacity > 0) {
		return nil, fmt.Errorf("scaler %q: the oracle needs a known arrival rate and a replica capacity > 0", spec)
	}
	usage := fmt.Errorf("scaler %q: want oracle[:headroom=<0 < f <= %g>]", spec, float64(maxHeadroom))
	params, err := scalerParams(spec, arg, usage, "headroom")
	if err != nil {
		return nil, err
	}
	headroom := 1.0
	if v, set := params["headroom"]; set {
		var ok bool
		if headroom, ok = parseHeadroom(v); !ok {
			return nil, usage
		}
	}
	return &Oracle{name: spec, env: env, headroom: headroom}, nil
}

// Name implements Autoscaler.
func (o *Oracle) Name() string { return o.name }

// Desired implements Autoscaler.
func (o *Oracle) Desired(in *Input) int32 {
	peak := 0.0
	for t := in.Now; t <= in.Now+o.env.Lead+o.env.SyncPeriod; t += time.Second {
		peak = max(peak, o.env.FutureRate(t))
	}
	return clamp(ceilReplicas(o.headroom*peak/o.env.Capacity), o.env.MinReplicas, o.env.MaxReplicas)
}
