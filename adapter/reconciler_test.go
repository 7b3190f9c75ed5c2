package adapter

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/testutil"
	"k8s.io/klog/v2/ktesting"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kisproject/kis/policy"
)

// fakeProm answers each signal's query with a canned value or error.
type fakeProm struct {
	byQuery map[string]string // query -> signal name
	Values  map[string]float64
	Empty   map[string]bool
	Err     error
	// Scrape is the time of the newest sample, unless Values sets
	// last_scrape_timestamp; zero means "now".
	Scrape time.Time
}

func (f *fakeProm) Query(_ context.Context, query string, ts time.Time, _ ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error) {
	if f.Err != nil {
		return nil, nil, nil, f.Err
	}
	name := f.byQuery[query]
	if f.Empty[name] {
		return model.Vector{}, nil, nil, nil
	}
	v, set := f.Values[name]
	if name == SignalLastScrape && !set {
		at := f.Scrape
		if at.IsZero() {
			at = ts
		}
		v = float64(at.UnixNano()) / 1e9
	}
	return model.Vector{{Value: model.SampleValue(v), Timestamp: model.TimeFromUnixNano(ts.UnixNano())}}, nil, nil, nil
}

type fakeScale struct {
	Replicas int32
	Err      error
	Sets     []int32
}

func (f *fakeScale) GetReplicas(context.Context, string, ScaleTargetRef) (int32, error) {
	return f.Replicas, f.Err
}

func (f *fakeScale) SetReplicas(_ context.Context, _ string, _ ScaleTargetRef, n int32) error {
	f.Sets = append(f.Sets, n)
	f.Replicas = n
	return nil
}

type fixture struct {
	prom    *fakeProm
	scale   *fakeScale
	clock   *clocktesting.FakeClock
	metrics *Metrics
	adapter *Adapter
}

// newFixture runs one target, max 10 replicas, with the queue baseline at
// 10 outstanding requests per replica, so decisions are easy arithmetic.
func newFixture(t *testing.T, extra string) *fixture {
	t.Helper()
	cfg, err := ParseConfig([]byte(validConfig + "  scaler: queue:10\n" + extra))
	if err != nil {
		t.Fatal(err)
	}
	q, err := NewQueries(&cfg.Targets[0])
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{
		prom: &fakeProm{byQuery: map[string]string{}, Values: map[string]float64{
			SignalRequestRate: 40, SignalRequestRatePrev: 30, SignalWaiting: 20, SignalRunning: 30,
			SignalP95Latency: 1.5, SignalGPUUtil: 70, SignalReadyReplicas: 4, SignalPendingPods: 0,
		}, Empty: map[string]bool{}},
		scale:   &fakeScale{Replicas: 4},
		clock:   clocktesting.NewFakeClock(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)),
		metrics: NewMetrics(),
	}
	for name, text := range q {
		f.prom.byQuery[text] = name
	}
	if err := f.metrics.Register(metrics.NewKubeRegistry().Register); err != nil {
		t.Fatal(err)
	}
	if f.adapter, err = New(cfg, f.prom, f.scale, f.clock, f.metrics); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) reconcile(t *testing.T) Decision {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	d, ok := f.adapter.Reconcilers()[0].Reconcile(ctx)
	if !ok {
		t.Fatal("no decision")
	}
	return d
}

func (f *fixture) fallbacks(t *testing.T, reason Reason) float64 {
	t.Helper()
	v, err := testutil.GetCounterMetricValue(f.metrics.Fallbacks.WithLabelValues("serving.llm", string(reason)))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

type step struct {
	name    string
	advance time.Duration
	mutate  func(f *fixture)
	want    Decision // At is filled in from the clock
}

func runSteps(t *testing.T, f *fixture, steps []step) {
	t.Helper()
	for _, s := range steps {
		f.clock.Step(s.advance)
		if s.mutate != nil {
			s.mutate(f)
		}
		got := f.reconcile(t)
		s.want.At = f.clock.Now()
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Fatalf("%s: decision (-want,+got):\n%s", s.name, diff)
		}
	}
}

