// Package adapter serves KIScaler's desired replica count to the stock
// HorizontalPodAutoscaler as an external metric: a reconcile loop per target
// builds the policy's Observation from Prometheus through policy.FromSignals
// (the code KISim uses), decides, and caches the decision; the
// external.metrics.k8s.io provider answers from that cache.
package adapter
