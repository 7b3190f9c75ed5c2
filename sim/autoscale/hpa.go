package autoscale

import (
	"fmt"
	"math"
	"time"
)

// This file models the HorizontalPodAutoscaler controller of Kubernetes
// v1.37 (k8s.io/kubernetes/pkg/controller/podautoscaler). Each rule cites
// the function it follows; the controller's behaviour, including its
// integer milli-value arithmetic, is reproduced rather than approximated,
// because the point of the baseline is to be the HPA users actually run.

// MetricKind is the HPA metric source type.
type MetricKind int

const (
	// PodsMetric is a per-pod custom metric with an AverageValue target.
	PodsMetric MetricKind = iota
	// ExternalMetric is an external metric with an AverageValue target.
	ExternalMetric
)

// Metric names the simulator can serve to an HPA.
const (
	// MetricGPU is DCGM_FI_DEV_GPU_UTIL per pod, in percent.
	MetricGPU = "gpu"
	// MetricQueue is the serving engine's waiting-requests gauge per pod.
	MetricQueue = "queue"
	// MetricOutstanding is the workload's waiting plus running requests, an
	// external metric (what a KEDA Prometheus scaler serves).
	MetricOutstanding = "outstanding"
)

// Metric is one entry of spec.metrics.
type Metric struct {
	Kind         MetricKind
	Name         string
	AverageValue float64
}

// SelectPolicy is spec.behavior.scale{Up,Down}.selectPolicy.
type SelectPolicy string

const (
	MaxChange SelectPolicy = "Max"
	MinChange SelectPolicy = "Min"
	Disabled  SelectPolicy = "Disabled"
)

// PolicyType is an HPAScalingPolicy type.
type PolicyType string

const (
	PodsPolicy    PolicyType = "Pods"
	PercentPolicy PolicyType = "Percent"
)

// ScalingPolicy is one HPAScalingPolicy.
type ScalingPolicy struct {
	Type   PolicyType
	Value  int32
	Period time.Duration
}

// ScalingRules is HPAScalingRules; nil pointers take the API defaults.
type ScalingRules struct {
	StabilizationWindow *time.Duration
	SelectPolicy        SelectPolicy
	Policies            []ScalingPolicy
	Tolerance           *float64
}

// Behavior is spec.behavior.
type Behavior struct {
	ScaleUp, ScaleDown *ScalingRules
}

// HPAConfig is an HPA object plus the controller flags that affect it.
type HPAConfig struct {
	MinReplicas, MaxReplicas int32
	Metrics                  []Metric
	// Behavior nil takes the controller's legacy normalisation path, as an
	// HPA created without spec.behavior does.
	Behavior *Behavior
	// Tolerance is --horizontal-pod-autoscaler-tolerance (default 0.1).
	Tolerance float64
	// DownscaleStabilization is
	// --horizontal-pod-autoscaler-downscale-stabilization (default 5m).
	DownscaleStabilization time.Duration
}

// DefaultHPAConfig returns an HPA on the metrics with controller defaults.
func DefaultHPAConfig(minReplicas, maxReplicas int32, metrics ...Metric) HPAConfig {
	return HPAConfig{
		MinReplicas: minReplicas, MaxReplicas: maxReplicas, Metrics: metrics,
		Tolerance: 0.1, DownscaleStabilization: 5 * time.Minute,
	}
}

// scaleUpLimitFactor and scaleUpLimitMinimum bound the legacy path's
// scale-up (horizontal.go, calculateScaleUpLimit).
const (
	scaleUpLimitFactor  = 2.0
	scaleUpLimitMinimum = 4.0
)

// defaultScaleUp and defaultScaleDown are the API server's defaults for
// behavior (pkg/apis/autoscaling/v2/defaults.go, GenerateHPAScale*Rules).
func defaultScaleUp() ScalingRules {
	zero := time.Duration(0)
	return ScalingRules{
		StabilizationWindow: &zero,
		SelectPolicy:        MaxChange,
		Policies: []ScalingPolicy{
			{Type: PodsPolicy, Value: 4, Period: 15 * time.Second},
			{Type: PercentPolicy, Value: 100, Period: 15 * time.Second},
		},
	}
}