func TestReconcileFollowsSignals(t *testing.T) {
	f := newFixture(t, "")
	runSteps(t, f, []step{
		// (20 waiting + 30 running) / 10 per replica = 5
		{name: "load", want: Decision{Replicas: 5, Source: SourcePolicy}},
		// 95/10 = 9.5 -> 10
		{name: "more load", advance: 15 * time.Second, mutate: func(f *fixture) { f.prom.Values[SignalWaiting] = 65 },
			want: Decision{Replicas: 10, Source: SourcePolicy}},
		// 300/10 = 30, clamped to maxReplicas 10
		{name: "clamped", advance: 15 * time.Second, mutate: func(f *fixture) { f.prom.Values[SignalWaiting] = 270 },
			want: Decision{Replicas: 10, Source: SourcePolicy}},
		// idle: 0 -> minReplicas 1 (a NaN p95 at zero traffic is what Prometheus returns)
		{name: "idle", advance: 15 * time.Second, mutate: func(f *fixture) {
			f.prom.Values[SignalWaiting], f.prom.Values[SignalRunning], f.prom.Values[SignalRequestRate] = 0, 0, 0
			f.prom.Values[SignalP95Latency] = math.NaN()
		}, want: Decision{Replicas: 1, Source: SourcePolicy}},
	})
}

// The p95 gauge shows the latency as observed: at zero traffic nothing
// finishes and there is no p95 (NaN, a gap on a dashboard), although the
// policy reads it as zero.
func TestP95GaugeIsNaNWithoutTraffic(t *testing.T) {
	f := newFixture(t, "")
	p95 := func() float64 {
		t.Helper()
		v, err := testutil.GetGaugeMetricValue(f.metrics.P95Latency.WithLabelValues("serving.llm"))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	f.reconcile(t)
	if got := p95(); got != 1.5 {
		t.Errorf("under load the p95 gauge reads %v, want the observed 1.5", got)
	}
	f.clock.Step(15 * time.Second)
	f.prom.Values[SignalWaiting], f.prom.Values[SignalRunning], f.prom.Values[SignalRequestRate] = 0, 0, 0
	f.prom.Values[SignalP95Latency] = math.NaN()
	if d := f.reconcile(t); d.Source != SourcePolicy {
		t.Fatalf("idle: decision from %s, want the policy's", d.Source)
	}
	if got := p95(); !math.IsNaN(got) {
		t.Errorf("at zero traffic the p95 gauge reads %v, want NaN", got)
	}
}

// TestFallbacks walks each failure through hold (the last good decision,
// for holdFor = 2m) into the fallback rule max(current, last good), and
// back to the policy when the data returns.
func TestFallbacks(t *testing.T) {
	failures := []struct {
		name   string
		reason Reason
		break_ func(f *fixture)
	}{
		{"prometheus down", ReasonUnreachable, func(f *fixture) { f.prom.Err = errors.New("dial tcp 127.0.0.1:9090: connection refused") }},
		{"bad query", ReasonQueryError, func(f *fixture) {
			f.prom.Err = &promv1.Error{Type: promv1.ErrBadData, Msg: "parse error"}
		}},
		{"NaN", ReasonGarbage, func(f *fixture) { f.prom.Values[SignalGPUUtil] = math.NaN() }},
		{"Inf", ReasonGarbage, func(f *fixture) { f.prom.Values[SignalRequestRate] = math.Inf(1) }},
		{"negative", ReasonGarbage, func(f *fixture) { f.prom.Values[SignalWaiting] = -3 }},
		{"NaN latency under traffic", ReasonGarbage, func(f *fixture) { f.prom.Values[SignalP95Latency] = math.NaN() }},
		{"empty", ReasonEmpty, func(f *fixture) { f.prom.Empty[SignalReadyReplicas] = true }},
		{"stale", ReasonStale, func(f *fixture) { f.prom.Scrape = f.clock.Now().Add(-61 * time.Second) }},
		{"scrape in the future", ReasonGarbage, func(f *fixture) { f.prom.Scrape = f.clock.Now().Add(time.Hour) }},
		{"scrape in milliseconds", ReasonGarbage, func(f *fixture) { f.prom.Values[SignalLastScrape] = float64(f.clock.Now().UnixMilli()) }},
	}
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "")
			healthy := *f.prom
			healthy.Values, healthy.Empty = map[string]float64{}, map[string]bool{}
			for k, v := range f.prom.Values {
				healthy.Values[k] = v
			}
			runSteps(t, f, []step{
				// (20+30)/10 = 5
				{name: "healthy", want: Decision{Replicas: 5, Source: SourcePolicy}},
				// Meanwhile the HPA scaled to 5; the signals break.
				{name: "broken, held", advance: 15 * time.Second, mutate: func(f *fixture) { f.scale.Replicas = 5; tc.break_(f) },
					want: Decision{Replicas: 5, Source: SourceHold, Reason: tc.reason}},
				{name: "still held at 2m", advance: 105 * time.Second,
					want: Decision{Replicas: 5, Source: SourceHold, Reason: tc.reason}},
				// Someone scaled to 7 by hand: the fallback keeps max(7, 5).
				{name: "fallback keeps current", advance: 15 * time.Second, mutate: func(f *fixture) { f.scale.Replicas = 7 },
					want: Decision{Replicas: 7, Source: SourceFallback, Reason: tc.reason}},
				// ...and never goes below the last good decision.
				{name: "fallback never below last good", advance: 15 * time.Second, mutate: func(f *fixture) { f.scale.Replicas = 2 },
					want: Decision{Replicas: 5, Source: SourceFallback, Reason: tc.reason}},
				{name: "recovered", advance: 15 * time.Second, mutate: func(f *fixture) {
					p := healthy
					p.Values[SignalWaiting] = 0 // 30/10 = 3: the policy may scale down again
					*f.prom = p
				}, want: Decision{Replicas: 3, Source: SourcePolicy}},
			})
			if got := f.fallbacks(t, tc.reason); got != 4 {
				t.Errorf("fallbacks_total{reason=%q} = %v, want 4", tc.reason, got)
			}
		})
	}
}

