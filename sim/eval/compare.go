package eval

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kisproject/kis/sim/autoscale"
)

// HPASweep are the HPA settings a comparison tunes over: GPU utilisation
// targets, as users set them on DCGM metrics, queue targets on vLLM's
// waiting-requests gauge, and HPAs on both, which scale to the larger
// proposal: the queue's target then catches the saturation a GPU target
// near 100% cannot see, and the pair serves more requests than either alone.
var HPASweep = []string{
	"hpa:gpu=50", "hpa:gpu=60", "hpa:gpu=70", "hpa:gpu=80", "hpa:gpu=90", "hpa:gpu=95",
	"hpa:queue=1", "hpa:queue=2", "hpa:queue=3", "hpa:queue=5", "hpa:queue=8",
	"hpa:gpu=60,queue=3", "hpa:gpu=60,queue=5", "hpa:gpu=60,queue=8",
	"hpa:gpu=70,queue=3", "hpa:gpu=70,queue=5", "hpa:gpu=70,queue=8",
	"hpa:gpu=80,queue=3", "hpa:gpu=80,queue=5", "hpa:gpu=80,queue=8",
	"hpa:gpu=90,queue=3", "hpa:gpu=90,queue=5", "hpa:gpu=90,queue=8",
	"hpa:gpu=95,queue=3", "hpa:gpu=95,queue=5", "hpa:gpu=95,queue=8",
}

// PredictiveSweep are the predictive scaler's settings a comparison tunes
// over, by the tuned HPA's rule: the replicas it provisions for its
// forecast, scaled (its capacity per replica is the reference GPU's, as the
// oracle's is), and how long it keeps its highest recommendation. A
// forecast is a scaler's other causal way to act ahead of the load, so it
// is tuned as the HPA is, not left at one setting.
var PredictiveSweep = predictiveSweep()

func predictiveSweep() []string {
	var sweep []string
	for _, headroom := range []float64{0.7, 0.75, 0.8, 0.9, 1, 1.2, 1.5, 2, 3} {
		for _, stabilize := range []time.Duration{time.Minute, 3 * time.Minute, 10 * time.Minute} {
			if headroom == autoscale.PredictiveHeadroom && stabilize == autoscale.PredictiveStabilizing {
				sweep = append(sweep, "predictive")
				continue
			}
			sweep = append(sweep, fmt.Sprintf("predictive:headroom=%g,stabilize=%dm", headroom, int(stabilize.Minutes())))
		}
	}
	return sweep
}

// OracleSweep are the oracle settings a comparison matches KIScaler's SLO
// attainment with. The oracle's capacity per replica is the reference
// GPU's, so its default headroom of 1 is an arbitrary point: on faster
// GPUs it over-provisions, and past the fast GPUs it adds slow replicas
// that lengthen the tail.
var OracleSweep = []string{
	"oracle:headroom=0.5", "oracle:headroom=0.6", "oracle:headroom=0.7", "oracle:headroom=0.8", "oracle:headroom=0.9",
	"oracle", "oracle:headroom=1.15", "oracle:headroom=1.3", "oracle:headroom=1.5",
}

// Goals of KIScaler against the tuned HPA and the oracle, per scenario.
const (
	CostRatioToHPA    = 0.8
	CostRatioToOracle = 1.15
	// TunedSLO is the attainment a tuned HPA must reach to be picked on cost.
	TunedSLO = 0.99
)

