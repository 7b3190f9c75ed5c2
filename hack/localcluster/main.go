// Command localcluster is `make cluster-up`: it starts KIS on a real control
// plane on loopback (internal/localcluster, what `make e2e` runs against),
// leaves it running, and prints how to use it. `make cluster-down` stops
// every process it started, by PID.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/kisproject/kis/internal/localcluster"
	"github.com/kisproject/kis/sim/cluster"
)

// cliTB is controlplane.TB for a command: a fatal error stops what was
// started and exits; on success the processes keep running.
type cliTB struct {
	dir      string
	n        int
	cleanups []func()
}

func (t *cliTB) Helper()                        {}
func (t *cliTB) Logf(format string, a ...any)   { fmt.Fprintf(os.Stderr, format+"\n", a...) }
func (t *cliTB) Fatal(a ...any)                 { t.fail(fmt.Sprint(a...)) }
func (t *cliTB) Fatalf(format string, a ...any) { t.fail(fmt.Sprintf(format, a...)) }
func (t *cliTB) Cleanup(f func())               { t.cleanups = append(t.cleanups, f) }

func (t *cliTB) TempDir() string {
	t.n++
	d := filepath.Join(t.dir, strconv.Itoa(t.n))
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.fail(err.Error())
	}
	return d
}

func (t *cliTB) fail(msg string) {
	fmt.Fprintln(os.Stderr, "cluster-up:", msg)
	for _, f := range slices.Backward(t.cleanups) {
		f()
	}
	os.Exit(1)
}

func main() {
	dir := flag.String("dir", "", "directory for certificates, data, logs and PID files (required)")
	spec := flag.String("cluster", "test/e2e/testdata/cluster.yaml", "KISim cluster spec of the KWOK GPU nodes")
	hpaSync := flag.Duration("hpa-sync", 15*time.Second, "kube-controller-manager --horizontal-pod-autoscaler-sync-period")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "cluster-up: --dir is required")
		os.Exit(2)
	}
	nodes, err := cluster.Load(*spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster-up:", err)
		os.Exit(2)
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster-up:", err)
		os.Exit(2)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster-up:", err)
		os.Exit(1)
	}
	simAddr := l.Addr().String()
	l.Close()

	t := &cliTB{dir: abs}
	c := localcluster.Up(t, localcluster.Options{
		Nodes: nodes, SimAddress: simAddr, HPASync: *hpaSync, AdapterInterval: 15 * time.Second,
		BinDir: t.TempDir(),
	})
	c.RegisterAdapter(t)
	kubeconfig := filepath.Join(abs, "kubeconfig")
	if err := os.Symlink(c.Kubeconfig, kubeconfig); err != nil {
		t.fail(err.Error())
	}
	fmt.Printf(`Local KIS cluster up (logs and PIDs in %s).
  export KUBECONFIG=%s
  Prometheus: %s
  kubectl apply -k manifests/examples     # the inference Deployment and its HPA
  %s live --kubeconfig $KUBECONFIG --deployment default/llm --cluster %s --listen-address %s
  make cluster-down CLUSTER_DIR=%s
`, abs, kubeconfig, c.Prometheus.URL, c.Bins["kis-sim"], *spec, simAddr, abs)
}
