package parity

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/component-base/metrics"
	"k8s.io/klog/v2/ktesting"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/kisproject/kis/adapter"
	"github.com/kisproject/kis/sim/autoscale"
)

// healthyProm answers every query with one sample: 1, or the evaluation
// time for the freshness query.
type healthyProm struct{}

func (healthyProm) Query(_ context.Context, q string, ts time.Time, _ ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error) {
	v := model.SampleValue(1)
	if strings.HasPrefix(q, "max(timestamp(") {
		v = model.SampleValue(float64(ts.Unix()))
	}
	return model.Vector{{Value: v, Timestamp: model.TimeFromUnixNano(ts.UnixNano())}}, nil, nil, nil
}

type scaleAt struct{ n int32 }

func (s scaleAt) GetReplicas(context.Context, string, adapter.ScaleTargetRef) (int32, error) {
	return s.n, nil
}

func (s scaleAt) SetReplicas(context.Context, string, adapter.ScaleTargetRef, int32) error {
	return fmt.Errorf("read only")
}

// served is what kis-adapter answers the HPA when its policy decides n.
func served(t *testing.T, current, n int32) float64 {
	t.Helper()
	cfg, err := adapter.ParseConfig(fmt.Appendf(nil, `
prometheus: {url: http://prometheus:9090}
targets:
- namespace: serving
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: llm}
  minReplicas: 1
  maxReplicas: 100
  sloSeconds: 2
  scaler: fixed:%d
`, n))
	if err != nil {
		t.Fatal(err)
	}
	m := adapter.NewMetrics()
	if err := m.Register(metrics.NewKubeRegistry().Register); err != nil {
		t.Fatal(err)
	}
	clk := clocktesting.NewFakeClock(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	a, err := adapter.New(cfg, healthyProm{}, scaleAt{current}, clk, m)
	if err != nil {
		t.Fatal(err)
	}
	_, ctx := ktesting.NewTestContext(t)
	if _, ok := a.Reconcilers()[0].Reconcile(ctx); !ok {
		t.Fatal("no decision")
	}
	sel, _ := labels.Parse(adapter.TargetLabel + "=serving.llm")
	list, err := a.Provider().GetExternalMetric(ctx, "serving", sel, provider.ExternalMetricInfo{Metric: adapter.DefaultMetricName})
	if err != nil {
		t.Fatal(err)
	}
	// The controller reads MilliValue (GetExternalMetric in
	// pkg/controller/podautoscaler/metrics).
	return float64(list.Items[0].Value.MilliValue()) / 1000
}

// hpaReplicas runs one sync of the HPA model on the served value: External
// metric kis_desired_replicas, AverageValue 1, no stabilisation, the given
// per-HPA tolerance, current replicas all running.
func hpaReplicas(t *testing.T, current int32, value, tolerance float64) int32 {
	t.Helper()
	zero := time.Duration(0)
	rules := func() *autoscale.ScalingRules {
		return &autoscale.ScalingRules{StabilizationWindow: &zero, Tolerance: ptr.To(tolerance),
			Policies: []autoscale.ScalingPolicy{{Type: autoscale.PercentPolicy, Value: 100, Period: 15 * time.Second}}}
	}
	cfg := autoscale.DefaultHPAConfig(1, 100, autoscale.Metric{Kind: autoscale.ExternalMetric, Name: adapter.DefaultMetricName, AverageValue: 1})
	cfg.Behavior = &autoscale.Behavior{ScaleUp: rules(), ScaleDown: rules()}
	h, err := autoscale.NewHPA("hpa", cfg)
	if err != nil {
		t.Fatal(err)
	}
	pods := make([]autoscale.Pod, current)
	return h.Desired(&autoscale.Input{Now: time.Hour, SpecReplicas: current, Pods: pods,
		External: map[string]float64{adapter.DefaultMetricName: value}})
}

// With AverageValue 1 the HPA computes ceil(served) only when
// |served/current - 1| exceeds the tolerance: the default 0.1 swallows any
// one-replica change from 10 replicas up, so the example HPA sets 0.
func TestHPAFollowsServedReplicasOnlyWithToleranceZero(t *testing.T) {
	tests := []struct {
		name            string
		current, policy int32
		withZero        int32 // tolerance 0: always the policy's count
		withDefault     int32 // tolerance 0.1
	}{
		// 6/5 = 1.2 > 1.1: both scale.
		{"small step at 5", 5, 6, 6, 6},
		// 11/10 = 1.1, not > 1.1: swallowed by the default.
		{"one up at 10", 10, 11, 11, 10},
		// 21/20 = 1.05: swallowed.
		{"one up at 20", 20, 21, 21, 20},
		// 19/20 = 0.95 >= 0.9: swallowed.
		{"one down at 20", 20, 19, 19, 20},
		// 17/20 = 0.85 < 0.9: both scale.
		{"three down at 20", 20, 17, 17, 17},
		// 54/50 = 1.08: four replicas the default never adds.
		{"four up at 50", 50, 54, 54, 50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := served(t, tc.current, tc.policy)
			if v != float64(tc.policy) {
				t.Fatalf("served %v, want %d", v, tc.policy)
			}
			if got := hpaReplicas(t, tc.current, v, 0); got != tc.withZero {
				t.Errorf("tolerance 0: %d replicas, want %d", got, tc.withZero)
			}
			if got := hpaReplicas(t, tc.current, v, 0.1); got != tc.withDefault {
				t.Errorf("tolerance 0.1: %d replicas, want %d", got, tc.withDefault)
			}
		})
	}
}
