// Package integration holds tests against a real control plane, built and
// started by internal/controlplane. They run with `make integration-test`
// (go test -tags integration), which CI runs.
package integration
