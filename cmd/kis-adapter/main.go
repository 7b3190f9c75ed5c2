// Command kis-adapter is an external-metrics API server
// (external.metrics.k8s.io, registered as an APIService) that serves
// KIScaler's desired replica count for each configured workload, so the
// stock HorizontalPodAutoscaler does the scaling. It takes the usual
// aggregated-API-server flags (--secure-port, --cert-dir, --tls-*,
// --authentication-*, --authorization-*, --lister-kubeconfig) plus --config.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/scale"
	"k8s.io/component-base/logs"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	cmmetrics "sigs.k8s.io/custom-metrics-apiserver/pkg/apiserver/metrics"
	basecmd "sigs.k8s.io/custom-metrics-apiserver/pkg/cmd"

	"github.com/kisproject/kis/adapter"
)

// version is set at build time (make build, make images).
var version = "v0.0.0-dev"

type adapterCommand struct {
	basecmd.AdapterBase
	configPath string
}

func main() {
	logs.InitLogs()
	defer logs.FlushLogs()

	cmd := &adapterCommand{}
	cmd.Name = "kis-adapter"
	cmd.Flags().StringVar(&cmd.configPath, "config", "", "path of the adapter configuration file (targets, Prometheus, intervals); see docs/adapter.md")
	showVersion := cmd.Flags().Bool("version", false, "print the version and exit")
	logs.AddFlags(cmd.Flags())
	if err := cmd.Flags().Parse(os.Args[1:]); err != nil {
		klog.ErrorS(err, "Unable to parse flags")
		os.Exit(2)
	}
	// A flag written without its dashes would otherwise be dropped.
	if args := cmd.Flags().Args(); len(args) > 0 {
		klog.ErrorS(nil, "Unexpected arguments: every setting is a --flag", "args", args)
		os.Exit(2)
	}
	if *showVersion {
		fmt.Println("kis-adapter", version)
		return
	}
	ctx := genericapiserver.SetupSignalContext()
	if err := cmd.run(ctx); err != nil {
		klog.ErrorS(err, "kis-adapter failed")
		logs.FlushLogs()
		os.Exit(1)
	}
}

func (c *adapterCommand) run(ctx context.Context) error {
	logger := klog.FromContext(ctx)
	if c.configPath == "" {
		return fmt.Errorf("--config is required")
	}
	cfg, err := adapter.LoadConfig(c.configPath)
	if err != nil {
		return err
	}
	promClient, err := api.NewClient(api.Config{Address: cfg.Prometheus.URL})
	if err != nil {
		return fmt.Errorf("prometheus client for %s: %w", cfg.Prometheus.URL, err)
	}
	scales, err := c.scaleClient()
	if err != nil {
		return err
	}
	m := adapter.NewMetrics()
	if err := m.Register(legacyregistry.Register); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	if err := cmmetrics.RegisterMetrics(legacyregistry.Register); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	a, err := adapter.New(cfg, promv1.NewAPI(promClient), scales, clock.RealClock{}, m)
	if err != nil {
		return err
	}
	c.WithExternalMetrics(a.Provider())
	logger.Info("Starting kis-adapter", "version", version, "metric", cfg.MetricName, "targets", len(cfg.Targets), "prometheus", cfg.Prometheus.URL)

	// The reconcile loops stop with the server, also when it fails to start.
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(ctx)
	}()
	err = c.Run(ctx)
	cancel()
	<-done
	return err
}

func (c *adapterCommand) scaleClient() (adapter.ScaleClient, error) {
	restConfig, err := c.ClientConfig()
	if err != nil {
		return nil, err
	}
	mapper, err := c.RESTMapper()
	if err != nil {
		return nil, err
	}
	disco, err := c.DiscoveryClient()
	if err != nil {
		return nil, err
	}
	scales, err := scale.NewForConfig(restConfig, mapper, dynamic.LegacyAPIPathResolverFunc, scale.NewDiscoveryScaleKindResolver(disco))
	if err != nil {
		return nil, fmt.Errorf("scale client: %w", err)
	}
	return adapter.NewScaleClient(scales, mapper), nil
}
