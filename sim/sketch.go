package sim

import "math"

// sketch is a log-bucketed histogram of latencies with a relative error of
// at most sketchAlpha on every quantile (the DDSketch construction): value
// x lands in bucket ceil(log_gamma(x)), and the bucket is reported as
// 2*gamma^i/(gamma+1), which is within alpha of every value it holds.
type sketch struct {
	counts []uint64
	n      uint64
}

const (
	sketchGamma = 1.02
	sketchAlpha = (sketchGamma - 1) / (sketchGamma + 1) // 0.99%
	// Latencies below sketchMin seconds share the first bucket.
	sketchMin = 1e-6
	// 1e-6 s .. 1e6 s.
	sketchBuckets = 2800
)

var sketchLogGamma = math.Log(sketchGamma)

func newSketch() *sketch { return &sketch{counts: make([]uint64, sketchBuckets)} }

func (s *sketch) add(seconds float64) {
	i := 0
	if seconds > sketchMin {
		i = int(math.Ceil(math.Log(seconds/sketchMin) / sketchLogGamma))
		i = min(i, sketchBuckets-1)
	}
	s.counts[i]++
	s.n++
}

// quantile returns the q-quantile (0 < q <= 1) in seconds, NaN when empty.
func (s *sketch) quantile(q float64) float64 {
	if s.n == 0 {
		return math.NaN()
	}
	rank := uint64(math.Ceil(q * float64(s.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range s.counts {
		seen += c
		if seen >= rank {
			if i == 0 {
				return sketchMin
			}
			return sketchMin * 2 * math.Pow(sketchGamma, float64(i)) / (sketchGamma + 1)
		}
	}
	return math.NaN()
}

func (s *sketch) reset() {
	clear(s.counts)
	s.n = 0
}
