package gpuaware

import (
	"slices"
	"time"
)

// NodeTelemetry is what a telemetry source knows about one node's GPUs.
type NodeTelemetry struct {
	// GPUUtilPercent is the mean DCGM_FI_DEV_GPU_UTIL of the node's GPUs.
	GPUUtilPercent float64
	// GPUMemoryUsedFraction is framebuffer used over total, all GPUs.
	GPUMemoryUsedFraction float64
	// CachedModels are the model weights present in the node's local cache.
	CachedModels []string
	// Timestamp is when the newest sample behind these values was taken.
	Timestamp time.Time
}

// HasModel reports whether model is in the node's cache.
func (t *NodeTelemetry) HasModel(model string) bool { return slices.Contains(t.CachedModels, model) }

// Telemetry is a source of live GPU data. It is read on the scheduling
// path, so implementations answer from memory: kis-scheduler's Prometheus
// source refreshes its cache in a loop the binary owns, KISim's is updated
// by the simulator at each scrape.
type Telemetry interface {
	// NodeTelemetry returns the node's data, or false if there is none.
	NodeTelemetry(nodeName string) (NodeTelemetry, bool)
}

// noTelemetry knows nothing: load and locality score neutral.
type noTelemetry struct{}

func (noTelemetry) NodeTelemetry(string) (NodeTelemetry, bool) { return NodeTelemetry{}, false }