func defaultScaleDown() ScalingRules {
	return ScalingRules{
		SelectPolicy: MaxChange,
		Policies:     []ScalingPolicy{{Type: PercentPolicy, Value: 100, Period: 15 * time.Second}},
	}
}

// withDefaults is copyHPAScalingRules: set fields win, the rest default.
func withDefaults(from *ScalingRules, to ScalingRules) *ScalingRules {
	if from != nil {
		if from.SelectPolicy != "" {
			to.SelectPolicy = from.SelectPolicy
		}
		if from.StabilizationWindow != nil {
			to.StabilizationWindow = from.StabilizationWindow
		}
		if from.Policies != nil {
			to.Policies = from.Policies
		}
		if from.Tolerance != nil {
			to.Tolerance = from.Tolerance
		}
	}
	return &to
}

type timestamped struct {
	value int32
	at    time.Duration
	// outdated marks scale events past the longest policy period, free for
	// reuse (markScaleEventsOutdated).
	outdated bool
}

// HPA is the controller's state for one HorizontalPodAutoscaler.
type HPA struct {
	name            string
	cfg             HPAConfig
	recommendations []timestamped
	scaleUpEvents   []timestamped
	scaleDownEvents []timestamped
}

// maxTarget is the largest target whose milli-value an int64 holds.
const maxTarget float64 = math.MaxInt64 / 1000

// NewHPA validates cfg and applies the API server's defaulting.
func NewHPA(name string, cfg HPAConfig) (*HPA, error) {
	if cfg.MinReplicas < 1 || cfg.MaxReplicas < cfg.MinReplicas {
		return nil, fmt.Errorf("hpa %s: want 1 <= minReplicas (%d) <= maxReplicas (%d)", name, cfg.MinReplicas, cfg.MaxReplicas)
	}
	if len(cfg.Metrics) == 0 {
		return nil, fmt.Errorf("hpa %s: at least one metric is required", name)
	}
	for _, m := range cfg.Metrics {
		// The controller compares milli-values in an int64: a smaller
		// target is 0m, and a larger one overflows.
		if !(m.AverageValue >= 0.001 && m.AverageValue < maxTarget) {
			return nil, fmt.Errorf("hpa %s: metric %s: target averageValue must be in [0.001, %.1e], got %v", name, m.Name, maxTarget, m.AverageValue)
		}
	}
	if b := cfg.Behavior; b != nil {
		// SetDefaults_HorizontalPodAutoscalerBehavior, then
		// maybeInitScaleDownStabilizationWindow (horizontal.go).
		b = &Behavior{ScaleUp: withDefaults(b.ScaleUp, defaultScaleUp()), ScaleDown: withDefaults(b.ScaleDown, defaultScaleDown())}
		if b.ScaleDown.StabilizationWindow == nil {
			w := cfg.DownscaleStabilization
			b.ScaleDown.StabilizationWindow = &w
		}
		cfg.Behavior = b
		if err := b.ScaleUp.validate(); err != nil {
			return nil, fmt.Errorf("hpa %s: behavior.scaleUp: %w", name, err)
		}
		if err := b.ScaleDown.validate(); err != nil {
			return nil, fmt.Errorf("hpa %s: behavior.scaleDown: %w", name, err)
		}
	}
	return &HPA{name: name, cfg: cfg}, nil
}

