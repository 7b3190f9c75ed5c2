package policy

// SLOGuard is a floor under a learned policy's decision: while the observed
// p95 latency is over the SLO and requests are waiting for a batch slot,
// the workload gets at least one replica more than it has Ready. Such a
// policy can hold in a state it rarely met in training, even one where the
// queue grows without bound; the guard bounds what such a decision costs
// without second-guessing the policy anywhere else. Counting from Ready
// replicas, not the spec, keeps it from piling up replicas that are
// already starting: the latency stays over the SLO until they serve.
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
	floor := min(int32(obs.Ready)+1, hi)
	if floor <= desired {
		return desired, false
	}
	return floor, true
}
