package sim

import (
	"math"
	"testing"
	"time"

	"github.com/kisproject/kis/policy"
)

func TestTSDBRateAndQuantile(t *testing.T) {
	m := &policy.MetricSet{LatencyBuckets: []float64{1, 2, 4}, LatencyUnit: 1}
	db := newTSDB(15 * time.Second)
	// Counters at 0, 15, ..., 60s: 10 requests/s; every scrape adds 150
	// requests: 30 under 1s, 90 in (1,2], 30 in (2,4].
	for i := 0; i <= 4; i++ {
		k := float64(i)
		db.append(sample{at: time.Duration(i) * 15 * time.Second, success: 150 * k,
			buckets: []float64{30 * k, 120 * k, 150 * k, 150 * k}})
	}
	if got := db.rate(time.Minute, time.Minute); got != 10 {
		t.Errorf("rate = %v, want 10 (450 requests over the 45s between the samples at 15s and 60s)", got)
	}
	// Window (0s, 60s]: increase 450 = 90 + 270 + 90. p95 rank 427.5 lies
	// in (2,4], 427.5-360 = 67.5 of 90 into it: 2 + 2*0.75 = 3.5.
	if got := db.quantile(0.95, time.Minute, time.Minute, m); math.Abs(got-3.5) > 1e-12 {
		t.Errorf("p95 = %v, want 3.5", got)
	}
	// p50 rank 225 lies in (1,2]: 1 + (225-90)/270 = 1.5.
	if got := db.quantile(0.5, time.Minute, time.Minute, m); math.Abs(got-1.5) > 1e-12 {
		t.Errorf("p50 = %v, want 1.5", got)
	}
	if got := db.quantile(0.5, 10*time.Minute, time.Minute, m); !math.IsNaN(got) {
		t.Errorf("quantile of an empty window = %v, want NaN", got)
	}
}