// validate is the API server's validation of HPAScalingRules
// (validateScalingRules), so the model never runs rules a cluster refuses.
func (r *ScalingRules) validate() error {
	switch r.SelectPolicy {
	case MaxChange, MinChange, Disabled:
	default:
		return fmt.Errorf("selectPolicy %q: want Max, Min or Disabled", r.SelectPolicy)
	}
	if w := *r.StabilizationWindow; w < 0 || w > time.Hour {
		return fmt.Errorf("stabilizationWindowSeconds %v: want 0 to 3600 seconds", w.Seconds())
	}
	if len(r.Policies) == 0 {
		return fmt.Errorf("at least one policy is required")
	}
	for i, p := range r.Policies {
		if p.Type != PodsPolicy && p.Type != PercentPolicy {
			return fmt.Errorf("policies[%d]: type %q: want Pods or Percent", i, p.Type)
		}
		if p.Value <= 0 {
			return fmt.Errorf("policies[%d]: value %d: want > 0", i, p.Value)
		}
		if p.Period <= 0 || p.Period > 30*time.Minute {
			return fmt.Errorf("policies[%d]: periodSeconds %v: want 1 to 1800", i, p.Period.Seconds())
		}
	}
	if r.Tolerance != nil && *r.Tolerance < 0 {
		return fmt.Errorf("tolerance %v: want >= 0", *r.Tolerance)
	}
	return nil
}

// Name implements Autoscaler.
func (h *HPA) Name() string { return h.name }

// ScaleDownWindow is how long a lower recommendation waits before the HPA
// acts on it: spec.behavior's, or the controller flag's without one.
func (h *HPA) ScaleDownWindow() time.Duration {
	if b := h.cfg.Behavior; b != nil {
		return *b.ScaleDown.StabilizationWindow
	}
	return h.cfg.DownscaleStabilization
}

// tolerances is tolerancesForHpa: per-HPA tolerances (HPAConfigurableTolerance,
// beta and on by default since 1.35) override the controller flag.
func (h *HPA) tolerances() (down, up float64) {
	down, up = h.cfg.Tolerance, h.cfg.Tolerance
	if b := h.cfg.Behavior; b != nil {
		if b.ScaleDown.Tolerance != nil {
			down = *b.ScaleDown.Tolerance
		}
		if b.ScaleUp.Tolerance != nil {
			up = *b.ScaleUp.Tolerance
		}
	}
	return down, up
}

func (h *HPA) within(ratio float64) bool {
	down, up := h.tolerances()
	return 1.0-down <= ratio && ratio <= 1.0+up
}

// Desired is reconcileAutoscaler: bounds first, then the metrics'
// proposal, normalised by the legacy rules or by behavior.
func (h *HPA) Desired(in *Input) int32 {
	current := in.SpecReplicas
	// recordInitialRecommendation
	if h.recommendations == nil {
		h.recommendations = []timestamped{{value: current, at: in.Now}}
	}
	var desired int32
	switch {
	case current == 0:
		// Scaling is disabled while the target is at zero.
		return 0
	case current > h.cfg.MaxReplicas:
		desired = h.cfg.MaxReplicas
	case current < h.cfg.MinReplicas:
		desired = h.cfg.MinReplicas
	default:
		proposal, ok := h.computeReplicasForMetrics(in)
		if !ok {
			// FailedComputeMetricsReplicas: no rescale this sync.
			return current
		}
		desired = max(proposal, 0)
		if h.cfg.Behavior == nil {
			desired = h.normalizeLegacy(in.Now, current, desired)
		} else {
			desired = h.normalizeWithBehaviors(in.Now, current, desired)
		}
	}
	if desired != current {
		h.storeScaleEvent(in.Now, current, desired)
	}
	return desired
}

// computeReplicasForMetrics takes the largest proposal. An invalid metric
// blocks scaling when all are invalid or when the others would scale down.
func (h *HPA) computeReplicasForMetrics(in *Input) (int32, bool) {
	var replicas int32
	invalid := 0
	for _, m := range h.cfg.Metrics {
		var proposal int32
		var ok bool
		if m.Kind == ExternalMetric {
			proposal, ok = h.externalPerPodReplicas(in, m)
		} else {
			proposal, ok = h.plainMetricReplicas(in, m)
		}
		if !ok {
			invalid++
			continue
		}
		if replicas == 0 || proposal > replicas {
			replicas = proposal
		}
	}
	if invalid >= len(h.cfg.Metrics) || (invalid > 0 && replicas < in.SpecReplicas) {
		return 0, false
	}
	return replicas, true
}

