package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kisproject/kis/sim"
)

func TestRowWithoutCompletionsHasNullLatency(t *testing.T) {
	row := NewRow(sim.Result{Scenario: "../traces/t.csv", Scaler: "fixed:1", P50: math.NaN(), P95: math.NaN(), P99: math.NaN(), MeanColdStart: math.NaN()}, time.Second)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, []Row{row}); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got[0]["p95_ms"] != nil || got[0]["scenario"] != "t.csv" || got[0]["wall_seconds"] != 1.0 {
		t.Errorf("row = %v: want null p95_ms, the trace's base name and wall_seconds 1", got[0])
	}
	// A fleet that never started a replica has no cold start, not one of 0 s.
	if got[0]["mean_cold_start_s"] != nil || got[0]["cold_starts"] != 0.0 {
		t.Errorf("row = %v: want null mean_cold_start_s and 0 cold_starts", got[0])
	}
	for _, key := range []string{"scenario", "scaler", "requests", "failed", "p50_ms", "p95_ms", "p99_ms", "slo_attainment", "over_slo", "gpu_hours", "mean_replicas", "scale_events", "cold_starts", "mean_cold_start_s", "reward", "sim_seconds", "wall_seconds"} {
		if _, ok := got[0][key]; !ok {
			t.Errorf("JSON lacks the stable field %q", key)
		}
	}
	var table bytes.Buffer
	if err := WriteTable(&table, []Row{row}); err != nil {
		t.Fatal(err)
	}
	// p50, p95, p99 and the cold start.
	if n := strings.Count(table.String(), " - "); n != 4 {
		t.Errorf("table shows %d '-', want 4 (the latencies and the cold start):\n%s", n, table.String())
	}
}

func TestRowCountsRequestsOverTheSLO(t *testing.T) {
	// 1000 requests, 990 within the SLO: 10 over it, slow, failed or
	// unfinished.
	row := NewRow(sim.Result{Requests: 1000, Completed: 996, Failed: 3, Unfinished: 1, SLOMet: 990}, time.Second)
	if row.OverSLO != 10 {
		t.Errorf("over SLO = %d, want 10", row.OverSLO)
	}
}

func TestMatrixRejectsBadCellsBeforeRunning(t *testing.T) {
	_, err := Matrix(t.Context(), sim.DefaultConfig(), []string{"spike"}, []string{"hpa", "bogus"}, 2, nil)
	if err == nil || !strings.Contains(err.Error(), `spike x bogus: unknown scaler "bogus"`) {
		t.Fatalf("error = %v", err)
	}
}

func TestMatrixRejectsWhatWouldRunTwiceOrNotAtAll(t *testing.T) {
	for _, tc := range []struct {
		scenarios, scalers []string
		parallel           int
		want               string
	}{
		{[]string{"spike", "ramp", "spike"}, []string{"hpa"}, 2, `scenario "spike" is listed twice`},
		{[]string{"spike"}, []string{"fixed:2", "hpa", "fixed:2"}, 2, `scaler "fixed:2" is listed twice`},
		{[]string{"spike"}, []string{"hpa"}, 0, "parallel runs 0: want >= 1"},
		{nil, []string{"hpa"}, 2, "no scenarios to run"},
		{[]string{"spike", "", ""}, []string{"hpa"}, 2, "scenario 2 of 3 is empty"},
		{[]string{"spike"}, []string{"hpa", ""}, 2, "scaler 2 of 2 is empty"},
		{[]string{"spike"}, nil, 2, "no scalers to run"},
		// Rows name a trace by its file name.
		{[]string{"a/t.csv", "spike", "b/t.csv"}, []string{"hpa"}, 2, `scenarios "a/t.csv" and "b/t.csv" would both be named t.csv in the table`},
	} {
		if _, err := Matrix(t.Context(), sim.DefaultConfig(), tc.scenarios, tc.scalers, tc.parallel, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Matrix(%v, %v, %d) error = %v, want one containing %q", tc.scenarios, tc.scalers, tc.parallel, err, tc.want)
		}
	}
}

func TestMatrixOrdersRowsAndReportsProgress(t *testing.T) {
	base := sim.DefaultConfig()
	base.Duration = 5 * time.Minute
	var calls []int
	rows, err := Matrix(t.Context(), base, []string{"ramp", "spike"}, []string{"fixed:2", "fixed:4"}, 3, func(done, total int, _ Row) {
		if total != 4 {
			t.Errorf("total = %d, want 4", total)
		}
		calls = append(calls, done)
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Scenario+"/"+r.Scaler)
	}
	if want := "ramp/fixed:2 ramp/fixed:4 spike/fixed:2 spike/fixed:4"; strings.Join(got, " ") != want {
		t.Errorf("rows %v, want %s", got, want)
	}
	if len(calls) != 4 || calls[3] != 4 {
		t.Errorf("progress calls %v", calls)
	}
}

// Cancelling a matrix stops the runs in flight, not only those not yet
// started: one run can take minutes.
func TestMatrixStopsRunsInFlight(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	// The progress call of the short run says the long ones are in flight.
	result := make(chan error, 1)
	go func() {
		_, err := Matrix(ctx, sim.DefaultConfig(), []string{"ramp:peak=300,duration=720h", "spike:duration=1m"}, []string{"fixed:8"}, 2, func(int, int, Row) { cancel() })
		result <- err
	}()
	select {
	case err := <-result:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Matrix cancelled mid-run: %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Matrix still running a minute after its context ended; the run in flight takes minutes")
	}
}

// The cells of a matrix share one reading of each trace: a trace read
// from a pipe, which can be read only once, replays in every cell.
func TestMatrixReadsEachTraceOnce(t *testing.T) {
	pipe := filepath.Join(t.TempDir(), "trace.csv")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		// Blocks until the matrix opens the pipe; a second open would wait
		// for a writer forever.
		if err := os.WriteFile(pipe, []byte("t_seconds\n0\n10\n20\n30\n"), 0o600); err != nil {
			t.Error(err)
		}
	}()
	result := make(chan error, 1)
	var rows []Row
	go func() {
		var err error
		rows, err = Matrix(t.Context(), sim.DefaultConfig(), []string{pipe}, []string{"fixed:1", "fixed:2"}, 2, nil)
		result <- err
	}()
	select {
	case err := <-result:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Matrix still building a minute later: it opened the pipe twice")
	}
	for _, r := range rows {
		if r.Requests != 4 {
			t.Errorf("%s replayed %d requests, want the pipe's 4", r.Scaler, r.Requests)
		}
	}
}