func TestFallbackWithoutAnyGoodDecision(t *testing.T) {
	f := newFixture(t, "")
	f.prom.Err = errors.New("connection refused")
	f.scale.Replicas = 6
	// Nothing to hold: serve the current replicas, not minReplicas.
	runSteps(t, f, []step{{name: "first reconcile", want: Decision{Replicas: 6, Source: SourceFallback, Reason: ReasonUnreachable}}})
}

func TestScaleUnavailable(t *testing.T) {
	f := newFixture(t, "")
	_, ctx := ktesting.NewTestContext(t)
	f.scale.Err = errors.New("deployments.apps \"llm\" is forbidden")
	if d, ok := f.adapter.Reconcilers()[0].Reconcile(ctx); ok {
		t.Fatalf("decided %+v without signals or scale", d)
	}
	f.scale.Err = nil
	runSteps(t, f, []step{
		{name: "healthy", want: Decision{Replicas: 5, Source: SourcePolicy}},
		{name: "scale unreadable, held", advance: 15 * time.Second, mutate: func(f *fixture) { f.scale.Err = errors.New("timeout") },
			want: Decision{Replicas: 5, Source: SourceHold, Reason: ReasonScaleUnavailable}},
		{name: "scale unreadable, last served", advance: 3 * time.Minute,
			want: Decision{Replicas: 5, Source: SourceFallback, Reason: ReasonScaleUnavailable}},
	})
}

func TestDirectMode(t *testing.T) {
	f := newFixture(t, "  direct: true\n")
	runSteps(t, f, []step{
		{name: "scale up", want: Decision{Replicas: 5, Source: SourcePolicy}},
		{name: "unchanged", advance: 15 * time.Second, want: Decision{Replicas: 5, Source: SourcePolicy}},
	})
	if diff := cmp.Diff([]int32{5}, f.scale.Sets); diff != "" {
		t.Errorf("scale updates (-want,+got):\n%s", diff)
	}
	off := newFixture(t, "")
	off.reconcile(t)
	if len(off.scale.Sets) != 0 {
		t.Errorf("direct mode off updated the scale: %v", off.scale.Sets)
	}
}

// holdRule keeps the current replica count whatever it sees: a policy
// stuck in a state it never learned.
type holdRule struct{}

func (holdRule) Desired(_ policy.Observation, current, _, _ int32) int32 { return current }

