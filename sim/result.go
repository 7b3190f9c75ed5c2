package sim

// Result is the outcome of one run. Latencies are in seconds, of completed
// requests, including those the drain after the end completed (see
// Simulation.Run); failed requests and those unfinished after the drain
// count against SLOAttainment.
type Result struct {
	Scenario string
	Scaler   string

	Requests   int64
	Completed  int64
	Failed     int64
	Unfinished int64
	SLOMet     int64

	P50, P95, P99 float64
	SLOAttainment float64
	GPUHours      float64
	MeanReplicas  float64
	ScaleEvents   int
	// GuardRaises counts the decisions the SLO guard raised (KIScaler).
	GuardRaises int
	Reward      float64
	SimSeconds  float64
	// MaxPending is the most pods Pending at one scrape (no node fitted or
	// still starting).
	MaxPending int
	// CrashLooping counts pods placed on a GPU too small for the model.
	CrashLooping int
	// ColdStarts counts the replicas that came up during the run, and
	// MeanColdStart is their mean time from pod creation to Ready, in
	// seconds (NaN if none did).
	ColdStarts    int
	MeanColdStart float64

	Series []Point

	rewardSum float64
	rewardN   int
}

// Point is the state at one sync, for time-series output.
type Point struct {
	T float64 // seconds, at the interval's end
	// Interval is the interval's length in seconds: the sync period, but
	// the first runs from time zero to the first sync, after a full rate
	// window. ArrivalRate x Interval is the interval's arrivals.
	Interval    float64
	ArrivalRate float64 // arrivals/s in the interval
	TrueRate    float64 // the scenario's intensity
	Spec        float64
	Ready       float64
	GPUs        float64
	P95         float64 // of requests completed in the interval, seconds; NaN if none did
	ObservedP95 float64 // what the autoscaler saw (histogram_quantile, lagged)
	// OverSLO counts the requests that finished over the SLO or failed in
	// the interval (those still in flight at the end are counted after it).
	OverSLO int64
	Reward  float64
}