// milli is how a metric value crosses the custom metrics API:
// prometheus-adapter builds resource.NewMilliQuantity(int64(value*1000)),
// and the controller reads MilliValue().
func milli(v float64) int64 { return int64(v * 1000) }

func podMetric(p *Pod, name string) (float64, bool) {
	switch name {
	case MetricGPU:
		return p.GPUUtil, p.HasGPUUtil
	case MetricQueue:
		return p.Waiting, p.HasWaiting
	}
	return 0, false
}

// plainMetricReplicas is ReplicaCalculator.calcPlainMetricReplicas with
// groupPods for a non-CPU metric: terminating pods are ignored, pending
// pods are unready, running pods without a sample are missing, and running
// pods with a sample count as ready whatever their readiness.
func (h *HPA) plainMetricReplicas(in *Input, m Metric) (int32, bool) {
	current := in.SpecReplicas
	target := milli(m.AverageValue)
	var sum int64
	var ready, unready, missing int
	for i := range in.Pods {
		p := &in.Pods[i]
		switch {
		case p.Terminating:
			continue
		case p.Pending:
			unready++
			continue
		}
		v, ok := podMetric(p, m.Name)
		if !ok {
			missing++
			continue
		}
		ready++
		sum += milli(v)
	}
	if ready+unready+missing == 0 || ready == 0 {
		// "no pods returned by selector" / "did not receive metrics".
		return 0, false
	}
	// GetMetricUsageRatio: integer average of the milli-values.
	usage := sum / int64(ready)
	ratio := float64(usage) / float64(target)

	scaleUpWithUnready := unready > 0 && ratio > 1.0
	if !scaleUpWithUnready && missing == 0 {
		if h.within(ratio) {
			return current, true
		}
		return ceilToInt32(ratio * float64(ready)), true
	}

	// Fill in missing pods as at target on a scale-down and as zero on a
	// scale-up; unready pods as zero on a scale-up.
	n := int64(ready)
	newSum := sum
	if missing > 0 {
		if ratio < 1.0 {
			newSum += int64(missing) * target
			n += int64(missing)
		} else if ratio > 1.0 {
			n += int64(missing)
		}
	}
	if scaleUpWithUnready {
		n += int64(unready)
	}
	newRatio := float64(newSum/n) / float64(target)
	if h.within(newRatio) || (ratio < 1.0 && newRatio > 1.0) || (ratio > 1.0 && newRatio < 1.0) {
		return current, true
	}
	newReplicas := ceilToInt32(newRatio * float64(n))
	if (newRatio < 1.0 && newReplicas > current) || (newRatio > 1.0 && newReplicas < current) {
		return current, true
	}
	return newReplicas, true
}

func externalMetric(in *Input, name string) (float64, bool) {
	if name == MetricOutstanding {
		return in.Obs.Waiting + in.Obs.Running, true
	}
	v, ok := in.External[name]
	return v, ok
}

// externalPerPodReplicas is GetExternalPerPodMetricReplicas: the total over
// status.replicas pods against the per-pod target.
func (h *HPA) externalPerPodReplicas(in *Input, m Metric) (int32, bool) {
	v, ok := externalMetric(in, m.Name)
	if !ok {
		return 0, false
	}
	usage := milli(v)
	target := milli(m.AverageValue)
	statusReplicas := int32(0)
	for i := range in.Pods {
		if !in.Pods[i].Terminating {
			statusReplicas++
		}
	}
	replicas := statusReplicas
	ratio := float64(usage) / (float64(target) * float64(statusReplicas))
	if !h.within(ratio) {
		replicas = ceilToInt32(float64(usage) / float64(target))
	}
	return replicas, true
}

