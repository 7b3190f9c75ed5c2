// Package policy holds the contract between the places that observe a
// workload and the autoscalers that act on it: the metric families both
// sides read, the Signals a Prometheus query set produces, and the
// Observation built from them. KISim and kis-adapter both build observations
// through FromSignals, so a policy sees the same features in both places.
package policy
