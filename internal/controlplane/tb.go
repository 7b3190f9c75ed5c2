package controlplane

// TB is the part of testing.TB the control plane needs. Tests pass their
// *testing.T; hack/localcluster passes a TB of its own, so `make
// cluster-up` starts exactly what the tests start.
type TB interface {
	Helper()
	Logf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	// Cleanup registers what to do at the end (stopping processes).
	Cleanup(func())
	TempDir() string
}