// normalizeLegacy is normalizeDesiredReplicas: the highest recommendation
// of the downscale stabilisation window, then min/max and the scale-up
// limit of max(2*current, 4) (convertDesiredReplicasWithRules).
func (h *HPA) normalizeLegacy(now time.Duration, current, proposal int32) int32 {
	cutoff := now - h.cfg.DownscaleStabilization
	stabilized := proposal
	old := -1
	for i, r := range h.recommendations {
		if r.at < cutoff {
			old = i
		} else if r.value > stabilized {
			stabilized = r.value
		}
	}
	h.record(old, proposal, now)

	upLimit := int32(math.Max(scaleUpLimitFactor*float64(current), scaleUpLimitMinimum))
	maxAllowed := min(h.cfg.MaxReplicas, upLimit)
	switch {
	case stabilized < h.cfg.MinReplicas:
		return h.cfg.MinReplicas
	case stabilized > maxAllowed:
		return maxAllowed
	}
	return stabilized
}

func (h *HPA) record(old int, proposal int32, now time.Duration) {
	if old >= 0 {
		h.recommendations[old] = timestamped{value: proposal, at: now}
	} else {
		h.recommendations = append(h.recommendations, timestamped{value: proposal, at: now})
	}
}

// normalizeWithBehaviors is normalizeDesiredReplicasWithBehaviors:
// stabilizeRecommendationWithBehaviors, then the rate limits of
// convertDesiredReplicasWithBehaviorRate.
func (h *HPA) normalizeWithBehaviors(now time.Duration, current, proposal int32) int32 {
	b := h.cfg.Behavior
	upCutoff := now - *b.ScaleUp.StabilizationWindow
	downCutoff := now - *b.ScaleDown.StabilizationWindow
	upRec, downRec := proposal, proposal
	old := -1
	for i, r := range h.recommendations {
		if r.at > upCutoff {
			upRec = min(r.value, upRec)
		}
		if r.at > downCutoff {
			downRec = max(r.value, downRec)
		}
		if r.at < upCutoff && r.at < downCutoff {
			old = i
		}
	}
	stabilized := current
	if stabilized < upRec {
		stabilized = upRec
	}
	if stabilized > downRec {
		stabilized = downRec
	}
	h.record(old, proposal, now)

	switch {
	case stabilized > current:
		limit := max(h.scaleUpLimit(now, current), current)
		if maxAllowed := min(h.cfg.MaxReplicas, limit); stabilized > maxAllowed {
			return maxAllowed
		}
	case stabilized < current:
		limit := min(h.scaleDownLimit(now, current), current)
		if minAllowed := max(h.cfg.MinReplicas, limit); stabilized < minAllowed {
			return minAllowed
		}
	}
	return stabilized
}

// changeInPeriod is getReplicasChangePerPeriod.
func changeInPeriod(now, period time.Duration, events []timestamped) int32 {
	var n int32
	for _, e := range events {
		if e.at > now-period {
			n += e.value
		}
	}
	return n
}

