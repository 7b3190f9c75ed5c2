// Command kis-scheduler is kube-scheduler with the GPUAware plugin built
// in, meant to run as a secondary scheduler (schedulerName: kis-scheduler)
// beside the default one. It takes every kube-scheduler flag, plus the
// --gpu-telemetry-* flags that feed the plugin live GPU load from
// Prometheus.
package main

import (
	"os"

	"k8s.io/component-base/cli"
)

func main() {
	os.Exit(cli.Run(newCommand()))
}
