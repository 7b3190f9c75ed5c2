package adapter

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/kisproject/kis/policy"
)

func mustObserve(t *testing.T, s policy.Signals) policy.Observation {
	t.Helper()
	obs, err := policy.FromSignals(s)
	if err != nil {
		t.Fatal(err)
	}
	return obs
}

func TestProvider(t *testing.T) {
	cfg, err := ParseConfig([]byte(validConfig + `- namespace: serving
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: embed}
  minReplicas: 1
  maxReplicas: 4
  sloSeconds: 0.2
- namespace: other
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: llm}
  minReplicas: 1
  maxReplicas: 4
  sloSeconds: 1
`))
	if err != nil {
		t.Fatal(err)
	}
	store := newStore()
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	store.set("serving/serving.llm", Decision{Replicas: 7, At: at, Source: SourcePolicy})
	store.set("other/other.llm", Decision{Replicas: 2, At: at, Source: SourceHold})
	p := newProvider(cfg, store)
	sel := func(s string) labels.Selector {
		l, err := labels.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	info := provider.ExternalMetricInfo{Metric: "kis_desired_replicas"}

	list, err := p.GetExternalMetric(context.Background(), "serving", sel("kis.io/target=serving.llm"), info)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Value.Value() != 7 || !list.Items[0].Timestamp.Time.Equal(at) ||
		list.Items[0].MetricLabels[SourceLabel] != "policy" {
		t.Errorf("got %+v, want one item of 7 at %v from the policy", list.Items, at)
	}
	if list, err := p.GetExternalMetric(context.Background(), "other", sel("kis.io/target=other.llm"), info); err != nil || list.Items[0].Value.Value() != 2 {
		t.Errorf("other/other.llm: %v, %v", list, err)
	}

	errs := []struct {
		name      string
		namespace string
		selector  string
		metric    string
		check     func(error) bool
	}{
		{"unknown metric", "serving", "kis.io/target=serving.llm", "gpu_util", apierrors.IsNotFound},
		{"unknown target", "serving", "kis.io/target=serving.nope", "kis_desired_replicas", apierrors.IsNotFound},
		// An HPA cannot read another namespace's target.
		{"other namespace", "serving", "kis.io/target=other.llm", "kis_desired_replicas", apierrors.IsNotFound},
		// Two targets would be summed by the HPA: refused.
		{"ambiguous", "serving", "", "kis_desired_replicas", apierrors.IsBadRequest},
		// Configured, not decided yet.
		{"no decision yet", "serving", "kis.io/target=serving.embed", "kis_desired_replicas", apierrors.IsServiceUnavailable},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.GetExternalMetric(context.Background(), tc.namespace, sel(tc.selector), provider.ExternalMetricInfo{Metric: tc.metric})
			if !tc.check(err) {
				t.Errorf("error %v is not the expected kind", err)
			}
		})
	}
	if got := p.ListAllExternalMetrics(); len(got) != 1 || got[0].Metric != "kis_desired_replicas" {
		t.Errorf("ListAllExternalMetrics = %v", got)
	}
}