// scaleUpLimit is calculateScaleUpLimitWithScalingRules.
func (h *HPA) scaleUpLimit(now time.Duration, current int32) int32 {
	rules := h.cfg.Behavior.ScaleUp
	if rules.SelectPolicy == Disabled {
		return current
	}
	result := int32(math.MinInt32)
	pick := func(a, b int32) int32 { return max(a, b) }
	if rules.SelectPolicy == MinChange {
		result, pick = math.MaxInt32, func(a, b int32) int32 { return min(a, b) }
	}
	for _, p := range rules.Policies {
		start := current - changeInPeriod(now, p.Period, h.scaleUpEvents) + changeInPeriod(now, p.Period, h.scaleDownEvents)
		var proposed int32
		if p.Type == PodsPolicy {
			proposed = start + p.Value
		} else {
			proposed = int32(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		}
		result = pick(result, proposed)
	}
	return result
}

// scaleDownLimit is calculateScaleDownLimitWithBehaviors.
func (h *HPA) scaleDownLimit(now time.Duration, current int32) int32 {
	rules := h.cfg.Behavior.ScaleDown
	if rules.SelectPolicy == Disabled {
		return current
	}
	result := int32(math.MaxInt32)
	pick := func(a, b int32) int32 { return min(a, b) }
	if rules.SelectPolicy == MinChange {
		result, pick = math.MinInt32, func(a, b int32) int32 { return max(a, b) }
	}
	for _, p := range rules.Policies {
		start := current - changeInPeriod(now, p.Period, h.scaleUpEvents) + changeInPeriod(now, p.Period, h.scaleDownEvents)
		var proposed int32
		if p.Type == PodsPolicy {
			proposed = start - p.Value
		} else {
			proposed = int32(float64(start) * (1 - float64(p.Value)/100))
		}
		result = pick(result, proposed)
	}
	return result
}

// storeScaleEvent keeps scale events for the rate limits; only HPAs with a
// behavior use them.
func (h *HPA) storeScaleEvent(now time.Duration, prev, next int32) {
	b := h.cfg.Behavior
	if b == nil {
		return
	}
	events, rules, change := &h.scaleDownEvents, b.ScaleDown, prev-next
	if next > prev {
		events, rules, change = &h.scaleUpEvents, b.ScaleUp, next-prev
	}
	var longest time.Duration
	for _, p := range rules.Policies {
		longest = max(longest, p.Period)
	}
	reuse := -1
	for i := range *events {
		if (*events)[i].at < now-longest {
			(*events)[i].outdated = true
		}
		if (*events)[i].outdated {
			reuse = i
		}
	}
	e := timestamped{value: change, at: now}
	if reuse >= 0 {
		(*events)[reuse] = e
	} else {
		*events = append(*events, e)
	}
}

// parseHPA reads hpa[:gpu=<percent>][,queue=<n>][,tolerance=<f>][,down=<d>].
// gpu and queue together make a two-metric HPA, which scales to the larger
// of their proposals; neither is gpu=60. Setting tolerance or down gives
// the HPA a spec.behavior; without them it has none, like most HPAs in the
// wild.
func parseHPA(spec, args string, env Env) (Autoscaler, error) {
	var behavior *Behavior
	ensure := func() *Behavior {
		if behavior == nil {
			behavior = &Behavior{ScaleUp: &ScalingRules{}, ScaleDown: &ScalingRules{}}
		}
		return behavior
	}
	usage := fmt.Errorf("scaler %q: want hpa[:gpu=<percent>][,queue=<waiting per pod>][,tolerance=<f >= 0>][,down=<duration >= 0>]", spec)
	params, err := scalerParams(spec, args, usage, MetricGPU, MetricQueue, "tolerance", "down")
	if err != nil {
		return nil, err
	}
	var metrics []Metric
	for _, name := range []string{MetricGPU, MetricQueue} {
		if v, set := params[name]; set {
			f, err := parseFloatArg(v)
			if err != nil {
				return nil, fmt.Errorf("scaler %q: %s: %w", spec, name, err)
			}
			// DCGM reports utilisation in [0, 100]: a target above it is
			// never exceeded, and the HPA would only ever scale down.
			if name == MetricGPU && f > 100 {
				return nil, fmt.Errorf("scaler %q: gpu %v: a utilisation target is a percent, at most 100 (a higher one is never reached, so the HPA never scales up)", spec, f)
			}
			metrics = append(metrics, Metric{Kind: PodsMetric, Name: name, AverageValue: f})
		}
	}
	if len(metrics) == 0 {
		metrics = []Metric{{Kind: PodsMetric, Name: MetricGPU, AverageValue: 60}}
	}
	if v, set := params["tolerance"]; set {
		f, err := parseFloatArg(v)
		if err != nil || f < 0 {
			return nil, fmt.Errorf("scaler %q: tolerance must be a number >= 0", spec)
		}
		b := ensure()
		b.ScaleUp.Tolerance, b.ScaleDown.Tolerance = &f, &f
	}
	if v, set := params["down"]; set {
		d, err := parseDurationArg(spec, "down", v)
		if err != nil {
			return nil, err
		}
		ensure().ScaleDown.StabilizationWindow = &d
	}
	cfg := DefaultHPAConfig(env.MinReplicas, env.MaxReplicas, metrics...)
	cfg.Behavior = behavior
	return NewHPA(spec, cfg)
}
