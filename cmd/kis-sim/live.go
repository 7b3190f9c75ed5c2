package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/kisproject/kis/sim"
)

func newLiveCommand() *cobra.Command {
	var (
		f          simFlags
		kubeconfig string
		deployment string
		scenario   string
		listen     string
		interval   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "live --kubeconfig FILE --deployment NAMESPACE/NAME",
		Short: "Serve simulated requests on a real Deployment's pods and expose their metrics for Prometheus",
		Long: `live is KISim as the data plane of a real control plane: it watches the
Deployment's pods (on fake GPU nodes, e.g. KWOK's, named as the cluster spec
names them: <pool>-<index>), starts a simulated serving replica when a pod
runs, loading the model from local disk if its node caches it, drains it
when the pod goes, and serves the scenario's requests on wall-clock time.
/metrics carries the serving engine's families per pod, DCGM exporter's per
GPU, kube-state-metrics' Deployment and pod phase series and
kis_model_cache_present, for Prometheus to scrape with honor_labels.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ns, name, ok := strings.Cut(deployment, "/")
			if !ok || ns == "" || name == "" {
				return fmt.Errorf("--deployment: want NAMESPACE/NAME, got %q", deployment)
			}
			// Checked here, or a name the API server cannot hold would read
			// as a Deployment that is not there.
			if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
				return fmt.Errorf("--deployment %q: namespace %q: %s", deployment, ns, strings.Join(msgs, "; "))
			}
			if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
				return fmt.Errorf("--deployment %q: name %q: %s", deployment, name, strings.Join(msgs, "; "))
			}
			if interval <= 0 {
				return fmt.Errorf("--sync-interval %v: want > 0", interval)
			}
			cfg, err := f.config(scenario)
			if err != nil {
				return err
			}
			cfg.Scenario = scenario
			restConfig, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return fmt.Errorf("--kubeconfig: %w", err)
			}
			client, err := kubernetes.NewForConfig(restConfig)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--listen-address: %w", err)
			}
			return runLive(cmd.Context(), client, cfg, ns, name, ln, interval)
		},
	}
	f.add(cmd.Flags())
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the cluster whose Deployment is served")
	cmd.Flags().StringVar(&deployment, "deployment", "", "the served Deployment, NAMESPACE/NAME")
	cmd.Flags().StringVar(&scenario, "scenario", "spike", "traffic: "+scenarioHelp)
	cmd.Flags().StringVar(&listen, "listen-address", "127.0.0.1:9500", "address of /metrics")
	cmd.Flags().DurationVar(&interval, "sync-interval", 200*time.Millisecond, "how often the pods are compared with the simulated replicas")
	return cmd
}

// runLive serves /metrics on ln, which it closes, until the scenario ends
// (nil) or ctx is done (its error).
func runLive(ctx context.Context, client kubernetes.Interface, cfg sim.Config, ns, name string, ln net.Listener, interval time.Duration) error {
	defer ln.Close()
	cfg.ScrapeInterval = time.Second
	// The real kis-scheduler places the pods.
	cfg.NewScheduler = nil
	logger := klog.FromContext(ctx).WithValues("deployment", ns+"/"+name)
	// First, so that a bad scenario or cluster spec is reported without a
	// round trip to the cluster; the scenario's time zero is now.
	live, err := sim.NewLive(cfg, ns, name, clock.RealClock{})
	if err != nil {
		return err
	}
	d, err := client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading the Deployment: %w", err)
	}
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return fmt.Errorf("the Deployment's selector: %w", err)
	}

	// The informers stop with the scenario, not only with the caller's
	// ctx: Shutdown waits for them, so cancel runs first.
	ctx, cancel := context.WithDeadline(ctx, live.End())
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(ns))
	pods := factory.Core().V1().Pods().Lister()
	deployments := factory.Apps().V1().Deployments().Lister()
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	defer cancel()
	for typ, synced := range factory.WaitForCacheSync(ctx.Done()) {
		if !synced {
			return fmt.Errorf("informer for %v did not sync", typ)
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(live)
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		// The listener is bound, so this is an accept failing: say so, or
		// the HPA would wait on metrics nobody serves without a word why.
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			logger.Error(err, "Serving metrics stopped")
		}
	}()
	defer srv.Close()
	logger.Info("Serving simulated traffic", "metrics", "http://"+ln.Addr().String()+"/metrics", "until", live.End().Format(time.RFC3339))

	tick := time.NewTicker(interval)
	defer tick.Stop()
	warned := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			req, done, failed, met := live.Stats()
			over := errors.Is(ctx.Err(), context.DeadlineExceeded)
			msg := "Scenario over"
			if !over {
				msg = "Scenario stopped before its end"
			}
			logger.Info(msg, "requests", req, "completed", done, "failed", failed, "sloMet", met)
			if over {
				return nil
			}
			return ctx.Err()
		case <-tick.C:
		}
		all, err := pods.List(selector)
		if err != nil {
			return err
		}
		spec := int32(0)
		if d, err := deployments.Deployments(ns).Get(name); err == nil && d.Spec.Replicas != nil {
			spec = *d.Spec.Replicas
		}
		for _, u := range live.Sync(livePods(all), spec) {
			if !warned[u] {
				warned[u] = true
				logger.Error(nil, "Pod on a node the cluster spec does not name; not simulated", "pod", u)
			}
		}
	}
}

// livePods are the pods the Service would route to once ready: deleted
// (terminating) pods are left out, so they drain.
func livePods(pods []*corev1.Pod) []sim.LivePod {
	out := make([]sim.LivePod, 0, len(pods))
	for _, p := range pods {
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		out = append(out, sim.LivePod{Name: p.Name, Node: p.Spec.NodeName, Running: p.Status.Phase == corev1.PodRunning})
	}
	return out
}
