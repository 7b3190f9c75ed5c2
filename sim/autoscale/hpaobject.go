package autoscale

import (
	"fmt"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/kisproject/kis/internal/strictyaml"
)

// ParseHPAObject reads one autoscaling/v2 HorizontalPodAutoscaler manifest,
// rejecting unknown and duplicated fields, as the API server does: the
// model would otherwise silently give a misspelt field its default and a
// repeated one its last value.
func ParseHPAObject(data []byte) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	var hpa autoscalingv2.HorizontalPodAutoscaler
	if err := strictyaml.Unmarshal(data, &hpa); err != nil {
		return nil, fmt.Errorf("hpa manifest: %w", err)
	}
	if hpa.Kind != "HorizontalPodAutoscaler" || hpa.APIVersion != autoscalingv2.SchemeGroupVersion.String() {
		return nil, fmt.Errorf("hpa manifest: got %s %s, want %s HorizontalPodAutoscaler", hpa.APIVersion, hpa.Kind, autoscalingv2.SchemeGroupVersion)
	}
	return &hpa, nil
}

// HPAConfigFrom is the model's config for an HPA object, with
// kube-controller-manager's flag defaults. The model covers AverageValue
// targets of External and Pods metrics; any other metric is an error
// naming it rather than a metric the model would silently skip.
func HPAConfigFrom(hpa *autoscalingv2.HorizontalPodAutoscaler) (HPAConfig, error) {
	minReplicas := int32(1)
	if hpa.Spec.MinReplicas != nil {
		minReplicas = *hpa.Spec.MinReplicas
	}
	cfg := DefaultHPAConfig(minReplicas, hpa.Spec.MaxReplicas)
	for i, m := range hpa.Spec.Metrics {
		var name string
		var target autoscalingv2.MetricTarget
		kind := ExternalMetric
		switch {
		case m.Type == autoscalingv2.ExternalMetricSourceType && m.External != nil:
			name, target = m.External.Metric.Name, m.External.Target
		case m.Type == autoscalingv2.PodsMetricSourceType && m.Pods != nil:
			name, target, kind = m.Pods.Metric.Name, m.Pods.Target, PodsMetric
		default:
			return HPAConfig{}, fmt.Errorf("hpa %s: metrics[%d]: type %q is not modelled (External or Pods)", hpa.Name, i, m.Type)
		}
		if target.Type != autoscalingv2.AverageValueMetricType || target.AverageValue == nil {
			return HPAConfig{}, fmt.Errorf("hpa %s: metrics[%d] %s: target type %q is not modelled (AverageValue)", hpa.Name, i, name, target.Type)
		}
		cfg.Metrics = append(cfg.Metrics, Metric{Kind: kind, Name: name, AverageValue: target.AverageValue.AsApproximateFloat64()})
	}
	if b := hpa.Spec.Behavior; b != nil {
		cfg.Behavior = &Behavior{ScaleUp: scalingRulesFrom(b.ScaleUp), ScaleDown: scalingRulesFrom(b.ScaleDown)}
	}
	return cfg, nil
}

// scalingRulesFrom keeps unset fields nil, so NewHPA defaults them as the
// API server does.
func scalingRulesFrom(r *autoscalingv2.HPAScalingRules) *ScalingRules {
	if r == nil {
		return nil
	}
	out := &ScalingRules{}
	if r.StabilizationWindowSeconds != nil {
		w := time.Duration(*r.StabilizationWindowSeconds) * time.Second
		out.StabilizationWindow = &w
	}
	if r.SelectPolicy != nil {
		out.SelectPolicy = SelectPolicy(*r.SelectPolicy)
	}
	for _, p := range r.Policies {
		out.Policies = append(out.Policies, ScalingPolicy{
			Type: PolicyType(p.Type), Value: p.Value, Period: time.Duration(p.PeriodSeconds) * time.Second,
		})
	}
	if r.Tolerance != nil {
		f := r.Tolerance.AsApproximateFloat64()
		out.Tolerance = &f
	}
	return out
}
