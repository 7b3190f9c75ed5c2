package adapter

import (
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/kisproject/kis/internal/strictyaml"
)

// The shipped config parses, and the example HPA reads exactly what the
// adapter serves for it: ceil(value / 1) with tolerance 0 and the same
// replica bounds.
func TestShippedManifestsAgree(t *testing.T) {
	cfg, err := LoadConfig("../manifests/adapter/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var hpa autoscalingv2.HorizontalPodAutoscaler
	if err := strictyaml.UnmarshalFile("../manifests/examples/hpa.yaml", &hpa); err != nil {
		t.Fatal(err)
	}
	tg := cfg.Targets[0]
	if hpa.Namespace != tg.Namespace || hpa.Spec.ScaleTargetRef.Name != tg.ScaleTargetRef.Name || hpa.Spec.ScaleTargetRef.Kind != tg.ScaleTargetRef.Kind {
		t.Errorf("HPA %s/%s scales %v, the adapter's target is %s/%v", hpa.Namespace, hpa.Name, hpa.Spec.ScaleTargetRef, tg.Namespace, tg.ScaleTargetRef)
	}
	if *hpa.Spec.MinReplicas != tg.MinReplicas || hpa.Spec.MaxReplicas != tg.MaxReplicas {
		t.Errorf("HPA bounds [%d, %d], adapter's [%d, %d]", *hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas, tg.MinReplicas, tg.MaxReplicas)
	}
	if len(hpa.Spec.Metrics) != 1 || hpa.Spec.Metrics[0].External == nil {
		t.Fatalf("want one External metric, got %+v", hpa.Spec.Metrics)
	}
	ext := hpa.Spec.Metrics[0].External
	if ext.Metric.Name != cfg.MetricName || ext.Metric.Selector.MatchLabels[TargetLabel] != tg.ID {
		t.Errorf("HPA reads %s{%v}, the adapter serves %s{%s=%s}", ext.Metric.Name, ext.Metric.Selector.MatchLabels, cfg.MetricName, TargetLabel, tg.ID)
	}
	if ext.Target.Type != autoscalingv2.AverageValueMetricType || ext.Target.AverageValue.MilliValue() != 1000 {
		t.Errorf("target %+v, want AverageValue 1", ext.Target)
	}
	b := hpa.Spec.Behavior
	if b == nil || b.ScaleUp.Tolerance == nil || !b.ScaleUp.Tolerance.IsZero() || b.ScaleDown.Tolerance == nil || !b.ScaleDown.Tolerance.IsZero() {
		t.Errorf("behavior %+v: want scaleUp and scaleDown tolerance 0", b)
	}
}
