// Package e2e runs KIS end to end on a real control plane (make e2e): the
// stock HPA in kube-controller-manager follows kis_desired_replicas from
// kis-adapter, kis-scheduler binds the replicas to KWOK GPU nodes, and
// `kis-sim live` serves simulated traffic on them for a real Prometheus.
package e2e
