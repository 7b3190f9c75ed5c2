package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/kisproject/kis/internal/parallel"
	"github.com/kisproject/kis/internal/specparams"
	"github.com/kisproject/kis/sim"
)

// DefaultScalers are the baselines the default matrix compares.
var DefaultScalers = []string{"kis", "hpa", "hpa:gpu=90", "hpa:queue=5", "queue", "predictive", "fixed:4", "fixed:8", "oracle"}

// DefaultScenarios are the four synthetic patterns.
var DefaultScenarios = []string{"ramp", "periodic", "random", "spike"}

// Row is one cell of the matrix. The JSON names are a stable interface:
// scripts and docs/results.md read them.
type Row struct {
	Scenario      string   `json:"scenario"`
	Scaler        string   `json:"scaler"`
	Requests      int64    `json:"requests"`
	Completed     int64    `json:"completed"`
	Failed        int64    `json:"failed"`
	Unfinished    int64    `json:"unfinished"`
	P50ms         *float64 `json:"p50_ms"`
	P95ms         *float64 `json:"p95_ms"`
	P99ms         *float64 `json:"p99_ms"`
	SLOAttainment float64  `json:"slo_attainment"`
	OverSLO       int64    `json:"over_slo"` // requests slower than the SLO, failed or unfinished
	GPUHours      float64  `json:"gpu_hours"`
	MeanReplicas  float64  `json:"mean_replicas"`
	ScaleEvents   int      `json:"scale_events"`
	GuardRaises   int      `json:"slo_guard_raises"`
	MaxPending    int      `json:"max_pending_pods"`
	CrashLooping  int      `json:"crash_looping_pods"`
	ColdStarts    int      `json:"cold_starts"`
	MeanColdStart *float64 `json:"mean_cold_start_s"` // null without cold starts
	Reward        float64  `json:"reward"`
	SimSeconds    float64  `json:"sim_seconds"`
	WallSeconds   float64  `json:"wall_seconds"`

	// Result is the full outcome, for callers that write series.
	Result sim.Result `json:"-"`
}

// ms converts seconds to milliseconds; nil (JSON null) when there is no
// value, e.g. the latency of a run in which nothing completed.
func ms(seconds float64) *float64 { return optional(seconds * 1000) }

// optional is v, or nil (JSON null) for NaN, which stands for no value.
func optional(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

// NewRow summarises one result.
func NewRow(r sim.Result, wall time.Duration) Row {
	return Row{
		Scenario: ScenarioName(r.Scenario), Scaler: r.Scaler,
		Requests: r.Requests, Completed: r.Completed, Failed: r.Failed, Unfinished: r.Unfinished,
		P50ms: ms(r.P50), P95ms: ms(r.P95), P99ms: ms(r.P99),
		SLOAttainment: r.SLOAttainment, OverSLO: r.Requests - r.SLOMet, GPUHours: r.GPUHours, MeanReplicas: r.MeanReplicas,
		ScaleEvents: r.ScaleEvents, GuardRaises: r.GuardRaises, MaxPending: r.MaxPending, CrashLooping: r.CrashLooping,
		ColdStarts: r.ColdStarts, MeanColdStart: optional(r.MeanColdStart),
		Reward: r.Reward, SimSeconds: r.SimSeconds, WallSeconds: wall.Seconds(),
		Result: r,
	}
}

// ScenarioName is how rows name a scenario: a trace by its file name, a
// pattern by its spec.
func ScenarioName(scenario string) string {
	if sim.IsTrace(scenario) {
		return filepath.Base(scenario)
	}
	return scenario
}

// Run simulates base once with the given scenario and scaler, or stops
// with ctx's error.
func Run(ctx context.Context, base sim.Config, scenario, scaler string) (Row, error) {
	s, err := build(base, scenario, scaler)
	if err != nil {
		return Row{}, err
	}
	start := time.Now()
	res, err := s.Run(ctx)
	if err != nil {
		return Row{}, err
	}
	return NewRow(res, time.Since(start)), nil
}

func build(base sim.Config, scenario, scaler string) (*sim.Simulation, error) {
	cfg := base
	cfg.Scenario, cfg.Scaler = scenario, scaler
	s, err := sim.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s x %s: %w", scenario, scaler, err)
	}
	return s, nil
}

