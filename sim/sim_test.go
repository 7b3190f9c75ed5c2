package sim_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/utils/clock"

	"github.com/kisproject/kis/policy/ppo/ppotest"
	"github.com/kisproject/kis/sim"
	"github.com/kisproject/kis/sim/cluster"
	"github.com/kisproject/kis/sim/eval"
	"github.com/kisproject/kis/sim/workload"
)

func run(t *testing.T, mutate func(*sim.Config)) sim.Result {
	t.Helper()
	cfg := sim.DefaultConfig()
	mutate(&cfg)
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The scaling action must drive latency: one replica cannot serve the spike
// pattern, eight can, and GPU cost follows the replicas held.
func TestActionsMatterOnSpike(t *testing.T) {
	one := run(t, func(c *sim.Config) { c.Scaler = "fixed:1" })
	eight := run(t, func(c *sim.Config) { c.Scaler = "fixed:8" })
	if one.P95 < 5*eight.P95 {
		t.Errorf("p95 with 1 replica %.2fs is not >= 5x the p95 with 8 (%.2fs)", one.P95, eight.P95)
	}
	if one.SLOAttainment > 0.9 || eight.SLOAttainment < 0.99 {
		t.Errorf("SLO attainment 1 replica %.3f, 8 replicas %.3f: want < 0.9 and >= 0.99", one.SLOAttainment, eight.SLOAttainment)
	}
	if one.Requests != eight.Requests {
		t.Errorf("arrivals differ between scalers (%d vs %d): the traffic stream must not depend on the scaler", one.Requests, eight.Requests)
	}
	// A fixed fleet holds its GPUs for the whole hour.
	if want := 1.0; abs(one.GPUHours-want) > 1e-9 {
		t.Errorf("fixed:1 GPU-hours = %v, want %v", one.GPUHours, want)
	}
	if want := 8.0; abs(eight.GPUHours-want) > 1e-9 {
		t.Errorf("fixed:8 GPU-hours = %v, want %v", eight.GPUHours, want)
	}
}

// The spike pattern's jumps reach the schedule scaler: it holds the fleet
// that serves a spike through each spike's window and the base fleet
// between them, so it serves as well as that fleet held all hour, for
// fewer GPU-hours.
func TestScheduleScalerKnowsTheSpikeWindows(t *testing.T) {
	held := run(t, func(c *sim.Config) { c.Scaler = "fixed:7" })
	sched := run(t, func(c *sim.Config) { c.Scaler = "schedule:high=7" })
	if sched.SLOMet < held.SLOMet {
		t.Errorf("schedule:high=7 served %d requests within the SLO, fixed:7 %d", sched.SLOMet, held.SLOMet)
	}
	if sched.GPUHours > 0.85*held.GPUHours {
		t.Errorf("schedule:high=7 ran %.2f GPU-hours, want well under fixed:7's %.2f", sched.GPUHours, held.GPUHours)
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func TestSameSeedSameJSON(t *testing.T) {
	base := sim.DefaultConfig()
	base.Duration = 20 * time.Minute
	render := func() []byte {
		rows, err := eval.Matrix(t.Context(), base, []string{"spike", "random"}, []string{"hpa", "queue", "predictive"}, 3, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range rows {
			rows[i].WallSeconds = 0 // the only field measured, not simulated
		}
		var buf bytes.Buffer
		if err := eval.WriteJSON(&buf, rows); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	a, b := render(), render()
	if !bytes.Equal(a, b) {
		t.Errorf("two runs with seed %d differ:\n%s\n---\n%s", base.Seed, a, b)
	}
	other := base
	other.Seed = 2
	rows, err := eval.Matrix(t.Context(), other, []string{"spike"}, []string{"hpa"}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	first, err := eval.Run(t.Context(), base, "spike", "hpa")
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].Requests == first.Requests {
		t.Errorf("seeds 1 and 2 produced the same %d arrivals", first.Requests)
	}
}

// A run stops for its context, without a result: a billion-request one
// takes minutes, and a half-run's numbers would read as the whole.
func TestRunStopsWhenItsContextEnds(t *testing.T) {
	s, err := sim.New(sim.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if r, err := s.Run(ctx); !errors.Is(err, context.Canceled) || r.Requests != 0 {
		t.Errorf("Run after its context ended = %d requests, %v; want none and context.Canceled", r.Requests, err)
	}
}

// A run nothing arrives in is refused before it runs: a table would
// report its attainment as 0%.
func TestRunWithoutRequestsRefused(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "late.csv")
	if err := os.WriteFile(trace, []byte("t_seconds\n100\n101\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		scenario string
		duration time.Duration
		want     string
	}{
		{"spike", time.Nanosecond, "no request arrives in the run's 1ns: nothing to judge"},
		{trace, 100 * time.Second, "no request arrives in the run's 1m40s: nothing to judge"},
	} {
		cfg := sim.DefaultConfig()
		cfg.Scenario, cfg.Duration = tc.scenario, tc.duration
		if _, err := sim.New(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s for %v: error %v, want one containing %q", tc.scenario, tc.duration, err, tc.want)
		}
	}
	cfg := sim.DefaultConfig()
	cfg.Scenario, cfg.Duration = trace, 100*time.Second+time.Nanosecond
	if _, err := sim.New(cfg); err != nil {
		t.Errorf("a run its first request arrives in: %v", err)
	}
}

// Scaling down drains: requests already on a replica finish there, and the
// GPU is held until they do.
func TestScaleDownDrainsInFlightRequests(t *testing.T) {
	r := run(t, func(c *sim.Config) {
		c.Scenario = "ramp:base=40,peak=40,jitter=0,duration=10m"
		c.Scaler = "fixed:1"
		c.InitialReplicas = 6
	})
	// 6 replicas at t=0; the first sync (67.5s, after a full rate window)
	// cuts to 1. The five removed replicas hold their GPUs while they drain
	// their in-flight requests, less than the 30s grace period each.
	lo, hi := (600+5*67.5)/3600, (600+5*(67.5+30))/3600
	if r.GPUHours <= lo || r.GPUHours >= hi {
		t.Errorf("GPU-hours %v: want in (%v, %v)", r.GPUHours, lo, hi)
	}
	if r.ScaleEvents != 1 {
		t.Errorf("scale events = %d, want 1", r.ScaleEvents)
	}
	if r.Failed == 0 {
		t.Error("one replica cannot serve 40 req/s: expected timeouts")
	}
}

func TestImageProfileServesDynamicBatches(t *testing.T) {
	r := run(t, func(c *sim.Config) {
		c.Profile, _ = workload.LookupProfile("image")
		c.Scenario = "periodic:duration=10m"
		c.Scaler = "fixed:12"
	})
	if r.Requests < 1e6 {
		t.Fatalf("only %d requests in 10 simulated minutes", r.Requests)
	}
	// Unloaded, a batch of one on an H100 takes (1.5+0.5)ms/2 = 1ms; under
	// load batches fill and wait, but the median stays well under the 100ms SLO.
	if r.P50 < 0.001 || r.P50 > 0.05 {
		t.Errorf("p50 = %vs, want within [1ms, 50ms]", r.P50)
	}
	if r.SLOAttainment < 0.99 {
		t.Errorf("SLO attainment %.4f with 12 replicas", r.SLOAttainment)
	}
}

func TestUnschedulablePodsStayPending(t *testing.T) {
	r := run(t, func(c *sim.Config) {
		c.Scaler = "fixed:40" // the default cluster has 36 GPUs
		c.MaxReplicas = 40
		c.Duration = 5 * time.Minute
	})
	if r.MaxPending != 4 {
		t.Errorf("max pending = %d, want 40 - 36 GPUs = 4", r.MaxPending)
	}
}

// Hand-computed with weights (6, 0.3, 0.6) and 20 max replicas. Misses
// count when they finish, so an interval in which a backlog drains
// prices more misses than arrived (sim.Reward says why).
func TestRewardPricesEachTerm(t *testing.T) {
	w := sim.RewardWeights{SLO: 6, Cost: 0.3, Churn: 0.6}
	tests := []struct {
		name                 string
		arrivals, violations int64
		meanGPUs             float64
		change               int32
		want                 float64
	}{
		// 6*5/100 + 0.3*8/20 + 0.6*2/20
		{"every term", 100, 5, 8, 2, -(0.3 + 0.12 + 0.06)},
		{"scale-down churns like scale-up", 100, 0, 0, -4, -0.12},
		{"backlog drains", 20, 50, 0, 0, -15},
		{"nothing arrived", 0, 3, 0, 0, -18},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := sim.Reward(w, tc.arrivals, tc.violations, tc.meanGPUs, tc.change, 20)
			if math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("Reward = %v, want %v", got, tc.want)
			}
		})
	}
}

// Pods the cluster cannot place cost GPU-hours in the reward, not in the
// result: 40 replicas on 36 GPUs serve like 36 and are charged 4 more
// GPUs per interval, 0.3 (cost weight) * 4 / 40 (max replicas) = 0.03.
func TestUnplacedPodsCostInReward(t *testing.T) {
	fixed := func(n string) sim.Result {
		return run(t, func(c *sim.Config) {
			c.Scaler = "fixed:" + n
			c.MaxReplicas = 40
			c.Duration = 10 * time.Minute
		})
	}
	placed, over := fixed("36"), fixed("40")
	if over.GPUHours != placed.GPUHours || over.SLOAttainment != placed.SLOAttainment {
		t.Fatalf("40 replicas on 36 GPUs: GPU-h %v, SLO %v; 36 replicas: %v, %v (want equal)",
			over.GPUHours, over.SLOAttainment, placed.GPUHours, placed.SLOAttainment)
	}
	if diff := placed.Reward - over.Reward; math.Abs(diff-0.03) > 1e-9 {
		t.Errorf("reward difference = %.6f, want 0.03", diff)
	}
}

func TestBadConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*sim.Config)
		want   string
	}{
		{"unknown scaler", func(c *sim.Config) { c.Scaler = "magic" }, `unknown scaler "magic"`},
		{"unknown pattern", func(c *sim.Config) { c.Scenario = "tsunami" }, `unknown pattern "tsunami"`},
		{"missing trace", func(c *sim.Config) { c.Scenario = "/nonexistent/trace.csv" }, "reading trace"},
		{"bounds", func(c *sim.Config) { c.MinReplicas = 5; c.MaxReplicas = 2 }, "min replicas (5) <= max replicas (2)"},
		{"balancer", func(c *sim.Config) { c.Balancer = "round-robin" }, `unknown balancer "round-robin"`},
		{"reward weight", func(c *sim.Config) { c.Reward.SLO = math.NaN() }, "reward weights must be finite and >= 0"},
		{"schedule on ramp", func(c *sim.Config) { c.Scenario = "ramp"; c.Scaler = "schedule:high=7" }, "no jumps to schedule"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := sim.DefaultConfig()
			tc.mutate(&cfg)
			_, err := sim.New(cfg)
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// costedFirstFit places like FirstFit and annotates pods with a
// pod-deletion-cost per node, as kis-scheduler's PostBind does.
type costedFirstFit struct {
	sim.Scheduler
	costs []int32
}

func (c costedFirstFit) DeletionCost(node int) int32 { return c.costs[node] }

// A scale-down from 4 H100 replicas and 1 L4 replica to 4 deletes the L4
// one when the pods carry deletion costs (H100 200, L4 15), and an H100 one
// (the node holding the most replicas) when they carry none: the L4 then
// serves its share of requests seven times slower.
func TestScaleDownHonoursDeletionCost(t *testing.T) {
	spec, err := cluster.Parse("mixed.yaml", []byte(`
nodePools:
- {name: h100, count: 1, gpuProduct: NVIDIA-H100-80GB-HBM3, gpusPerNode: 4, cpu: 96, memoryGiB: 1024}
- {name: l4, count: 1, gpuProduct: NVIDIA-L4, gpusPerNode: 1, cpu: 48, memoryGiB: 192}
startup: {imagePullMBps: 150, remoteLoadMBps: 180, localLoadMBps: 900}
`))
	if err != nil {
		t.Fatal(err)
	}
	scaleDown := func(ignoreCost bool) sim.Result {
		return run(t, func(c *sim.Config) {
			c.Cluster = spec
			c.Scenario = "ramp:base=3,peak=3,jitter=0,duration=30m"
			c.Scaler = "fixed:4"
			c.InitialReplicas = 5
			c.IgnoreDeletionCost = ignoreCost
			c.NewScheduler = func(nodes []*sim.Node, _ *workload.Profile, _ clock.PassiveClock) (sim.Scheduler, error) {
				return costedFirstFit{Scheduler: sim.FirstFit{}, costs: []int32{200, 15}}, nil
			}
		})
	}
	costed, ignored := scaleDown(false), scaleDown(true)
	t.Logf("SLO attainment: %.4f with deletion costs, %.4f without", costed.SLOAttainment, ignored.SLOAttainment)
	// Both start with the L4 replica serving until the first sync; after
	// it, only the run without costs keeps missing.
	if costed.SLOAttainment < 0.998 {
		t.Errorf("with deletion costs: SLO attainment %.4f, want >= 0.998 (four H100 replicas left)", costed.SLOAttainment)
	}
	if ignored.SLOAttainment > 0.99 {
		t.Errorf("without deletion costs: SLO attainment %.4f, want < 0.99 (the L4 replica kept)", ignored.SLOAttainment)
	}
}

// Every request is judged: those in flight at the end are served for one
// more SLO, and only those still unfinished then have missed it. The run is
// charged for the scenario's time alone.
func TestRequestsInFlightAtTheEndAreServedBeforeJudging(t *testing.T) {
	cut := func(scaler string) sim.Result {
		return run(t, func(c *sim.Config) {
			c.Scaler = scaler
			c.Scenario = "ramp"
			c.Duration = 20 * time.Minute
		})
	}
	// Eight H100 replicas serve the ramp with room to spare: the requests
	// that arrived in the last seconds finish within the SLO too.
	ample := cut("fixed:8")
	if ample.Unfinished != 0 || ample.SLOMet != ample.Requests {
		t.Errorf("fixed:8: %d of %d requests met the SLO, %d unfinished; want all met", ample.SLOMet, ample.Requests, ample.Unfinished)
	}
	// One replica falls behind: its backlog outlasts the drain.
	behind := cut("fixed:1")
	if behind.Unfinished == 0 || behind.Completed+behind.Failed+behind.Unfinished != behind.Requests {
		t.Errorf("fixed:1: %d requests = %d completed + %d failed + %d unfinished? want a backlog left",
			behind.Requests, behind.Completed, behind.Failed, behind.Unfinished)
	}
	for _, r := range []sim.Result{ample, behind} {
		if r.SimSeconds != 1200 {
			t.Errorf("%s: sim seconds %v, want the scenario's 1200", r.Scaler, r.SimSeconds)
		}
	}
	if want := 8.0 / 3; abs(ample.GPUHours-want) > 1e-9 {
		t.Errorf("fixed:8 GPU-hours %v over 20 minutes, want %v (the drain is not charged)", ample.GPUHours, want)
	}
}

// A least-outstanding balancer gives a slow replica as many requests in
// flight as a fast one, and they take longer there: two A100 replicas
// beside eight H100 ones push the ramp's long generations over the SLO. A
// balancer that weighs replicas by GPU speed keeps them under it; with
// equal GPUs the two are the same.
func TestWeightedBalancerSparesTheSlowReplicas(t *testing.T) {
	ramp := func(b sim.Balancer, mutate func(*sim.Config)) sim.Result {
		return run(t, func(c *sim.Config) {
			c.Scenario, c.Scaler, c.Seed, c.Balancer = "ramp", "fixed:10", 5, b
			mutate(c)
		})
	}
	mixed := func(*sim.Config) {}
	least, weighted := ramp(sim.LeastOutstanding, mixed), ramp(sim.WeightedLeastOutstanding, mixed)
	overLeast, overWeighted := least.Requests-least.SLOMet, weighted.Requests-weighted.SLOMet
	t.Logf("8 H100 + 2 A100 replicas: %d requests over the SLO least-outstanding, %d weighted", overLeast, overWeighted)
	if overLeast < 50 || overWeighted*10 > overLeast {
		t.Errorf("requests over the SLO: least-outstanding %d, weighted %d; want >= 50 and at most a tenth of it", overLeast, overWeighted)
	}
	h100s, err := cluster.Parse("h100.yaml", []byte(`
nodePools:
- {name: h100, count: 3, gpuProduct: NVIDIA-H100-80GB-HBM3, gpusPerNode: 4, cpu: 96, memoryGiB: 1024}
startup: {imagePullMBps: 150, remoteLoadMBps: 180, localLoadMBps: 900}
`))
	if err != nil {
		t.Fatal(err)
	}
	same := func(c *sim.Config) { c.Cluster = h100s }
	if a, b := ramp(sim.LeastOutstanding, same), ramp(sim.WeightedLeastOutstanding, same); a.SLOMet != b.SLOMet || a.P99 != b.P99 {
		t.Errorf("equal GPUs: least-outstanding met %d (p99 %v), weighted %d (p99 %v); want the same", a.SLOMet, a.P99, b.SLOMet, b.P99)
	}
}

// The series counts each interval's misses; the run's count adds those of
// the requests still in flight at the end.
func TestSeriesCountsMissesPerInterval(t *testing.T) {
	missed := func(r sim.Result) (inSeries, total int64) {
		for _, p := range r.Series {
			inSeries += p.OverSLO
		}
		return inSeries, r.Requests - r.SLOMet
	}
	// Two A100 replicas miss at the ramp's peak; at its low end the last
	// requests finish within the SLO.
	mixed := run(t, func(c *sim.Config) {
		c.Scenario, c.Scaler, c.Seed, c.RecordSeries = "ramp", "fixed:10", 5, true
	})
	if inSeries, total := missed(mixed); inSeries != total || total == 0 {
		t.Errorf("fixed:10: %d misses in the series, %d in the run; want the same, > 0", inSeries, total)
	}
	// One replica's backlog at the end of a cut ramp misses after the last
	// interval.
	behind := run(t, func(c *sim.Config) {
		c.Scenario, c.Scaler, c.Duration, c.RecordSeries = "ramp", "fixed:1", 20*time.Minute, true
	})
	if inSeries, total := missed(behind); !(inSeries > 0 && inSeries < total) {
		t.Errorf("fixed:1: %d misses in the series, %d in the run; want some in the series and more in the run", inSeries, total)
	}
}

// The series' intervals tile the run from time zero, so that a row's rate
// times its interval is the requests that arrived in it.
func TestSeriesIntervalsTileTheRun(t *testing.T) {
	r := run(t, func(c *sim.Config) { c.Scenario, c.Duration, c.RecordSeries = "spike", 20*time.Minute, true })
	var arrivals, start float64
	for i, p := range r.Series {
		if p.Interval <= 0 || math.Abs(start+p.Interval-p.T) > 1e-9 {
			t.Fatalf("row %d: interval %v s ending at %v s, want it to start where row %d ended (%v s)", i, p.Interval, p.T, i-1, start)
		}
		n := p.ArrivalRate * p.Interval
		if math.Abs(n-math.Round(n)) > 1e-6 {
			t.Fatalf("row %d: %v requests/s over %v s is %v requests, not a count", i, p.ArrivalRate, p.Interval, n)
		}
		arrivals += math.Round(n)
		start = p.T
	}
	// Those after the last sync are in no row.
	if !(arrivals > 0 && arrivals <= float64(r.Requests)) || r.Series[0].Interval <= r.Series[1].Interval {
		t.Errorf("%v arrivals in the series, %d in the run, first interval %v s; want 0 < series <= run and the first interval a full rate window, longer than the sync period", arrivals, r.Requests, r.Series[0].Interval)
	}
}

// The SLO guard bounds what a holding policy costs on a ramp it cannot
// serve with its opening fleet, and touches nothing while the SLO holds.
func TestSLOGuardBoundsAHoldingPolicy(t *testing.T) {
	_, model := ppotest.HoldingModel(t)
	ramp := func(guard bool) sim.Result {
		return run(t, func(c *sim.Config) {
			c.Scenario, c.Scaler, c.NoSLOGuard = "ramp", "kis:"+model, !guard
		})
	}
	held, guarded := ramp(false), ramp(true)
	overHeld, overGuarded := held.Requests-held.SLOMet, guarded.Requests-guarded.SLOMet
	t.Logf("ramp, a policy that holds: %d requests over the SLO at %.2f GPU-h without the guard, %d at %.2f with it",
		overHeld, held.GPUHours, overGuarded, guarded.GPUHours)
	if held.ScaleEvents != 0 || held.SLOAttainment > 0.5 {
		t.Fatalf("without the guard: %d scale events, %.3f SLO attainment; want it to hold and fail", held.ScaleEvents, held.SLOAttainment)
	}
	// The guard reacts once the p95 is over the SLO, so each step of the
	// ramp still costs a cold start's misses.
	if held.GuardRaises != 0 || guarded.GuardRaises == 0 {
		t.Errorf("guard raises: %d without the guard, %d with it; want none and some", held.GuardRaises, guarded.GuardRaises)
	}
	if guarded.ScaleEvents == 0 || overGuarded*5 > overHeld {
		t.Errorf("with the guard: %d scale events, %d requests over the SLO; want it to scale and miss at most a fifth of %d", guarded.ScaleEvents, overGuarded, overHeld)
	}
	// On a fleet that serves the load the guard never fires.
	calm := func(guard bool) sim.Result {
		return run(t, func(c *sim.Config) {
			c.Scenario, c.Scaler, c.NoSLOGuard, c.InitialReplicas = "ramp", "kis:"+model, !guard, 8
		})
	}
	if a, b := calm(false), calm(true); a.SLOMet != b.SLOMet || a.GPUHours != b.GPUHours || b.ScaleEvents != 0 || b.GuardRaises != 0 {
		t.Errorf("8 Ready replicas: guard off met %d at %v GPU-h, on %d at %v with %d scale events and %d guard raises; want the same and none",
			a.SLOMet, a.GPUHours, b.SLOMet, b.GPUHours, b.ScaleEvents, b.GuardRaises)
	}
}

// With startup.keepFetched a node that ran a replica starts the next one
// from its disk. On nodes that cache nothing, every replica the oracle
// starts on periodic traffic otherwise pulls the 8 GiB image at 150 MB/s
// and downloads the 16 GiB weights at 180 MB/s: 1 s scheduling + 57.27 s
// + 3 s container start + 95.44 s + 64 s engine start = 220.71 s. Keeping
// them, the node of the replicas Ready at time zero holds both, and every
// replica placed there after (first-fit fills it first) skips the pull
// and loads at 900 MB/s: 87.09 s.
func TestKeepFetchedShortensLaterColdStarts(t *testing.T) {
	const spec = `
nodePools:
- {name: a100, count: 2, gpuProduct: NVIDIA-A100-SXM4-80GB, gpusPerNode: 8, cpu: 192, memoryGiB: 2048}
startup: {schedulingDelay: 1s, containerStart: 3s, imagePullMBps: 150, remoteLoadMBps: 180, localLoadMBps: 900}
`
	coldStarts := func(keep bool) sim.Result {
		c, err := cluster.Parse("test.yaml", []byte(spec))
		if err != nil {
			t.Fatal(err)
		}
		c.Startup.KeepFetched = keep
		return run(t, func(cfg *sim.Config) {
			cfg.Cluster, cfg.Scaler, cfg.Scenario, cfg.MaxReplicas = c, "oracle", "periodic", 8
		})
	}
	fetching, keeping := coldStarts(false), coldStarts(true)
	full := 1 + 8*(1<<30)/150e6 + 3 + 16*(1<<30)/180e6 + 64
	if math.Abs(fetching.MeanColdStart-full) > 1e-6 {
		t.Errorf("without keepFetched the mean cold start is %.2f s, want every one %.2f s", fetching.MeanColdStart, full)
	}
	if fromDisk := 1 + 3 + 16*(1<<30)/900e6 + 64; math.Abs(keeping.MeanColdStart-fromDisk) > 1e-6 {
		t.Errorf("with keepFetched the mean cold start is %.2f s, want every one %.2f s", keeping.MeanColdStart, fromDisk)
	}
	if fetching.Requests != keeping.Requests {
		t.Errorf("arrivals differ (%d against %d): the traffic must not depend on the cluster", fetching.Requests, keeping.Requests)
	}
}