// TestSLOGuard: a decider that holds while the p95 is over the SLO and
// requests wait is raised to one replica more than are Ready, or to the
// replicas that drain the queue within the SLO, and the decision says so;
// with the guard off, or the SLO met, or the decider already asking for
// more, the decider's count is served.
func TestSLOGuard(t *testing.T) {
	f := newFixture(t, "")
	r := f.adapter.Reconcilers()[0]
	r.decider, r.guard = holdRule{}, policy.SLOGuard{SLOSeconds: 2}
	f.scale.Replicas = 6
	// 20 waiting beside 80 completed a second: an eighth more, within 2 s.
	f.prom.Values[SignalRequestRate] = 80
	runSteps(t, f, []step{
		{name: "SLO met", want: Decision{Replicas: 6, Source: SourcePolicy}},
		// 4 Ready of 6: two are starting; the floor is max(4+1,
		// ceil(4 * (1 + 20 / (80 * 2))) = 5) = 5, and 6 stands.
		{name: "over the SLO, replicas starting", advance: 15 * time.Second, mutate: func(f *fixture) { f.prom.Values[SignalP95Latency] = 7 },
			want: Decision{Replicas: 6, Source: SourcePolicy}},
		// max(6+1, ceil(6 * (1 + 20 / 160)) = ceil(6.75) = 7) = 7.
		{name: "over the SLO, all Ready", advance: 15 * time.Second, mutate: func(f *fixture) { f.prom.Values[SignalReadyReplicas] = 6 },
			want: Decision{Replicas: 7, Source: SourceGuard}},
		// ceil(6 * (1 + 120 / 160)) = ceil(10.5) = 11, clamped to the
		// target's max of 10.
		{name: "over the SLO, a long queue", advance: 15 * time.Second, mutate: func(f *fixture) { f.prom.Values[SignalWaiting] = 120 },
			want: Decision{Replicas: 10, Source: SourceGuard}},
		{name: "over the SLO, nothing waiting", advance: 15 * time.Second, mutate: func(f *fixture) { f.prom.Values[SignalWaiting] = 0 },
			want: Decision{Replicas: 6, Source: SourcePolicy}},
	})
	f.prom.Values[SignalWaiting] = 20
	f.clock.Step(15 * time.Second)
	if d := f.reconcile(t); d.Source != SourceGuard {
		t.Fatalf("decision %+v, want the guard's", d)
	}
	for _, s := range sources {
		want := 0.0
		if s == SourceGuard {
			want = 1
		}
		if v, err := testutil.GetGaugeMetricValue(f.metrics.DecisionSource.WithLabelValues("serving.llm", string(s))); err != nil || v != want {
			t.Errorf("decision_source{source=%s} = %v (%v), want %v", s, v, err, want)
		}
	}
	r.guard = policy.SLOGuard{}
	f.clock.Step(15 * time.Second)
	if d := f.reconcile(t); d.Replicas != 6 || d.Source != SourcePolicy {
		t.Errorf("guard off: decision %+v, want the decider's 6", d)
	}
}

func TestKISDeciderUsesTheObservation(t *testing.T) {
	f := newFixture(t, "")
	f.adapter.cfg.Targets[0].Scaler = "kis"
	d, err := NewDecider("kis")
	if err != nil {
		t.Fatal(err)
	}
	f.adapter.Reconcilers()[0].decider = d
	got := f.reconcile(t)
	// The same Observation through the policy directly.
	ref, _ := NewDecider("kis")
	sig, err := f.adapter.Reconcilers()[0].queries.Evaluate(context.Background(), f.prom, f.clock.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	sig.DesiredReplicas = 4
	obs := mustObserve(t, sig)
	if want := ref.Desired(obs, 4, 1, 10); got.Replicas != want || got.Source != SourcePolicy {
		t.Errorf("decision %+v, want %d from the policy", got, want)
	}
}

func TestNewDeciderErrors(t *testing.T) {
	for _, spec := range []string{"kis:/does/not/exist.json", "queue:x", "fixed:0", "hpa"} {
		if _, err := NewDecider(spec); err == nil {
			t.Errorf("NewDecider(%q): want an error", spec)
		}
	}
}

// The baselines' rules, by hand: queue:10 asks ceil(outstanding / 10),
// fixed:3 asks 3; both within the target's bounds.
func TestBaselineRules(t *testing.T) {
	for _, tc := range []struct {
		spec             string
		waiting, running float64
		lo, hi           int32
		want             int32
	}{
		{"queue:10", 9, 16, 1, 20, 3},
		{"queue:10", 0, 0, 2, 20, 2},
		{"queue:10", 1e12, 0, 1, 20, 20},
		{"queue:2.5", 0, 5, 1, 20, 2},
		{"fixed:3", 500, 0, 1, 20, 3},
		{"fixed:3", 0, 0, 5, 20, 5},
		{"fixed:3", 0, 0, 1, 2, 2},
	} {
		d, err := NewDecider(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Desired(policy.Observation{Waiting: tc.waiting, Running: tc.running}, 4, tc.lo, tc.hi); got != tc.want {
			t.Errorf("%s with %v waiting and %v running in [%d, %d] = %d, want %d", tc.spec, tc.waiting, tc.running, tc.lo, tc.hi, got, tc.want)
		}
	}
}
