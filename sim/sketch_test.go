package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSketchQuantilesWithinStatedError(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := newSketch()
	var exact []float64
	for range 100000 {
		v := math.Exp(rng.NormFloat64()) // log-normal around 1s
		s.add(v)
		exact = append(exact, v)
	}
	slices.Sort(exact)
	for _, q := range []float64{0.5, 0.95, 0.99} {
		want := exact[int(math.Ceil(q*float64(len(exact))))-1]
		got := s.quantile(q)
		if rel := math.Abs(got-want) / want; rel > sketchAlpha+1e-12 {
			t.Errorf("q%.2f = %v, exact %v: relative error %.4f > %.4f", q, got, want, rel, sketchAlpha)
		}
	}
	if !math.IsNaN(newSketch().quantile(0.5)) {
		t.Error("empty sketch quantile is not NaN")
	}
}
