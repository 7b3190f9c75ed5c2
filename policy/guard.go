package policy

import "math"

// SLOGuard is a floor under a learned policy's decision: while the observed
// p95 latency is over the SLO and requests are waiting for a batch slot,
// the workload gets at least one replica more than it has Ready, and at
// least as many as it takes to serve the current rate and drain the queue
// within one SLO, at the rate the Ready replicas complete requests now.
// Such a policy can hold in a state it rarely met in training, even one
// where the queue grows without bound; the guard bounds what such a
// decision costs without second-guessing the policy anywhere else.
// Counting from Ready replicas, not the spec, keeps the first bound from
// piling up replicas that are already starting: the latency stays over
// the SLO until they serve. The second bound is for a cold start: one
// Ready replica facing a backlog of hundreds gets the replicas to drain
// it in one decision, not one more per cold start. It follows the queue,
// so under a burst that outlasts the cold start it keeps rising until
// the new replicas serve.
type SLOGuard struct {
	// SLOSeconds is the p95 latency objective; 0 turns the guard off.
	SLOSeconds float64
}

// Apply raises desired to the guard's floor, clamped to hi, and reports
// whether it did.
func (g SLOGuard) Apply(obs Observation, desired, hi int32) (int32, bool) {
	if !(g.SLOSeconds > 0 && obs.P95Latency > g.SLOSeconds && obs.Waiting > 0) {
		return desired, false
	}
	floor := math.Min(obs.Ready+1, float64(hi))
	if obs.Ready > 0 && obs.RequestRate > 0 {
		// The Ready replicas complete RequestRate between them; serving
		// that rate and the queue within one SLO takes
		// RequestRate + Waiting/SLOSeconds.
		drain := math.Ceil(obs.Ready * (1 + obs.Waiting/(obs.RequestRate*g.SLOSeconds)))
		floor = math.Min(math.Max(floor, drain), float64(hi))
	}
	if int32(floor) <= desired {
		return desired, false
	}
	return int32(floor), true
}