// Comparison is one scenario's verdict.
type Comparison struct {
	Scenario string
	KIS      Row
	// TunedHPA is the HPA setting with the fewest GPU-hours among those
	// reaching TunedSLO, or the highest attainment if none does.
	TunedHPA Row
	// TunedPredictive is the predictive setting chosen as TunedHPA is;
	// MatchedPredictive the one chosen as Oracle is, for context.
	TunedPredictive, MatchedPredictive Row
	// Oracle is the oracle setting with the fewest GPU-hours among those
	// reaching KIScaler's attainment ("at equal SLO attainment"), or the
	// highest attainment if none does.
	Oracle Row
	// Others are the remaining baselines and settings, for context.
	Others []Row

	SLOMet    bool // KIS attainment >= the tuned HPA's
	CostMet   bool // KIS GPU-hours <= CostRatioToHPA x the tuned HPA's
	OracleMet bool // KIS GPU-hours <= CostRatioToOracle x the matched oracle's
	// The HPA's two goals, held against the tuned predictive scaler.
	SLOMetPredictive  bool
	CostMetPredictive bool
}

// Compare groups matrix rows by scenario. kis names KIScaler's rows; rows
// whose scaler is in HPASweep compete for the tuned HPA, rows in
// PredictiveSweep for the tuned and the matched predictive scaler, rows in
// OracleSweep for the matched oracle; the rest, and the settings not
// chosen, are context.
func Compare(rows []Row, kis string) ([]Comparison, error) {
	hpas, predictives, oracles := set(HPASweep), set(PredictiveSweep), set(OracleSweep)
	type sweeps struct{ hpa, predictive, oracle []Row }
	var out []Comparison
	var swept []sweeps
	index := map[string]int{}
	for _, r := range rows {
		i, ok := index[r.Scenario]
		if !ok {
			i = len(out)
			index[r.Scenario] = i
			out = append(out, Comparison{Scenario: r.Scenario})
			swept = append(swept, sweeps{})
		}
		// Matching needs KIScaler's row, which may come later: the sweeps
		// are judged once every row is in.
		switch {
		case r.Scaler == kis:
			out[i].KIS = r
		case hpas[r.Scaler]:
			swept[i].hpa = append(swept[i].hpa, r)
		case predictives[r.Scaler]:
			swept[i].predictive = append(swept[i].predictive, r)
		case oracles[r.Scaler]:
			swept[i].oracle = append(swept[i].oracle, r)
		default:
			out[i].Others = append(out[i].Others, r)
		}
	}
	for i := range out {
		c, sw := &out[i], swept[i]
		if c.KIS.Scaler == "" || len(sw.hpa) == 0 || len(sw.predictive) == 0 || len(sw.oracle) == 0 {
			return nil, fmt.Errorf("scenario %s: need rows for %s and at least one setting each of the oracle, the HPA and the predictive scaler", c.Scenario, kis)
		}
		c.TunedHPA = cheapest(sw.hpa, TunedSLO)
		c.TunedPredictive = cheapest(sw.predictive, TunedSLO)
		c.MatchedPredictive = cheapest(sw.predictive, c.KIS.SLOAttainment)
		c.Oracle = cheapest(sw.oracle, c.KIS.SLOAttainment)
		chosen := set([]string{c.TunedHPA.Scaler, c.TunedPredictive.Scaler, c.MatchedPredictive.Scaler, c.Oracle.Scaler})
		for _, r := range slices.Concat(sw.hpa, sw.predictive, sw.oracle) {
			if !chosen[r.Scaler] {
				c.Others = append(c.Others, r)
			}
		}
		c.SLOMet = c.KIS.SLOAttainment >= c.TunedHPA.SLOAttainment
		c.CostMet = c.KIS.GPUHours <= CostRatioToHPA*c.TunedHPA.GPUHours
		c.OracleMet = c.KIS.GPUHours <= CostRatioToOracle*c.Oracle.GPUHours
		c.SLOMetPredictive = c.KIS.SLOAttainment >= c.TunedPredictive.SLOAttainment
		c.CostMetPredictive = c.KIS.GPUHours <= CostRatioToHPA*c.TunedPredictive.GPUHours
	}
	return out, nil
}

// cheapest is the row of rows with the fewest GPU-hours among those
// reaching slo, or the highest attainment if none does (the cheaper of a
// tie; the first of an exact one).
func cheapest(rows []Row, slo float64) Row {
	var best Row
	for _, r := range rows {
		if cheapestReaching(r, best, slo) {
			best = r
		}
	}
	return best
}

