// Package scheduler embeds kis-scheduler's KubeSchedulerConfiguration, so
// that KISim and the tests use the exact file the manifests deploy.
package scheduler

import _ "embed"

// Config is config.yaml: the KubeSchedulerConfiguration of kis-scheduler.
//
//go:embed config.yaml
var Config []byte

// ProfileName is the schedulerName of the GPUAware profile in Config.
const ProfileName = "kis-scheduler"
