package report

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotter"

	"github.com/kisproject/kis/sim"
)

var series = []sim.Point{
	{T: 67.5, Interval: 67.5, ArrivalRate: 10, TrueRate: 10.5, Spec: 2, Ready: 2, GPUs: 2, P95: 1.25, ObservedP95: 0, Reward: -0.03},
	{T: 82.5, Interval: 15, ArrivalRate: 12, TrueRate: 11, Spec: 3, Ready: 2, GPUs: 3, P95: 2.5, ObservedP95: 1.2, OverSLO: 4, Reward: -0.05},
	// Nothing finished: no p95, not a p95 of 0.
	{T: 97.5, Interval: 15, ArrivalRate: 12, TrueRate: 12, Spec: 3, Ready: 0, GPUs: 3, P95: math.NaN(), ObservedP95: 2.5, OverSLO: 0, Reward: -0.04},
	{T: 112.5, Interval: 15, ArrivalRate: 11, TrueRate: 12, Spec: 3, Ready: 3, GPUs: 3, P95: 12, ObservedP95: 2.5, OverSLO: 9, Reward: -0.2},
}

func TestWriteSeriesCSV(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSeriesCSV(&buf, series); err != nil {
		t.Fatal(err)
	}
	want := "t_seconds,interval_seconds,arrival_rate,true_rate,spec_replicas,ready_replicas,gpus,p95_seconds,observed_p95_seconds,over_slo,reward\n" +
		"67.5,67.5,10,10.5,2,2,2,1.25,0,0,-0.03\n" +
		"82.5,15,12,11,3,2,3,2.5,1.2,4,-0.05\n" +
		"97.5,15,12,12,3,0,3,NaN,2.5,0,-0.04\n" +
		"112.5,15,11,12,3,3,3,12,2.5,9,-0.2\n"
	if got := buf.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestWriteRunWritesCSVAndSVG(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := WriteRun(dir, sim.Result{Scenario: "spike", Scaler: "hpa", Series: series}, 10); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "timeline.svg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "spike x hpa", "p95 latency (s)", "replicas"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("timeline.svg lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "series.csv")); err != nil {
		t.Error(err)
	}
}

// A line breaks at each NaN: the runs between them are drawn, and the
// NaNs themselves, which the plotter refuses, are not.
func TestSegmentsSplitAtNaN(t *testing.T) {
	nan := math.NaN()
	xy := func(ys ...float64) plotter.XYs {
		out := make(plotter.XYs, len(ys))
		for i, y := range ys {
			out[i] = plotter.XY{X: float64(i), Y: y}
		}
		return out
	}
	for _, tc := range []struct {
		in   plotter.XYs
		want string
	}{
		{xy(1, 2, 3), "[[{0 1} {1 2} {2 3}]]"},
		{xy(nan, 1, nan, nan, 2, 3, nan), "[[{1 1}] [{4 2} {5 3}]]"},
		{xy(nan, nan), "[]"},
		{xy(), "[]"},
	} {
		if got := fmt.Sprint(segments(tc.in)); got != tc.want {
			t.Errorf("segments(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