func set(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// cheapestReaching reports whether row a beats b when the cheapest row
// reaching slo wins, or, if neither reaches it, the higher attainment (the
// cheaper on a tie).
func cheapestReaching(a, b Row, slo float64) bool {
	if b.Scaler == "" {
		return true
	}
	aOK, bOK := a.SLOAttainment >= slo, b.SLOAttainment >= slo
	switch {
	case aOK && bOK:
		return a.GPUHours < b.GPUHours
	case aOK != bOK:
		return aOK
	case a.SLOAttainment != b.SLOAttainment:
		return a.SLOAttainment > b.SLOAttainment
	default:
		return a.GPUHours < b.GPUHours
	}
}

// WriteMarkdown renders the comparison: a verdict table, then every row.
// runs is how many seeds each row pools (see Pool).
func WriteMarkdown(w io.Writer, cmps []Comparison, command string, runs int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Generated by:\n\n```sh\n%s\n```\n\n", command)
	if runs > 1 {
		fmt.Fprintf(&b, "Every row pools %d runs with consecutive seeds: SLO attainment over all their requests; "+
			"GPU-hours, replicas, scale events and reward per run (means); requests over the SLO and failures summed; p95 the worst run's.\n\n", runs)
	}
	b.WriteString("| scenario | KIS SLO % | KIS over SLO | KIS GPU-h | tuned HPA | HPA SLO % | HPA over SLO | HPA GPU-h | KIS/HPA GPU-h | matched oracle | oracle SLO % | oracle GPU-h | KIS/oracle GPU-h | SLO >= HPA | GPU-h <= 0.8x HPA | GPU-h <= 1.15x oracle |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	mark := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**not met**"
	}
	for _, c := range cmps {
		fmt.Fprintf(&b, "| %s | %.2f | %d | %.2f | `%s` | %.2f | %d | %.2f | %.2f | `%s` | %.2f | %.2f | %.2f | %s | %s | %s |\n",
			c.Scenario, 100*c.KIS.SLOAttainment, c.KIS.OverSLO, c.KIS.GPUHours,
			c.TunedHPA.Scaler, 100*c.TunedHPA.SLOAttainment, c.TunedHPA.OverSLO, c.TunedHPA.GPUHours,
			c.KIS.GPUHours/c.TunedHPA.GPUHours,
			c.Oracle.Scaler, 100*c.Oracle.SLOAttainment, c.Oracle.GPUHours, c.KIS.GPUHours/c.Oracle.GPUHours,
			mark(c.SLOMet), mark(c.CostMet), mark(c.OracleMet))
	}
	b.WriteString("\nAgainst the tuned predictive scaler (chosen as the tuned HPA is, among its headroom and stabilisation settings), held to the HPA's two goals; and, for context, the cheapest predictive setting that reaches KIScaler's attainment (chosen as the matched oracle is):\n\n")
	b.WriteString("| scenario | KIS SLO % | KIS over SLO | KIS GPU-h | tuned predictive | predictive SLO % | predictive over SLO | predictive GPU-h | KIS/predictive GPU-h | SLO >= predictive | GPU-h <= 0.8x predictive | predictive at KIS's SLO % | its SLO % | its over SLO | its GPU-h | KIS/its GPU-h |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range cmps {
		p, m := c.TunedPredictive, c.MatchedPredictive
		fmt.Fprintf(&b, "| %s | %.2f | %d | %.2f | `%s` | %.2f | %d | %.2f | %.2f | %s | %s | `%s` | %.2f | %d | %.2f | %.2f |\n",
			c.Scenario, 100*c.KIS.SLOAttainment, c.KIS.OverSLO, c.KIS.GPUHours,
			p.Scaler, 100*p.SLOAttainment, p.OverSLO, p.GPUHours, c.KIS.GPUHours/p.GPUHours,
			mark(c.SLOMetPredictive), mark(c.CostMetPredictive),
			m.Scaler, 100*m.SLOAttainment, m.OverSLO, m.GPUHours, c.KIS.GPUHours/m.GPUHours)
	}
	b.WriteString("\nEvery run:\n\n| scenario | scaler | p95 ms | SLO % | over SLO | failed | GPU-h | replicas | scale events | reward |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range cmps {
		// A setting chosen twice (the tuned predictive scaler may also be
		// the matched one) is one run: list it once.
		listed := map[string]bool{}
		for _, r := range slices.Concat([]Row{c.KIS, c.TunedHPA, c.TunedPredictive, c.MatchedPredictive, c.Oracle}, c.Others) {
			if listed[r.Scaler] {
				continue
			}
			listed[r.Scaler] = true
			fmt.Fprintf(&b, "| %s | `%s` | %s | %.2f | %d | %d | %.2f | %.2f | %d | %.4f |\n",
				r.Scenario, r.Scaler, fmtOptional(r.P95ms), 100*r.SLOAttainment, r.OverSLO, r.Failed, r.GPUHours, r.MeanReplicas, r.ScaleEvents, r.Reward)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Pool combines the matrices of the same scenarios and scalers run with
// different seeds, row by row, into one row per scenario and scaler: SLO
// attainment over all their requests, counts summed, the mean cold start
// over all their cold starts, GPU-hours, replicas, scale events and reward
// averaged per run, and the latency percentiles of the worst run
// (percentiles do not pool).
func Pool(runs [][]Row) ([]Row, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("pool: no runs")
	}
	out := make([]Row, len(runs[0]))
	for i, first := range runs[0] {
		p := Row{Scenario: first.Scenario, Scaler: first.Scaler}
		var met int64
		var scaleEvents, coldStartSeconds float64
		for k, rows := range runs {
			if len(rows) != len(out) || rows[i].Scenario != first.Scenario || rows[i].Scaler != first.Scaler {
				return nil, fmt.Errorf("pool: run %d does not match run 0 at %s x %s", k, first.Scenario, first.Scaler)
			}
			r := rows[i]
			p.Requests += r.Requests
			p.Completed += r.Completed
			p.Failed += r.Failed
			p.Unfinished += r.Unfinished
			p.OverSLO += r.OverSLO
			met += r.Result.SLOMet
			p.P50ms, p.P95ms, p.P99ms = worse(p.P50ms, r.P50ms), worse(p.P95ms, r.P95ms), worse(p.P99ms, r.P99ms)
			p.GPUHours += r.GPUHours
			p.MeanReplicas += r.MeanReplicas
			scaleEvents += float64(r.ScaleEvents)
			p.MaxPending = max(p.MaxPending, r.MaxPending)
			p.CrashLooping += r.CrashLooping
			if r.MeanColdStart != nil {
				coldStartSeconds += *r.MeanColdStart * float64(r.ColdStarts)
			}
			p.ColdStarts += r.ColdStarts
			p.Reward += r.Reward
			p.SimSeconds += r.SimSeconds
			p.WallSeconds += r.WallSeconds
		}
		n := float64(len(runs))
		if p.Requests > 0 {
			p.SLOAttainment = float64(met) / float64(p.Requests)
		}
		p.GPUHours /= n
		p.MeanReplicas /= n
		p.ScaleEvents = int(math.Round(scaleEvents / n))
		if p.ColdStarts > 0 {
			p.MeanColdStart = optional(coldStartSeconds / float64(p.ColdStarts))
		}
		p.Reward /= n
		out[i] = p
	}
	return out, nil
}

// worse is the higher of two latencies; nil (no value) loses to any value.
func worse(a, b *float64) *float64 {
	if a == nil || (b != nil && *b > *a) {
		return b
	}
	return a
}
