package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	"k8s.io/utils/clock"

	"github.com/kisproject/kis/plugins/gpuaware"
	"github.com/kisproject/kis/plugins/gpuaware/telemetry"
)

// telemetryFlags configure the plugin's live GPU data.
type telemetryFlags struct {
	prometheusURL string
	interval      time.Duration
	timeout       time.Duration
	// source is set when the command runs, before the scheduler builds its
	// plugins; nil means no telemetry (load and locality score neutral).
	source *telemetry.Prometheus
}

// registryOptions register GPUAware with a factory that reads the
// telemetry source chosen by the flags.
func (t *telemetryFlags) registryOptions() []app.Option {
	factory := func(ctx context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
		if t.source == nil {
			return gpuaware.New(ctx, obj, h)
		}
		return gpuaware.NewFactory(t.source, clock.RealClock{})(ctx, obj, h)
	}
	return []app.Option{app.WithPlugin(gpuaware.Name, factory)}
}

func newCommand() *cobra.Command {
	t := &telemetryFlags{}
	cmd := app.NewSchedulerCommand(t.registryOptions()...)
	cmd.Use = "kis-scheduler"
	cmd.Short = "kube-scheduler with the GPUAware plugin, run as a secondary scheduler"
	fs := cmd.Flags()
	fs.StringVar(&t.prometheusURL, "gpu-telemetry-prometheus-url", "", "Prometheus holding DCGM exporter (or kis-gpu-exporter) series for the GPUAware plugin's load and model-cache scores; empty: score those neutrally")
	fs.DurationVar(&t.interval, "gpu-telemetry-interval", 15*time.Second, "how often the GPU telemetry cache is refreshed from Prometheus")
	fs.DurationVar(&t.timeout, "gpu-telemetry-timeout", 5*time.Second, "timeout of one telemetry refresh")

	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if t.prometheusURL != "" {
			if t.interval <= 0 || t.timeout <= 0 {
				return fmt.Errorf("--gpu-telemetry-interval and --gpu-telemetry-timeout must be > 0")
			}
			src, err := telemetry.NewPrometheus(t.prometheusURL, t.timeout)
			if err != nil {
				return err
			}
			t.source = src
			// The refresh loop belongs to the binary and ends with it; the
			// plugin only reads the cache.
			ctx, cancel := context.WithCancel(c.Context())
			defer cancel()
			go src.Run(ctx, t.interval)
		}
		return run(c, args)
	}
	return cmd
}
