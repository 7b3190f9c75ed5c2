package policy

// MetricSet names the Prometheus metric families of one serving stack. KISim
// exposes exactly these names and the adapter's built-in query sets read
// them, so the simulator and a real cluster are observed the same way.
type MetricSet struct {
	// Stack is the serving software the names come from.
	Stack string
	// RequestSuccess is a counter of requests that completed.
	RequestSuccess string
	// Waiting is a per-pod gauge of requests queued but not yet running.
	Waiting string
	// Running is a per-pod gauge of requests being served (in the batch).
	// Empty when the stack exposes no such gauge.
	Running string
	// Latency is the base name of a histogram of end-to-end request latency
	// in LatencyUnit; the _bucket, _sum and _count series follow the
	// Prometheus convention.
	Latency string
	// LatencyUnit is the histogram's unit in seconds (1 for seconds, 1e-3 for
	// milliseconds).
	LatencyUnit float64
	// LatencyBuckets are the histogram's upper bounds, in LatencyUnit, as the
	// stack exports them (the +Inf bucket is implicit).
	LatencyBuckets []float64
}

// VLLM is vLLM's OpenAI-compatible server (vllm/engine/metrics.py). The
// bucket bounds are the ones vLLM uses for e2e_request_latency_seconds.
var VLLM = MetricSet{
	Stack:          "vllm",
	RequestSuccess: "vllm:request_success_total",
	Waiting:        "vllm:num_requests_waiting",
	Running:        "vllm:num_requests_running",
	Latency:        "vllm:e2e_request_latency_seconds",
	LatencyUnit:    1,
	LatencyBuckets: []float64{0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0},
}

// Triton is NVIDIA Triton Inference Server's metrics endpoint. Triton has no
// gauge of executing requests; its latency histogram is the per-response one
// (for a non-decoupled model the first response is the whole response).
var Triton = MetricSet{
	Stack:          "triton",
	RequestSuccess: "nv_inference_request_success",
	Waiting:        "nv_inference_pending_request_count",
	Latency:        "nv_inference_first_response_histogram_ms",
	LatencyUnit:    1e-3,
	LatencyBuckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000},
}

// Cluster-level families shared by every stack.
const (
	// GPUUtil is DCGM exporter's per-GPU utilisation in percent, labelled
	// with the pod that holds the GPU and the node (Hostname).
	GPUUtil = "DCGM_FI_DEV_GPU_UTIL"
	// GPUFBUsed and GPUFBFree are DCGM exporter's per-GPU framebuffer
	// memory in MiB (GPUAware's load term).
	GPUFBUsed = "DCGM_FI_DEV_FB_USED"
	GPUFBFree = "DCGM_FI_DEV_FB_FREE"
	// ModelCachePresent is kis-gpu-exporter's per-node series, 1 for each
	// model in the node-local cache (GPUAware's locality term).
	ModelCachePresent = "kis_model_cache_present"
	// ReadyReplicas and SpecReplicas are kube-state-metrics' Deployment series.
	ReadyReplicas = "kube_deployment_status_replicas_ready"
	SpecReplicas  = "kube_deployment_spec_replicas"
	// PodPhase is kube-state-metrics' pod phase series; Pending pods are
	// those with phase="Pending".
	PodPhase = "kube_pod_status_phase"
)
