//go:build integration

package integration

import (
	"net/http/httptest"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kisproject/kis/policy"
)

// queueTarget is the adapter target of the adapter tests: serving/llm with
// the queue baseline at 10 outstanding requests per replica, so that each
// decision is easy arithmetic.
const queueTarget = `targets:
- namespace: serving
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: llm}
  minReplicas: 1
  maxReplicas: 20
  sloSeconds: 2
  scaler: queue:10
`

// fakeVLLM is an exporter serving the vLLM, DCGM and kube-state-metrics
// families of one pod with values the test sets. The request counter and
// latency histogram grow at the set rate, every request taking Latency.
type fakeVLLM struct {
	mu sync.Mutex
	// Rate is completed requests per second.
	Rate, Waiting, Running, GPUUtil, Ready, Latency float64
	// NoGPU leaves the GPU series to another exporter.
	NoGPU bool

	total   float64
	updated time.Time
	// buckets counts requests per latency bucket (cumulative on export).
	buckets []float64
	sum     float64

	namespace, pod, deployment string
}

func newFakeVLLM(namespace, deployment string) (*fakeVLLM, *httptest.Server) {
	f := &fakeVLLM{namespace: namespace, pod: deployment + "-7d9f8b6c5-x2x4z", deployment: deployment,
		updated: time.Now(), buckets: make([]float64, len(policy.VLLM.LatencyBuckets)+1), Latency: 0.9}
	reg := prometheus.NewRegistry()
	reg.MustRegister(f)
	return f, httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
}

// Set changes the values under the lock, accruing requests at the old
// rate first.
func (f *fakeVLLM) Set(update func(f *fakeVLLM)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accrue()
	update(f)
}

func (f *fakeVLLM) accrue() {
	now := time.Now()
	n := f.Rate * now.Sub(f.updated).Seconds()
	f.updated = now
	f.total += n
	f.sum += n * f.Latency
	b := len(policy.VLLM.LatencyBuckets)
	for i, le := range policy.VLLM.LatencyBuckets {
		if f.Latency <= le {
			b = i
			break
		}
	}
	f.buckets[b] += n
}

var (
	podLabels = []string{"namespace", "pod"}
	descs     = struct {
		success, waiting, running, latency, gpu, ready, phase *prometheus.Desc
	}{
		success: prometheus.NewDesc(policy.VLLM.RequestSuccess, "Count of successfully processed requests.", podLabels, nil),
		waiting: prometheus.NewDesc(policy.VLLM.Waiting, "Number of requests waiting to be processed.", podLabels, nil),
		running: prometheus.NewDesc(policy.VLLM.Running, "Number of requests currently running on GPU.", podLabels, nil),
		latency: prometheus.NewDesc(policy.VLLM.Latency, "Histogram of end to end request latency in seconds.", podLabels, nil),
		gpu:     prometheus.NewDesc(policy.GPUUtil, "GPU utilization (in %).", append([]string{"gpu"}, podLabels...), nil),
		ready:   prometheus.NewDesc(policy.ReadyReplicas, "The number of ready replicas per deployment.", []string{"namespace", "deployment"}, nil),
		phase:   prometheus.NewDesc(policy.PodPhase, "The pods current phase.", append([]string{"phase"}, podLabels...), nil),
	}
)

func (f *fakeVLLM) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(f, ch) }

func (f *fakeVLLM) Collect(ch chan<- prometheus.Metric) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accrue()
	ch <- prometheus.MustNewConstMetric(descs.success, prometheus.CounterValue, f.total, f.namespace, f.pod)
	ch <- prometheus.MustNewConstMetric(descs.waiting, prometheus.GaugeValue, f.Waiting, f.namespace, f.pod)
	ch <- prometheus.MustNewConstMetric(descs.running, prometheus.GaugeValue, f.Running, f.namespace, f.pod)
	cum := map[float64]uint64{}
	var c float64
	for i, le := range policy.VLLM.LatencyBuckets {
		c += f.buckets[i]
		cum[le] = uint64(c)
	}
	ch <- prometheus.MustNewConstHistogram(descs.latency, uint64(f.total), f.sum, cum, f.namespace, f.pod)
	if !f.NoGPU {
		ch <- prometheus.MustNewConstMetric(descs.gpu, prometheus.GaugeValue, f.GPUUtil, "0", f.namespace, f.pod)
	}
	ch <- prometheus.MustNewConstMetric(descs.ready, prometheus.GaugeValue, f.Ready, f.namespace, f.deployment)
	for _, phase := range []string{"Pending", "Running"} {
		v := 0.0
		if phase == "Running" {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(descs.phase, prometheus.GaugeValue, v, phase, f.namespace, f.pod)
	}
}
