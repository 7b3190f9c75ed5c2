//go:build integration

package integration

import (
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	podresourcesv1 "k8s.io/kubelet/pkg/apis/podresources/v1"

	"github.com/kisproject/kis/adapter"
	"github.com/kisproject/kis/gpuexporter"
	"github.com/kisproject/kis/gpuexporter/gpuexportertest"
	"github.com/kisproject/kis/internal/controlplane"
)

// kis-adapter's GPU query reads kis-gpu-exporter's series through a real
// Prometheus: the exporter labels each GPU with the pod the kubelet says
// holds it, and the query's selector (namespace="serving",pod=~"llm-.*")
// averages the two llm replicas' GPUs, not the idle one or another
// workload's.
func TestAdapterReadsTheGPUExporter(t *testing.T) {
	fake, vllm := newFakeVLLM("serving", "llm")
	defer vllm.Close()
	fake.Set(func(f *fakeVLLM) { f.Rate, f.Ready, f.NoGPU = 8, 2, true })

	holds := func(namespace, pod, uuid string) *podresourcesv1.PodResources {
		return &podresourcesv1.PodResources{Name: pod, Namespace: namespace, Containers: []*podresourcesv1.ContainerResources{
			{Name: "vllm", Devices: []*podresourcesv1.ContainerDevices{{ResourceName: "nvidia.com/gpu", DeviceIds: []string{uuid}}}},
		}}
	}
	socket, _ := gpuexportertest.ServeKubelet(t, &podresourcesv1.ListPodResourcesResponse{PodResources: []*podresourcesv1.PodResources{
		holds("serving", "llm-7d9f8b6c5-x2x4z", "GPU-a"),
		holds("serving", "llm-7d9f8b6c5-q8w7e", "GPU-b"),
		holds("serving", "embedder-5c6d7e8f9-k2j3h", "GPU-d"),
	}})
	kubelet, err := gpuexporter.NewKubelet(socket)
	if err != nil {
		t.Fatal(err)
	}
	defer kubelet.Close()
	lib := gpuexportertest.Lib(nvml.SUCCESS,
		gpuexportertest.GPU{UUID: "GPU-a", Name: "NVIDIA H100 80GB HBM3", Util: 80, TotalMiB: 81559}.Device(0),
		gpuexportertest.GPU{UUID: "GPU-b", Name: "NVIDIA H100 80GB HBM3", Util: 40, TotalMiB: 81559}.Device(1),
		gpuexportertest.GPU{UUID: "GPU-c", Name: "NVIDIA H100 80GB HBM3", Util: 0, TotalMiB: 81559}.Device(2),
		gpuexportertest.GPU{UUID: "GPU-d", Name: "NVIDIA H100 80GB HBM3", Util: 100, TotalMiB: 81559}.Device(3),
	)
	exp := gpuexporter.New(lib, "gpu-node-1", "", kubelet)
	if err := exp.Init(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(exp)
	gpus := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer gpus.Close()

	ps := controlplane.NewProcesses(t, t.TempDir())
	vllmURL, _ := url.Parse(vllm.URL)
	gpusURL, _ := url.Parse(gpus.URL)
	prom := controlplane.StartPrometheus(t, ps, t.TempDir(), time.Second, vllmURL.Host, gpusURL.Host)

	cfg, err := adapter.ParseConfig([]byte("prometheus: {url: \"" + prom.URL + "\"}\n" + queueTarget))
	if err != nil {
		t.Fatal(err)
	}
	queries, err := adapter.NewQueries(&cfg.Targets[0])
	if err != nil {
		t.Fatal(err)
	}
	client, err := api.NewClient(api.Config{Address: prom.URL})
	if err != nil {
		t.Fatal(err)
	}
	promAPI := promv1.NewAPI(client)
	var lastErr error
	var last float64
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		sig, err := queries.Evaluate(t.Context(), promAPI, time.Now(), time.Minute)
		if lastErr = err; err != nil {
			continue
		}
		if last = sig.GPUUtilPercent; last == 60 {
			return
		}
	}
	t.Fatalf("gpu_util_percent: last %v (error %v), want 60, the mean of the two llm GPUs; GPU series in Prometheus:\n%s",
		last, lastErr, get(prom.URL+"/api/v1/query?query="+url.QueryEscape("DCGM_FI_DEV_GPU_UTIL")))
}
