package eval

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kisproject/kis/sim/autoscale"
)

func row(scenario, scaler string, slo, gpuh float64) Row {
	return Row{Scenario: scenario, Scaler: scaler, SLOAttainment: slo, GPUHours: gpuh}
}

func TestCompareTunesTheBaselinesAndMatchesTheOracle(t *testing.T) {
	rows := []Row{
		// Oracle rows before KIScaler's: matching must wait for it.
		row("spike", "oracle", 0.999, 5.5),
		row("spike", "oracle:headroom=0.8", 0.996, 5.3),
		// Cheapest, but below KIScaler's attainment: not a match.
		row("spike", "oracle:headroom=0.6", 0.99, 3),
		row("spike", "kis", 0.995, 6),
		// Both reach 99%: the cheaper one is the tuned HPA.
		row("spike", "hpa:gpu=60", 0.999, 18),
		row("spike", "hpa:gpu=90", 0.992, 9),
		// Cheaper still, but below 99%: not eligible.
		row("spike", "hpa:queue=5", 0.90, 4),
		// The predictive scaler by the HPA's rule: 0.98 misses 99%, so the
		// cheapest of the two that reach it.
		row("spike", "predictive", 0.98, 7),
		row("spike", "predictive:headroom=1.5,stabilize=10m", 0.999, 12),
		row("spike", "predictive:headroom=1.2,stabilize=3m", 0.994, 10),
		// No setting reaches 99%: the highest attainment wins.
		row("ramp", "kis", 0.97, 5.5),
		row("ramp", "hpa:gpu=60", 0.95, 12),
		row("ramp", "hpa:queue=1", 0.96, 14),
		// No oracle reaches KIScaler's 97%: the highest attainment, the
		// cheaper of a tie.
		row("ramp", "oracle", 0.96, 4),
		row("ramp", "oracle:headroom=1.5", 0.965, 6),
		row("ramp", "oracle:headroom=1.3", 0.965, 4.5),
		// Above KIScaler's attainment and cheaper than it: neither of its
		// goals is met.
		row("ramp", "predictive:headroom=0.7,stabilize=1m", 0.975, 5),
		// Not in the sweep: context, whatever it scores.
		row("ramp", "predictive:headroom=0.65,stabilize=1m", 0.999, 1),
	}
	cmps, err := Compare(rows, "kis")
	if err != nil {
		t.Fatal(err)
	}
	spike, ramp := cmps[0], cmps[1]
	if spike.TunedHPA.Scaler != "hpa:gpu=90" || ramp.TunedHPA.Scaler != "hpa:queue=1" {
		t.Fatalf("tuned HPA: spike %s, ramp %s; want hpa:gpu=90 and hpa:queue=1", spike.TunedHPA.Scaler, ramp.TunedHPA.Scaler)
	}
	if spike.Oracle.Scaler != "oracle:headroom=0.8" || ramp.Oracle.Scaler != "oracle:headroom=1.3" {
		t.Fatalf("matched oracle: spike %s, ramp %s; want oracle:headroom=0.8 and oracle:headroom=1.3", spike.Oracle.Scaler, ramp.Oracle.Scaler)
	}
	// spike: 0.995 >= 0.992; 6 <= 0.8*9 = 7.2; 6 <= 1.15*5.3 = 6.095.
	if !spike.SLOMet || !spike.CostMet || !spike.OracleMet {
		t.Errorf("spike verdicts %v %v %v, want all met", spike.SLOMet, spike.CostMet, spike.OracleMet)
	}
	// ramp: 0.97 >= 0.96; 5.5 <= 11.2; 5.5 > 1.15*4.5 = 5.175.
	if !ramp.SLOMet || !ramp.CostMet || ramp.OracleMet {
		t.Errorf("ramp verdicts %v %v %v, want met, met, not met", ramp.SLOMet, ramp.CostMet, ramp.OracleMet)
	}
	if spike.TunedPredictive.Scaler != "predictive:headroom=1.2,stabilize=3m" || ramp.TunedPredictive.Scaler != "predictive:headroom=0.7,stabilize=1m" {
		t.Fatalf("tuned predictive: spike %s, ramp %s", spike.TunedPredictive.Scaler, ramp.TunedPredictive.Scaler)
	}
	// spike: 0.995 >= 0.994; 6 <= 0.8*10 = 8. ramp: 0.97 < 0.975; 5.5 > 0.8*5 = 4.
	if !spike.SLOMetPredictive || !spike.CostMetPredictive || ramp.SLOMetPredictive || ramp.CostMetPredictive {
		t.Errorf("predictive verdicts: spike %v %v, ramp %v %v; want met, met, not met, not met",
			spike.SLOMetPredictive, spike.CostMetPredictive, ramp.SLOMetPredictive, ramp.CostMetPredictive)
	}
	// At KIScaler's 99.5% on spike only 1.5/10m qualifies; on ramp the
	// tuned setting is also the matched one.
	if spike.MatchedPredictive.Scaler != "predictive:headroom=1.5,stabilize=10m" || ramp.MatchedPredictive.Scaler != "predictive:headroom=0.7,stabilize=1m" {
		t.Fatalf("matched predictive: spike %s, ramp %s", spike.MatchedPredictive.Scaler, ramp.MatchedPredictive.Scaler)
	}
	if len(spike.Others) != 5 {
		t.Errorf("spike context rows %d, want 5 (the other two HPAs, the predictive setting chosen for neither, two oracles)", len(spike.Others))
	}
	if len(ramp.Others) != 4 {
		t.Errorf("ramp context rows %d, want 4 (an HPA, two oracles, the predictive setting outside the sweep)", len(ramp.Others))
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, cmps, "kis-sim compare", 1); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| ramp | 97.00 | 0 | 5.50 | `hpa:queue=1` | 96.00 | 0 | 14.00 | 0.39 | `oracle:headroom=1.3` | 96.50 | 4.50 | 1.22 |") ||
		!strings.Contains(md.String(), "| ramp | 97.00 | 0 | 5.50 | `predictive:headroom=0.7,stabilize=1m` | 97.50 | 0 | 5.00 | 1.10 | **not met** | **not met** |") ||
		!strings.Contains(md.String(), "| spike | 99.50 | 0 | 6.00 | `predictive:headroom=1.2,stabilize=3m` | 99.40 | 0 | 10.00 | 0.60 | met | met | `predictive:headroom=1.5,stabilize=10m` | 99.90 | 0 | 12.00 | 0.50 |") ||
		strings.Count(md.String(), "| ramp | `predictive:headroom=0.7,stabilize=1m` |") != 1 {
		t.Errorf("markdown:\n%s", md.String())
	}
	for missing, rows := range map[string][]Row{
		"oracle":     {row("x", "kis", 1, 1), row("x", "hpa:gpu=60", 1, 2), row("x", "predictive", 1, 2)},
		"HPA":        {row("x", "kis", 1, 1), row("x", "oracle", 1, 2), row("x", "predictive", 1, 2)},
		"predictive": {row("x", "kis", 1, 1), row("x", "oracle", 1, 2), row("x", "hpa:gpu=60", 1, 2)},
	} {
		if _, err := Compare(rows, "kis"); err == nil {
			t.Errorf("a scenario without %s rows was accepted", missing)
		}
	}
}

