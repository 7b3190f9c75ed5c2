//go:build integration

package integration

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"k8s.io/component-base/metrics"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/clock"

	"github.com/kisproject/kis/adapter"
	"github.com/kisproject/kis/internal/controlplane"
)

// get returns a URL's body, or the error, for failure messages.
func get(u string) string {
	_, body, err := fetch(http.DefaultClient, u)
	if err != nil {
		return err.Error()
	}
	return string(body)
}

type staticScale struct{ replicas int32 }

func (s *staticScale) GetReplicas(context.Context, string, adapter.ScaleTargetRef) (int32, error) {
	return s.replicas, nil
}

func (s *staticScale) SetReplicas(context.Context, string, adapter.ScaleTargetRef, int32) error {
	return fmt.Errorf("direct mode is off")
}

// The adapter's decision follows what a real Prometheus scrapes from a
// vLLM-shaped exporter, holds the last decision while Prometheus is down,
// and follows again once it is back.
func TestAdapterFollowsRealPrometheus(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	fake, exporter := newFakeVLLM("serving", "llm")
	defer exporter.Close()
	fake.Set(func(f *fakeVLLM) { f.Rate, f.Waiting, f.Running, f.GPUUtil, f.Ready = 8, 20, 30, 55, 4 })

	ps := controlplane.NewProcesses(t, t.TempDir())
	u, _ := url.Parse(exporter.URL)
	prom := controlplane.StartPrometheus(t, ps, t.TempDir(), time.Second, u.Host)
	began := time.Now()

	cfg, err := adapter.ParseConfig([]byte(fmt.Sprintf("prometheus: {url: %q}\n", prom.URL) + queueTarget))
	if err != nil {
		t.Fatal(err)
	}
	client, err := api.NewClient(api.Config{Address: prom.URL})
	if err != nil {
		t.Fatal(err)
	}
	m := adapter.NewMetrics()
	if err := m.Register(metrics.NewKubeRegistry().Register); err != nil {
		t.Fatal(err)
	}
	a, err := adapter.New(cfg, promv1.NewAPI(client), &staticScale{replicas: 4}, clock.RealClock{}, m)
	if err != nil {
		t.Fatal(err)
	}
	r := a.Reconcilers()[0]
	waitDecision := func(want adapter.Decision) {
		t.Helper()
		var last adapter.Decision
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			last, _ = r.Reconcile(ctx)
			if last.Replicas == want.Replicas && last.Source == want.Source {
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
		t.Fatalf("decision %+v, want %d from %s\nprometheus targets: %s\nseries: %s\nprometheus log:\n%s", last, want.Replicas, want.Source, get(prom.URL+"/api/v1/targets"), get(prom.URL+"/api/v1/query?query="+url.QueryEscape("vllm:request_success_total[5s]")), ps.Logs("prometheus", 10))
	}

	// (20 waiting + 30 running) / 10 per replica = 5
	waitDecision(adapter.Decision{Replicas: 5, Source: adapter.SourcePolicy})

	// The signals are the exporter's values, through real PromQL.
	queries, err := adapter.NewQueries(&cfg.Targets[0])
	if err != nil {
		t.Fatal(err)
	}
	promAPI := promv1.NewAPI(client)
	sig, err := queries.Evaluate(ctx, promAPI, time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if sig.Waiting != 20 || sig.Running != 30 || sig.GPUUtilPercent != 55 || sig.ReadyReplicas != 4 || sig.PendingPods != 0 {
		t.Errorf("gauges %+v, want waiting 20, running 30, gpu 55, ready 4, pending 0", sig)
	}
	// Every request took 0.9 s: the p95 interpolates in the (0.8, 1.0] bucket.
	if sig.P95LatencySeconds <= 0.8 || sig.P95LatencySeconds > 1.0 {
		t.Errorf("p95 %v, want in (0.8, 1.0]", sig.P95LatencySeconds)
	}
	if sig.RequestRate <= 0 || sig.RequestRatePrev != sig.RequestRate && sig.RequestRatePrev > 0 {
		t.Errorf("rates %v (previous %v): want > 0, the previous one falling back to the current one without history", sig.RequestRate, sig.RequestRatePrev)
	}

	// (90 + 30) / 10 = 12
	fake.Set(func(f *fakeVLLM) { f.Waiting = 90 })
	waitDecision(adapter.Decision{Replicas: 12, Source: adapter.SourcePolicy})

	prom.Stop()
	d, _ := r.Reconcile(ctx)
	if d.Replicas != 12 || d.Source != adapter.SourceHold || d.Reason != adapter.ReasonUnreachable {
		t.Errorf("with Prometheus down: %+v, want 12 held (prometheus_unreachable)", d)
	}

	// (0 + 20) / 10 = 2, once Prometheus is back and has scraped again.
	fake.Set(func(f *fakeVLLM) { f.Waiting, f.Running = 0, 20 })
	prom.Start(t)
	waitDecision(adapter.Decision{Replicas: 2, Source: adapter.SourcePolicy})

	// With a full rate window of history, rate() is the exporter's 8/s
	// (within 15%: it extrapolates over the window's edges).
	time.Sleep(time.Until(began.Add(75 * time.Second)))
	sig, err = queries.Evaluate(ctx, promAPI, time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(sig.RequestRate-8) > 1.2 {
		t.Errorf("request rate %v, want about 8", sig.RequestRate)
	}
}