// Matrix runs every scenario with every scaler on up to workers
// goroutines (each run is independent and deterministic) and returns the
// rows in scenario-major order whatever order they finished in. progress,
// if not nil, is called after each run, from one goroutine at a time.
func Matrix(ctx context.Context, base sim.Config, scenarios, scalers []string, workers int, progress func(done, total int, row Row)) ([]Row, error) {
	if workers < 1 {
		return nil, fmt.Errorf("parallel runs %d: want >= 1", workers)
	}
	// A name listed twice would run twice, into two identical rows.
	for _, list := range []struct {
		what  string
		names []string
	}{{"scenario", scenarios}, {"scaler", scalers}} {
		if len(list.names) == 0 {
			return nil, fmt.Errorf("no %ss to run", list.what)
		}
		// A stray comma in a flag's list; two of them would read as a
		// name listed twice.
		if i := slices.Index(list.names, ""); i >= 0 {
			return nil, fmt.Errorf("%s %d of %d is empty", list.what, i+1, len(list.names))
		}
		if name, ok := specparams.Repeated(list.names); ok {
			return nil, fmt.Errorf("%s %q is listed twice", list.what, name)
		}
	}
	// Two traces with one file name would make rows no reader could tell
	// apart.
	named := map[string]string{}
	for _, sc := range scenarios {
		name := ScenarioName(sc)
		if other, taken := named[name]; taken {
			return nil, fmt.Errorf("scenarios %q and %q would both be named %s in the table; give one file another name", other, sc, name)
		}
		named[name] = sc
	}
	// Build every cell first, so that a bad scaler or scenario fails before
	// any simulation time is spent; the cells of a trace share one copy.
	if base.Traces == nil {
		base.Traces = sim.NewTraceCache()
	}
	var sims []*sim.Simulation
	for _, sc := range scenarios {
		for _, a := range scalers {
			s, err := build(base, sc, a)
			if err != nil {
				return nil, err
			}
			sims = append(sims, s)
		}
	}
	rows := make([]Row, len(sims))
	var mu sync.Mutex
	done := 0
	parallel.Each(ctx, len(sims), workers, func() func(int) {
		return func(i int) {
			start := time.Now()
			res, err := sims[i].Run(ctx)
			if err != nil {
				// Only ctx ends a run early, and Matrix returns its error.
				return
			}
			row := NewRow(res, time.Since(start))
			mu.Lock()
			defer mu.Unlock()
			rows[i] = row
			done++
			if progress != nil {
				progress(done, len(sims), row)
			}
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return rows, nil
}

// WriteJSON writes the rows as one JSON array.
func WriteJSON(w io.Writer, rows []Row) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

// WriteTable writes the rows as an aligned text table.
func WriteTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tscaler\tp50 ms\tp95 ms\tp99 ms\tSLO %\tover SLO\tfailed\tGPU-h\treplicas\tscale events\tcold start s\treward\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.2f\t%d\t%d\t%.2f\t%.2f\t%d\t%s\t%.4f\t\n",
			r.Scenario, r.Scaler, fmtOptional(r.P50ms), fmtOptional(r.P95ms), fmtOptional(r.P99ms),
			100*r.SLOAttainment, r.OverSLO, r.Failed, r.GPUHours, r.MeanReplicas, r.ScaleEvents, fmtOptional(r.MeanColdStart), r.Reward)
	}
	return tw.Flush()
}

// fmtOptional prints a value to the unit, or "-" for none.
func fmtOptional(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f", *v)
}
