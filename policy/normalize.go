package policy

import (
	"fmt"
	"math"
)

// Normalizer standardises features with running statistics (Welford's
// algorithm), so that rates in the hundreds and utilisations in [0, 100]
// reach the network on the same scale. Its statistics are part of a
// trained model.
type Normalizer struct {
	Count float64   `json:"count"`
	Mean  []float64 `json:"mean"`
	// M2 is the sum of squared deviations from the mean.
	M2 []float64 `json:"m2"`
	// Clip bounds the standardised values, so an outlier cannot saturate
	// the network.
	Clip float64 `json:"clip"`
}

// NewNormalizer returns an empty normaliser for n features.
func NewNormalizer(n int, clip float64) *Normalizer {
	return &Normalizer{Mean: make([]float64, n), M2: make([]float64, n), Clip: clip}
}

// Observe adds one feature vector to the statistics.
func (z *Normalizer) Observe(x []float64) {
	z.Count++
	for i, v := range x {
		d := v - z.Mean[i]
		z.Mean[i] += d / z.Count
		z.M2[i] += d * (v - z.Mean[i])
	}
}

// Std is feature i's standard deviation, at least 1e-6 so constant
// features do not divide by zero.
func (z *Normalizer) Std(i int) float64 {
	if z.Count < 2 {
		return 1
	}
	return math.Max(math.Sqrt(z.M2[i]/(z.Count-1)), 1e-6)
}

// Apply writes the standardised x into dst (len(dst) == len(x)).
func (z *Normalizer) Apply(dst, x []float64) {
	for i, v := range x {
		s := (v - z.Mean[i]) / z.Std(i)
		dst[i] = math.Max(-z.Clip, math.Min(z.Clip, s))
	}
}

// Invert maps a standardised vector back (unclipped values only).
func (z *Normalizer) Invert(dst, s []float64) {
	for i, v := range s {
		dst[i] = v*z.Std(i) + z.Mean[i]
	}
}

func (z *Normalizer) validate(n int) error {
	if len(z.Mean) != n || len(z.M2) != n {
		return fmt.Errorf("normalizer has %d means and %d variances for %d features", len(z.Mean), len(z.M2), n)
	}
	if !(z.Count >= 0) || !(z.Clip > 0) {
		return fmt.Errorf("normalizer: count %v must be >= 0 and clip %v > 0", z.Count, z.Clip)
	}
	for i := range z.Mean {
		if !finite(z.Mean[i]) || !finite(z.M2[i]) || z.M2[i] < 0 {
			return fmt.Errorf("normalizer: feature %d has mean %v, m2 %v", i, z.Mean[i], z.M2[i])
		}
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
