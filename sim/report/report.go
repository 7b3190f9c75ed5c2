package report

import (
	"encoding/csv"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/kisproject/kis/sim"
)

// SeriesHeader is the CSV header of WriteSeriesCSV.
var SeriesHeader = []string{"t_seconds", "interval_seconds", "arrival_rate", "true_rate", "spec_replicas", "ready_replicas", "gpus", "p95_seconds", "observed_p95_seconds", "over_slo", "reward"}

// WriteSeriesCSV writes one row per sync, for the interval it ends. A p95
// over no requests is NaN, as curve.csv writes a validation that did not
// run: 0 would read as fast when nothing finished.
func WriteSeriesCSV(w io.Writer, series []sim.Point) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(SeriesHeader); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
	for _, p := range series {
		rec := []string{f(p.T), f(p.Interval), f(p.ArrivalRate), f(p.TrueRate), f(p.Spec), f(p.Ready), f(p.GPUs), f(p.P95), f(p.ObservedP95), strconv.FormatInt(p.OverSLO, 10), f(p.Reward)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteRun writes series.csv and timeline.svg for one run into dir.
func WriteRun(dir string, r sim.Result, sloSeconds float64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating output directory: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, "series.csv"))
	if err != nil {
		return err
	}
	if err := WriteSeriesCSV(f, r.Series); err != nil {
		f.Close()
		return fmt.Errorf("writing series.csv: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return writeTimeline(filepath.Join(dir, "timeline.svg"), r, sloSeconds)
}

// writeTimeline stacks three plots sharing the time axis: load, replicas,
// and p95 latency against the SLO.
func writeTimeline(path string, r sim.Result, sloSeconds float64) error {
	minutes := func(get func(sim.Point) float64) plotter.XYs {
		xy := make(plotter.XYs, len(r.Series))
		for i, p := range r.Series {
			xy[i].X, xy[i].Y = p.T/60, get(p)
		}
		return xy
	}
	title := fmt.Sprintf("%s x %s", r.Scenario, r.Scaler)
	load := newPlot(title, "requests/s")
	if err := addLines(load,
		line{"arrivals", minutes(func(p sim.Point) float64 { return p.ArrivalRate }), color.RGBA{B: 200, A: 255}, false},
		line{"intensity", minutes(func(p sim.Point) float64 { return p.TrueRate }), color.RGBA{R: 120, G: 120, B: 120, A: 255}, true},
	); err != nil {
		return err
	}
	reps := newPlot("", "replicas")
	if err := addLines(reps,
		line{"desired", minutes(func(p sim.Point) float64 { return p.Spec }), color.RGBA{R: 200, A: 255}, true},
		line{"ready", minutes(func(p sim.Point) float64 { return p.Ready }), color.RGBA{G: 140, A: 255}, false},
		line{"GPUs held", minutes(func(p sim.Point) float64 { return p.GPUs }), color.RGBA{R: 160, B: 160, A: 255}, false},
	); err != nil {
		return err
	}
	lat := newPlot("", "p95 latency (s)")
	lat.X.Label.Text = "time (min)"
	slo := make(plotter.XYs, 0, 2)
	if len(r.Series) > 0 {
		slo = append(slo, plotter.XY{X: 0, Y: sloSeconds}, plotter.XY{X: r.Series[len(r.Series)-1].T / 60, Y: sloSeconds})
	}
	if err := addLines(lat,
		line{"p95", minutes(func(p sim.Point) float64 { return p.P95 }), color.RGBA{B: 200, A: 255}, false},
		line{"SLO", slo, color.RGBA{R: 200, A: 255}, true},
	); err != nil {
		return err
	}

	// One time axis for all three, or plot.Align picks different ticks.
	end := 0.0
	if len(r.Series) > 0 {
		end = r.Series[len(r.Series)-1].T / 60
	}
	for _, p := range []*plot.Plot{load, reps, lat} {
		p.X.Min, p.X.Max = 0, end
	}

	const width, rowHeight = 22 * vg.Centimeter, 7 * vg.Centimeter
	canvas := vgsvg.New(width, 3*rowHeight)
	dc := draw.New(canvas)
	plots := [][]*plot.Plot{{load}, {reps}, {lat}}
	tiles := draw.Tiles{Rows: 3, Cols: 1, PadY: vg.Millimeter}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := canvas.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

type line struct {
	name   string
	xy     plotter.XYs
	color  color.Color
	dashed bool
}

func newPlot(title, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p
}

// addLines draws each line, broken where its Y is NaN (an interval
// without a value), and names it once in the legend.
func addLines(p *plot.Plot, lines ...line) error {
	for _, l := range lines {
		for i, segment := range segments(l.xy) {
			pl, err := plotter.NewLine(segment)
			if err != nil {
				return fmt.Errorf("plotting %s: %w", l.name, err)
			}
			pl.Color = l.color
			if l.dashed {
				pl.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			p.Add(pl)
			if i == 0 {
				p.Legend.Add(l.name, pl)
			}
		}
	}
	return nil
}

// segments splits xy at its NaN Ys into the runs between them.
func segments(xy plotter.XYs) []plotter.XYs {
	var out []plotter.XYs
	start := 0
	for i := 0; i <= len(xy); i++ {
		if i < len(xy) && !math.IsNaN(xy[i].Y) {
			continue
		}
		if i > start {
			out = append(out, xy[start:i])
		}
		start = i + 1
	}
	return out
}

// WriteCurve plots a learning curve: mean episode reward per iteration and
// its moving average.
func WriteCurve(path string, iterations, reward, movingAvg []float64) error {
	p := plot.New()
	p.Title.Text = "KIScaler training"
	p.X.Label.Text = "iteration"
	p.Y.Label.Text = "mean episode reward"
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	xy := func(ys []float64) plotter.XYs {
		out := make(plotter.XYs, len(ys))
		for i := range ys {
			out[i].X, out[i].Y = iterations[i], ys[i]
		}
		return out
	}
	if err := addLines(p,
		line{"mean reward", xy(reward), color.RGBA{B: 200, A: 255}, false},
		line{"moving average (10)", xy(movingAvg), color.RGBA{R: 200, A: 255}, true},
	); err != nil {
		return err
	}
	return p.Save(18*vg.Centimeter, 10*vg.Centimeter, path)
}
