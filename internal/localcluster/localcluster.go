// Package localcluster brings up KIS on a real control plane on loopback:
// etcd, kube-apiserver, kube-controller-manager (the stock HPA), KWOK with
// fake GPU nodes from a KISim cluster spec, kis-scheduler, Prometheus and
// kis-adapter registered as the external metrics APIService. The e2e test
// and `make cluster-up` both use it, so they start the same thing.
package localcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/yaml"

	"github.com/kisproject/kis/adapter"
	"github.com/kisproject/kis/internal/controlplane"
	schedulermanifests "github.com/kisproject/kis/manifests/scheduler"
	"github.com/kisproject/kis/sim"
	"github.com/kisproject/kis/sim/cluster"
	"github.com/kisproject/kis/sim/kubesched"
	"github.com/kisproject/kis/sim/workload"
)

// Options shape the cluster.
type Options struct {
	// Nodes are created as KWOK nodes named as KISim names them.
	Nodes *cluster.Spec
	// SimAddress is where `kis-sim live` serves /metrics (host:port); the
	// Prometheus scrapes it every second.
	SimAddress string
	// HPASync is the controller-manager's HPA sync period; AdapterInterval
	// the adapter's reconcile interval.
	HPASync, AdapterInterval time.Duration
	// BinDir receives the project's binaries (kis-scheduler, kis-adapter,
	// kis-sim), built from this checkout.
	BinDir string
}

// Cluster is a running local cluster.
type Cluster struct {
	*controlplane.ControlPlane
	Prometheus *controlplane.Prometheus
	AdapterURL string
	// AdapterConfig is the configuration kis-adapter runs with.
	AdapterConfig *adapter.Config
	// Bins are the built binaries by name.
	Bins map[string]string

	adapterPort int
}

// Up starts everything and creates the nodes; RegisterAdapter then puts
// the adapter behind the APIService. Each process is stopped by PID in t's
// cleanup.
func Up(t controlplane.TB, o Options) *Cluster {
	t.Helper()
	ctx := context.Background()
	cp := controlplane.Start(t)
	c := &Cluster{ControlPlane: cp, Bins: map[string]string{}}
	for _, pkg := range []string{"./cmd/kis-scheduler", "./cmd/kis-adapter", "./cmd/kis-sim"} {
		c.Bins[filepath.Base(pkg)] = controlplane.BuildBinary(t, o.BinDir, pkg)
	}
	cp.StartControllerManager(t, o.HPASync)
	cp.StartKWOK(t)
	c.Prometheus = controlplane.StartPrometheus(t, cp.Processes, cp.Dir, time.Second, o.SimAddress)
	cp.StartScheduler(t, c.Bins["kis-scheduler"], schedulermanifests.Config, c.Prometheus.URL)

	c.AdapterConfig = adapterConfig(t, c.Prometheus.URL, o.AdapterInterval)
	data, err := yaml.Marshal(c.AdapterConfig)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(cp.Dir, "kis-adapter.yaml")
	if err := os.WriteFile(cfgPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c.AdapterURL, c.adapterPort = cp.StartAdapter(t, c.Bins["kis-adapter"], cfgPath)
	CreateNodes(ctx, t, cp, o.Nodes)
	return c
}

// RegisterAdapter makes the loopback kis-adapter the cluster's
// external.metrics.k8s.io. It is separate from Up so that the manifests,
// which register the in-cluster adapter under the same APIService name, can
// be dry-run against the API server first.
func (c *Cluster) RegisterAdapter(t controlplane.TB) {
	t.Helper()
	c.RegisterExternalMetrics(context.Background(), t, c.adapterPort)
}

// adapterConfig is manifests/adapter/config.yaml pointed at this
// Prometheus, reconciling every interval.
func adapterConfig(t controlplane.TB, promURL string, interval time.Duration) *adapter.Config {
	t.Helper()
	root, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := adapter.LoadConfig(filepath.Join(root, "manifests", "adapter", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Prometheus.URL = promURL
	cfg.Interval = metav1.Duration{Duration: interval}
	cfg.Prometheus.Timeout = metav1.Duration{Duration: min(cfg.Prometheus.Timeout.Duration, interval/2)}
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatal(errs.ToAggregate())
	}
	return cfg
}

// CreateNodes creates spec's nodes as KWOK-managed Nodes with the labels
// and capacity KISim gives them (kubesched.KubeNode: GPU feature discovery
// labels, nvidia.com/gpu, cached images).
func CreateNodes(ctx context.Context, t controlplane.TB, cp *controlplane.ControlPlane, spec *cluster.Spec) {
	t.Helper()
	prof, err := workload.LookupProfile("llm")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range sim.NodesOf(spec) {
		node := kubesched.KubeNode(n, &prof)
		node.Annotations = map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"}
		status := node.Status
		created, err := cp.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating node %s: %v", n.Name, err)
		}
		// Capacity and images; KWOK's node-initialize stage adds the Ready
		// condition and node info (it only acts on nodes not yet Ready).
		created.Status = status
		created.Status.Conditions = nil
		if _, err := cp.Client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("node %s status: %v", n.Name, err)
		}
		// Admission taints a new node not-ready; the node lifecycle
		// controller that lifts it is not running (KWOK keeps the nodes
		// Ready instead, and writes them meanwhile: retry on conflict).
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := cp.Client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.Spec.Taints = nil
			_, err = cp.Client.CoreV1().Nodes().Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatalf("node %s taints: %v", n.Name, err)
		}
	}
	cp.WaitFor(t, "KWOK to report the nodes Ready", 30*time.Second, func() error {
		nodes, err := cp.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, n := range nodes.Items {
			if n.Status.NodeInfo.KubeletVersion == "" {
				return fmt.Errorf("node %s not initialised by KWOK yet", n.Name)
			}
		}
		return nil
	})
}
