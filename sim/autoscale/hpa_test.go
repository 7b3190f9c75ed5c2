package autoscale

import (
	"testing"
	"time"

	"github.com/kisproject/kis/policy"
)

// ready returns running pods reporting the given metric values on both the
// GPU and the queue metric.
func ready(values ...float64) []Pod {
	pods := make([]Pod, len(values))
	for i, v := range values {
		pods[i] = Pod{GPUUtil: v, HasGPUUtil: true, Waiting: v, HasWaiting: true}
	}
	return pods
}

// missing returns running pods that have not been scraped yet.
func missing(n int) []Pod { return make([]Pod, n) }

func pendingPods(n int) []Pod {
	pods := missing(n)
	for i := range pods {
		pods[i].Pending = true
	}
	return pods
}

func concat(parts ...[]Pod) []Pod {
	var out []Pod
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func gpu(target float64) Metric {
	return Metric{Kind: PodsMetric, Name: MetricGPU, AverageValue: target}
}

func ptr[T any](v T) *T { return &v }

func TestHPASingleSync(t *testing.T) {
	tests := []struct {
		name     string
		cfg      HPAConfig
		spec     int32
		pods     []Pod
		obs      policy.Observation
		want     int32
		describe string
	}{
		{
			name: "scale up on average above target",
			cfg:  DefaultHPAConfig(1, 10, gpu(60)), spec: 3, pods: ready(90, 90, 90),
			// usage 90000m / target 60000m = 1.5; ceil(1.5 * 3 ready) = 5; limit max(2*3, 4) = 6.
			want: 5,
		},
		{
			name: "inside the default 10% tolerance",
			cfg:  DefaultHPAConfig(1, 10, gpu(60)), spec: 3, pods: ready(64, 64, 64),
			// 64000/60000 = 1.067, within [0.9, 1.1]: keep 3.
			want: 3,
		},
		{
			name: "per-HPA tolerance 0 acts on the same 6.7%",
			cfg: func() HPAConfig {
				c := DefaultHPAConfig(1, 10, gpu(60))
				c.Behavior = &Behavior{ScaleUp: &ScalingRules{Tolerance: ptr(0.0)}, ScaleDown: &ScalingRules{Tolerance: ptr(0.0)}}
				return c
			}(),
			spec: 3, pods: ready(64, 64, 64),
			// ceil(1.0667 * 3) = ceil(3.2) = 4.
			want: 4,
		},
		{
			name: "missing pods count as zero on a scale-up",
			cfg:  DefaultHPAConfig(1, 10, gpu(60)), spec: 3, pods: concat(ready(90, 90), missing(1)),
			// ratio 1.5 > 1; with the missing pod at 0: (90000+90000+0)/3 = 60000m,
			// new ratio 1.0 is within tolerance: keep 3. A loading replica holds the HPA back.
			want: 3,
		},
		{
			name: "pending pods count as zero on a scale-up",
			cfg:  DefaultHPAConfig(1, 10, gpu(60)), spec: 4, pods: concat(ready(90, 90), pendingPods(2)),
			// ratio 1.5; unready at 0: 180000/4 = 45000m, ratio 0.75 flips direction: keep 4.
			want: 4,
		},
		{
			name: "pending pods do not block a larger scale-up",
			cfg:  DefaultHPAConfig(1, 20, gpu(60)), spec: 3, pods: concat(ready(100, 100), pendingPods(1)),
			// ratio 100000/60000 = 1.667; with the pending pod at 0: 200000/3 = 66666m
			// (integer division), ratio 1.111 > 1.1; ceil(1.111 * 3) = 4.
			want: 4,
		},
		{
			name: "legacy scale-up limit of max(2*current, 4)",
			cfg:  DefaultHPAConfig(1, 20, Metric{Kind: PodsMetric, Name: MetricQueue, AverageValue: 5}), spec: 1, pods: ready(30),
			// 30000/5000 = 6 -> 6 replicas, limited to max(2*1, 4) = 4.
			want: 4,
		},
		{
			name: "maxReplicas caps the proposal",
			cfg:  DefaultHPAConfig(1, 4, gpu(60)), spec: 3, pods: ready(100, 100, 100),
			// ceil(1.667 * 3) = 5 > max 4.
			want: 4,
		},
		{
			name: "spec above max is brought to max without metrics",
			cfg:  DefaultHPAConfig(1, 4, gpu(60)), spec: 6, pods: ready(10, 10, 10, 10, 10, 10),
			want: 4,
		},
		{
			name: "spec below min is brought to min",
			cfg:  DefaultHPAConfig(3, 10, gpu(60)), spec: 1, pods: ready(10),
			want: 3,
		},
		{
			name: "spec zero disables scaling",
			cfg:  DefaultHPAConfig(1, 10, gpu(60)), spec: 0, pods: nil,
			want: 0,
		},
		{
			name: "no samples at all keeps the current size",
			cfg:  DefaultHPAConfig(1, 10, gpu(60)), spec: 2, pods: missing(2),
			want: 2,
		},
		{
			name: "milli-value truncation",
			cfg:  DefaultHPAConfig(1, 10, gpu(60)), spec: 2, pods: ready(66.0009, 66.0009),
			// int64(66.0009*1000) = 66000 exactly: ratio 1.1 is still within tolerance.
			want: 2,
		},
		{
			name: "a ratio past the int32 range scales up as far as allowed",
			cfg:  DefaultHPAConfig(1, 10, Metric{Kind: PodsMetric, Name: MetricQueue, AverageValue: 0.001}), spec: 3, pods: ready(1e7, 1e7, 1e7),
			// 1e10m / 1m * 3 is past int32: saturated, not converted to a
			// negative count (which kept 3); then the limit max(2*3, 4) = 6.
			want: 6,
		},
		{
			name: "an external ratio past the int32 range too",
			cfg:  DefaultHPAConfig(1, 10, Metric{Kind: ExternalMetric, Name: MetricOutstanding, AverageValue: 0.001}),
			spec: 3, pods: ready(0, 0, 0), obs: policy.Observation{Waiting: 1e8},
			want: 6,
		},
		{
			name: "external AverageValue (KEDA) uses the total over status replicas",
			cfg:  DefaultHPAConfig(1, 10, Metric{Kind: ExternalMetric, Name: MetricOutstanding, AverageValue: 24}),
			spec: 3, pods: ready(0, 0, 0), obs: policy.Observation{Waiting: 40, Running: 60},
			// 100000m / (24000m * 3) = 1.389 outside tolerance: ceil(100000/24000) = 5.
			want: 5,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := NewHPA("hpa", tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := h.Desired(&Input{Now: time.Hour, SpecReplicas: tc.spec, Pods: tc.pods, Obs: tc.obs})
			if got != tc.want {
				t.Errorf("Desired = %d, want %d", got, tc.want)
			}
		})
	}
}

type step struct {
	at   time.Duration
	spec int32
	pods []Pod
	want int32
}

func runSteps(t *testing.T, h *HPA, steps []step) {
	t.Helper()
	for _, s := range steps {
		got := h.Desired(&Input{Now: s.at, SpecReplicas: s.spec, Pods: s.pods})
		if got != s.want {
			t.Errorf("at %v: Desired = %d, want %d", s.at, got, s.want)
		}
	}
}

// TestHPATwoMetrics follows computeReplicasForMetrics: the larger of the
// proposals wins, and a metric without samples blocks only a scale-down.
func TestHPATwoMetrics(t *testing.T) {
	// 3 pods at 60% GPU (ratio 1.0, keep 3) with the given waiting requests.
	pods := func(waiting float64, scraped bool) []Pod {
		p := Pod{GPUUtil: 60, HasGPUUtil: true, Waiting: waiting, HasWaiting: scraped}
		return []Pod{p, p, p}
	}
	queue := Metric{Kind: PodsMetric, Name: MetricQueue, AverageValue: 2}
	tests := []struct {
		name string
		gpu  float64
		pods []Pod
		want int32
	}{
		// queue 4000m / 2000m = 2.0: ceil(2 * 3) = 6 beats gpu's 3.
		{name: "queue proposal wins", gpu: 60, pods: pods(4, true), want: 6},
		// gpu 60/40 = 1.5: ceil(1.5 * 3) = 5 beats queue's 500m/2000m: ceil(0.25 * 3) = 1.
		{name: "gpu proposal wins", gpu: 40, pods: pods(0.5, true), want: 5},
		// Both below target: the larger proposal, gpu's ceil(60/90 * 3) = 2, not queue's 1.
		{name: "scale-down takes the larger proposal", gpu: 90, pods: pods(0.5, true), want: 2},
		// queue unscraped is invalid; gpu alone would scale down to 2: blocked, keep 3.
		{name: "missing metric blocks a scale-down", gpu: 90, pods: pods(0, false), want: 3},
		// queue unscraped is invalid; gpu's scale-up to 5 goes ahead.
		{name: "missing metric does not block a scale-up", gpu: 40, pods: pods(0, false), want: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultHPAConfig(1, 10, gpu(tc.gpu), queue)
			// No scale-down window, so that a scale-down shows on one sync.
			cfg.Behavior = &Behavior{ScaleDown: &ScalingRules{StabilizationWindow: ptr(time.Duration(0))}}
			h, err := NewHPA("hpa", cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := h.Desired(&Input{Now: time.Hour, SpecReplicas: 3, Pods: tc.pods}); got != tc.want {
				t.Errorf("Desired = %d, want %d", got, tc.want)
			}
		})
	}
}

// The spec's gpu and queue build the same two-metric HPA as the config.
func TestParseHPATwoMetrics(t *testing.T) {
	a, err := Parse("hpa:queue=2,gpu=40", Env{MinReplicas: 1, MaxReplicas: 10})
	if err != nil {
		t.Fatal(err)
	}
	p := Pod{GPUUtil: 60, HasGPUUtil: true, Waiting: 4, HasWaiting: true}
	// gpu 60/40 = 1.5 proposes 5; queue 4/2 = 2.0 proposes 6.
	if got := a.Desired(&Input{Now: time.Hour, SpecReplicas: 3, Pods: []Pod{p, p, p}}); got != 6 {
		t.Errorf("Desired = %d, want 6", got)
	}
}

func TestHPALegacyDownscaleStabilization(t *testing.T) {
	h, _ := NewHPA("hpa", DefaultHPAConfig(1, 10, gpu(60)))
	if h.ScaleDownWindow() != 5*time.Minute {
		t.Errorf("ScaleDownWindow() = %v, want the flag's 5m", h.ScaleDownWindow())
	}
	low := ready(30, 30, 30, 30)
	runSteps(t, h, []step{
		// 30000/60000 = 0.5: the proposal is ceil(0.5 * 4) = 2, but the initial
		// recommendation (4 at t=0) is within the 5m window.
		{0, 4, low, 4},
		{4 * time.Minute, 4, low, 4},
		// At 5m15s the t=0 recommendation is older than the window; the 4m
		// one (2) and this one (2) remain.
		{5*time.Minute + 15*time.Second, 4, low, 2},
	})
}

func TestHPABehaviorScaleUpPolicies(t *testing.T) {
	withBehavior := func(sel SelectPolicy) HPAConfig {
		c := DefaultHPAConfig(1, 100, gpu(10))
		c.Behavior = &Behavior{ScaleUp: &ScalingRules{SelectPolicy: sel}}
		return c
	}
	hot := func(n int) []Pod {
		vals := make([]float64, n)
		for i := range vals {
			vals[i] = 30 // ratio 3: proposal 3n
		}
		return ready(vals...)
	}
	t.Run("Max picks the larger of +4 pods and +100%", func(t *testing.T) {
		h, _ := NewHPA("hpa", withBehavior(MaxChange))
		runSteps(t, h, []step{
			// proposal 30; limits 10+4 = 14 and ceil(10*2) = 20; Max -> 20.
			{0, 10, hot(10), 20},
			// 10s later the +10 event is inside both 15s periods: period start
			// 20-10 = 10, limits again 14 and 20: no further change.
			{10 * time.Second, 20, hot(20), 20},
			// At 16s the event has left the period: start 20, limits 24 / 40.
			{16 * time.Second, 20, hot(20), 40},
		})
	})
	t.Run("Min picks the smaller", func(t *testing.T) {
		h, _ := NewHPA("hpa", withBehavior(MinChange))
		runSteps(t, h, []step{{0, 10, hot(10), 14}})
	})
	t.Run("Disabled never scales up", func(t *testing.T) {
		h, _ := NewHPA("hpa", withBehavior(Disabled))
		runSteps(t, h, []step{{0, 10, hot(10), 10}})
	})
}

func TestHPABehaviorScaleDown(t *testing.T) {
	c := DefaultHPAConfig(1, 100, gpu(60))
	window := time.Minute
	c.Behavior = &Behavior{ScaleDown: &ScalingRules{
		StabilizationWindow: &window,
		Policies:            []ScalingPolicy{{Type: PodsPolicy, Value: 2, Period: time.Minute}},
	}}
	h, _ := NewHPA("hpa", c)
	idle := func(n int) []Pod {
		vals := make([]float64, n)
		for i := range vals {
			vals[i] = 6 // ratio 0.1: proposal ceil(0.1 n)
		}
		return ready(vals...)
	}
	runSteps(t, h, []step{
		// Initial recommendation 10 at t=0 holds the stabilised value at 10.
		{0, 10, idle(10), 10},
		// At 61s both t=0 recommendations (10 and 1) are outside the 1m
		// window, so this proposal (1) stands, limited to 10-2 = 8.
		{61 * time.Second, 10, idle(10), 8},
		// 30s later the -2 event is within the 1m period: start 8+2 = 10,
		// limit 10-2 = 8: no change.
		{91 * time.Second, 8, idle(8), 8},
		// After the period: start 8, limit 6.
		{122 * time.Second, 8, idle(8), 6},
	})
}

func TestHPAConfigErrors(t *testing.T) {
	for _, spec := range []string{"hpa:gpu=0", "hpa:gpu=x", "hpa:cpu=50", "hpa:tolerance=-1", "hpa:down=soon", "hpa:gpu"} {
		if _, err := Parse(spec, Env{MinReplicas: 1, MaxReplicas: 5}); err == nil {
			t.Errorf("Parse(%q) accepted a bad spec", spec)
		}
	}
}