func TestPoolWeighsAttainmentByRequests(t *testing.T) {
	p95 := func(v float64) *float64 { return &v }
	a := Row{Scenario: "spike", Scaler: "kis", Requests: 1000, OverSLO: 10, Failed: 1, GPUHours: 6, ScaleEvents: 3, Reward: -0.1, P95ms: p95(900)}
	a.Result.SLOMet = 990
	b := Row{Scenario: "spike", Scaler: "kis", Requests: 3000, OverSLO: 10, Failed: 2, GPUHours: 8, ScaleEvents: 4, Reward: -0.3, P95ms: p95(1200)}
	b.Result.SLOMet = 2990
	pooled, err := Pool([][]Row{{a}, {b}})
	if err != nil {
		t.Fatal(err)
	}
	got := pooled[0]
	// (990 + 2990) / 4000 = 0.995, not the mean of 0.99 and 0.99667.
	if got.Requests != 4000 || got.OverSLO != 20 || got.Failed != 3 || math.Abs(got.SLOAttainment-0.995) > 1e-12 {
		t.Errorf("requests %d over SLO %d failed %d attainment %v, want 4000, 20, 3, 0.995", got.Requests, got.OverSLO, got.Failed, got.SLOAttainment)
	}
	// Means per run; 3.5 scale events round to 4; the worse p95.
	if got.GPUHours != 7 || got.ScaleEvents != 4 || math.Abs(got.Reward+0.2) > 1e-12 || *got.P95ms != 1200 {
		t.Errorf("GPU-h %v events %d reward %v p95 %v, want 7, 4, -0.2, 1200", got.GPUHours, got.ScaleEvents, got.Reward, *got.P95ms)
	}
	// The mean over all cold starts: (2 x 90 + 6 x 130) / 8 = 120, where the
	// mean of the runs' means would give 110, and a run without any adds
	// none (it did not start replicas in 0 s).
	a.ColdStarts, a.MeanColdStart = 2, p95(90)
	b.ColdStarts, b.MeanColdStart = 6, p95(130)
	none := Row{Scenario: "spike", Scaler: "kis"}
	for _, tc := range []struct {
		runs [][]Row
		n    int
		mean string
		what string
	}{
		{[][]Row{{a}, {b}, {none}}, 8, "120", "two runs with cold starts and one without"},
		{[][]Row{{none}, {none}}, 0, "-", "runs without cold starts"},
	} {
		pooled, err := Pool(tc.runs)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmtOptional(pooled[0].MeanColdStart); pooled[0].ColdStarts != tc.n || got != tc.mean {
			t.Errorf("%s: %d cold starts, mean %s; want %d, %s", tc.what, pooled[0].ColdStarts, got, tc.n, tc.mean)
		}
	}
	b.Scaler = "hpa"
	if _, err := Pool([][]Row{{a}, {b}}); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("pooling different scalers: %v, want an error", err)
	}
	if _, err := Pool(nil); err == nil {
		t.Error("pooling nothing was accepted")
	}
}

// A sweep entry that does not parse would fail a comparison only when it
// runs, and a name listed twice would run twice.
func TestSweepsParseAndNameEachSettingOnce(t *testing.T) {
	env := autoscale.Env{
		MinReplicas: 1, MaxReplicas: 20, SyncPeriod: 15 * time.Second, Capacity: 8, MaxBatch: 16,
		Lead: 90 * time.Second, FutureRate: func(time.Duration) float64 { return 40 },
	}
	for _, sweep := range [][]string{HPASweep, PredictiveSweep, OracleSweep} {
		for _, spec := range sweep {
			if _, err := autoscale.Parse(spec, env); err != nil {
				t.Errorf("sweep entry: %v", err)
			}
		}
		if sorted := slices.Sorted(slices.Values(sweep)); len(slices.Compact(sorted)) != len(sweep) {
			t.Errorf("sweep %v names a setting twice", sweep)
		}
	}
}
