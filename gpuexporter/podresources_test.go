package gpuexporter

import (
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	podresourcesv1 "k8s.io/kubelet/pkg/apis/podresources/v1"

	"github.com/kisproject/kis/gpuexporter/gpuexportertest"
)

const (
	uuidH100 = "GPU-11111111-2222-3333-4444-555555555555"
	uuidL4   = "GPU-66666666-7777-8888-9999-000000000000"
)

// The GPU a vLLM container holds carries its namespace, pod and container,
// as DCGM exporter's do, so that the adapter's selector
// (namespace="default",pod=~"llm-.*") finds it; the idle GPU carries none,
// and devices of other resources and MIG slices are ignored. When the
// kubelet stops answering, the series stay, without owners, and the
// failures are counted.
func TestGPUSeriesCarryTheirOwner(t *testing.T) {
	socket, stop := gpuexportertest.ServeKubelet(t, &podresourcesv1.ListPodResourcesResponse{PodResources: []*podresourcesv1.PodResources{
		{Name: "llm-7d9f-abcde", Namespace: "default", Containers: []*podresourcesv1.ContainerResources{
			{Name: "vllm", Devices: []*podresourcesv1.ContainerDevices{{ResourceName: "nvidia.com/gpu", DeviceIds: []string{uuidH100}}}},
		}},
		{Name: "nic-user", Namespace: "net", Containers: []*podresourcesv1.ContainerResources{
			{Name: "c", Devices: []*podresourcesv1.ContainerDevices{{ResourceName: "example.com/nic", DeviceIds: []string{uuidL4}}}},
		}},
		{Name: "mig-user", Namespace: "ml", Containers: []*podresourcesv1.ContainerResources{
			{Name: "c", Devices: []*podresourcesv1.ContainerDevices{{ResourceName: "nvidia.com/mig-1g.10gb", DeviceIds: []string{"MIG-0d1e2f"}}}},
		}},
	}})
	kubelet, err := NewKubelet(socket)
	if err != nil {
		t.Fatal(err)
	}
	defer kubelet.Close()
	lib := gpuexportertest.Lib(nvml.SUCCESS,
		gpuexportertest.GPU{UUID: uuidH100, Name: "NVIDIA H100 80GB HBM3", Util: 87, TotalMiB: 81559}.Device(0),
		gpuexportertest.GPU{UUID: uuidL4, Name: "NVIDIA L4", TotalMiB: 23034}.Device(1),
	)
	e := New(lib, "gpu-node-1", "", kubelet)
	if err := e.Init(); err != nil {
		t.Fatal(err)
	}
	got := exposition(t, e)
	for _, want := range []string{
		`DCGM_FI_DEV_GPU_UTIL{Hostname="gpu-node-1",UUID="` + uuidH100 + `",container="vllm",device="nvidia0",gpu="0",modelName="NVIDIA H100 80GB HBM3",namespace="default",pod="llm-7d9f-abcde"} 87`,
		`DCGM_FI_DEV_GPU_UTIL{Hostname="gpu-node-1",UUID="` + uuidL4 + `",container="",device="nvidia1",gpu="1",modelName="NVIDIA L4",namespace="",pod=""} 0`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "ListPodResources") {
		t.Errorf("a failed lookup counted while the kubelet answers:\n%s", got)
	}

	stop()
	got = exposition(t, e)
	for _, want := range []string{
		`DCGM_FI_DEV_GPU_UTIL{Hostname="gpu-node-1",UUID="` + uuidH100 + `",container="",device="nvidia0",gpu="0",modelName="NVIDIA H100 80GB HBM3",namespace="",pod=""} 87`,
		`kis_gpu_exporter_errors_total{Hostname="gpu-node-1",call="ListPodResources"} 1`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("kubelet gone: missing %s in:\n%s", want, got)
		}
	}
}
