// Package controlplane starts a real Kubernetes control plane (etcd and
// kube-apiserver, optionally kube-controller-manager) on loopback for
// integration tests, from the binaries hack/build-control-plane.sh caches,
// and stops every process it started by PID.
package controlplane
