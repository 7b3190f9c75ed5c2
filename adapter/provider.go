package adapter

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"
	"k8s.io/metrics/pkg/apis/external_metrics"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"
)

// SourceLabel is set on each served value to the decision's Source.
const SourceLabel = "kis.io/decision-source"

// Provider implements provider.ExternalMetricsProvider from the Store: a
// request never waits on Prometheus or the apiserver.
type Provider struct {
	metricName string
	// targets by namespace: an HPA can only read the targets of its own
	// namespace, as with every namespaced external metric.
	targets map[string][]string
	store   *Store
}

var _ provider.ExternalMetricsProvider = &Provider{}

func newProvider(cfg *Config, store *Store) *Provider {
	p := &Provider{metricName: cfg.MetricName, targets: map[string][]string{}, store: store}
	for _, t := range cfg.Targets {
		p.targets[t.Namespace] = append(p.targets[t.Namespace], t.ID)
	}
	return p
}

var externalMetricsResource = schema.GroupResource{Group: external_metrics.GroupName, Resource: "externalmetrics"}

// GetExternalMetric returns the cached decision of the one target of
// namespace whose kis.io/target label the selector matches.
func (p *Provider) GetExternalMetric(ctx context.Context, namespace string, selector labels.Selector, info provider.ExternalMetricInfo) (*external_metrics.ExternalMetricValueList, error) {
	if info.Metric != p.metricName {
		return nil, provider.NewMetricNotFoundError(externalMetricsResource, info.Metric)
	}
	var matched []string
	for _, id := range p.targets[namespace] {
		if selector.Matches(labels.Set{TargetLabel: id}) {
			matched = append(matched, id)
		}
	}
	switch len(matched) {
	case 0:
		return nil, provider.NewMetricNotFoundForSelectorError(externalMetricsResource, info.Metric, namespace, selector)
	case 1:
	default:
		// The HPA would sum the values, which is never a replica count.
		return nil, apierrors.NewBadRequest(fmt.Sprintf("selector %q matches %d targets in namespace %s (%s); select one with %s=<id>",
			selector, len(matched), namespace, strings.Join(matched, ", "), TargetLabel))
	}
	id := matched[0]
	d, ok := p.store.get(namespace + "/" + id)
	if !ok {
		klog.FromContext(ctx).V(2).Info("No decision yet", "target", namespace+"/"+id)
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("no decision yet for target %s/%s", namespace, id))
	}
	return &external_metrics.ExternalMetricValueList{Items: []external_metrics.ExternalMetricValue{{
		MetricName:   info.Metric,
		MetricLabels: map[string]string{TargetLabel: id, SourceLabel: string(d.Source)},
		Timestamp:    metav1.NewTime(d.At),
		Value:        *resource.NewQuantity(int64(d.Replicas), resource.DecimalSI),
	}}}, nil
}

// ListAllExternalMetrics implements provider.ExternalMetricsProvider.
func (p *Provider) ListAllExternalMetrics() []provider.ExternalMetricInfo {
	return []provider.ExternalMetricInfo{{Metric: p.metricName}}
}
