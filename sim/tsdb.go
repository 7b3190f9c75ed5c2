package sim

import (
	"math"
	"time"

	"github.com/kisproject/kis/policy"
)

// sample is one scrape of the workload's series, already aggregated the
// way the queries behind policy.Signals aggregate them (sum over pods for
// counters and queue gauges, mean for GPU utilisation).
type sample struct {
	at      time.Duration
	success float64
	// buckets are the latency histogram's cumulative counts per upper bound
	// of the profile's MetricSet, then +Inf.
	buckets []float64
	waiting float64
	running float64
	gpuUtil float64
	ready   float64
	spec    float64
	pending float64
}

// tsdb keeps the recent scrapes: enough for every range the queries use.
type tsdb struct {
	samples []sample
	keep    int
}

func newTSDB(scrape time.Duration) *tsdb {
	// Two rate windows (the trend looks one window back) plus slack.
	return &tsdb{keep: int(2*policy.RateWindow/scrape) + 3}
}

func (db *tsdb) append(s sample) {
	if len(db.samples) == db.keep {
		// Reuse the oldest sample's bucket slice.
		old := db.samples[0].buckets
		copy(db.samples, db.samples[1:])
		db.samples = db.samples[:len(db.samples)-1]
		s.buckets = append(old[:0], s.buckets...)
	}
	db.samples = append(db.samples, s)
}

// window returns the first and last samples in (end-length, end].
func (db *tsdb) window(end, length time.Duration) (first, last *sample, ok bool) {
	for i := range db.samples {
		s := &db.samples[i]
		if s.at <= end-length || s.at > end {
			continue
		}
		if first == nil {
			first = s
		}
		last = s
	}
	return first, last, first != nil && last != first
}

// rate is the per-second increase of the success counter over the range,
// from the first to the last sample in it. Prometheus' rate() also
// extrapolates to the range's edges; with a counter this regular the
// difference is a constant factor of at most window/(window-scrape), which
// both sides of every comparison share.
func (db *tsdb) rate(end, length time.Duration) float64 {
	first, last, ok := db.window(end, length)
	if !ok {
		return 0
	}
	return (last.success - first.success) / (last.at - first.at).Seconds()
}

// quantile is histogram_quantile(q, increase(buckets[length])) in seconds,
// with Prometheus' bucketQuantile interpolation; NaN when nothing finished.
func (db *tsdb) quantile(q float64, end, length time.Duration, m *policy.MetricSet) float64 {
	first, last, ok := db.window(end, length)
	if !ok {
		return math.NaN()
	}
	n := len(last.buckets)
	total := last.buckets[n-1] - first.buckets[n-1]
	if total <= 0 {
		return math.NaN()
	}
	rank := q * total
	prev := 0.0
	for b := 0; b < n; b++ {
		cum := last.buckets[b] - first.buckets[b]
		if cum < rank {
			prev = cum
			continue
		}
		if b == n-1 {
			// In the +Inf bucket: the highest finite bound.
			return m.LatencyBuckets[n-2] * m.LatencyUnit
		}
		lo := 0.0
		if b > 0 {
			lo = m.LatencyBuckets[b-1]
		}
		hi := m.LatencyBuckets[b]
		inBucket := cum - prev
		return (lo + (hi-lo)*(rank-prev)/inBucket) * m.LatencyUnit
	}
	return math.NaN()
}

// latest is what an instant query of a gauge returns.
func (db *tsdb) latest() (sample, bool) {
	if len(db.samples) == 0 {
		return sample{}, false
	}
	return db.samples[len(db.samples)-1], true
}

// signals evaluates the query set at virtual time now.
func (db *tsdb) signals(now time.Duration, at time.Time, m *policy.MetricSet) policy.Signals {
	s := policy.Signals{At: at}
	s.RequestRate = db.rate(now, policy.RateWindow)
	s.RequestRatePrev = db.rate(now-policy.RateWindow, policy.RateWindow)
	s.P95LatencySeconds = db.quantile(0.95, now, policy.RateWindow, m)
	if l, ok := db.latest(); ok {
		s.Waiting, s.Running, s.GPUUtilPercent = l.waiting, l.running, l.gpuUtil
		s.ReadyReplicas, s.DesiredReplicas, s.PendingPods = l.ready, l.spec, l.pending
	}
	return s
}
