// Package gpuexportertest fakes what kis-gpu-exporter reads on a node,
// NVML and the kubelet's pod-resources API, for tests.
package gpuexportertest

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"google.golang.org/grpc"
	podresourcesv1 "k8s.io/kubelet/pkg/apis/podresources/v1"
)

const mib = 1 << 20

// GPU is a device with fixed readings. A zero PowerMilliwatts reads as
// not supported, as on boards without a power sensor.
type GPU struct {
	UUID, Name            string
	Util, MemUtil         uint32
	UsedMiB, TotalMiB     uint64
	Temp, PowerMilliwatts uint32
	Procs                 []nvml.ProcessInfo
	// FailUtil makes the utilisation read fail as a lost GPU's does.
	FailUtil bool
}

// Device is g as NVML's device with the given minor number.
func (g GPU) Device(minor int) *mock.Device {
	return &mock.Device{
		GetUUIDFunc:        func() (string, nvml.Return) { return g.UUID, nvml.SUCCESS },
		GetNameFunc:        func() (string, nvml.Return) { return g.Name, nvml.SUCCESS },
		GetMinorNumberFunc: func() (int, nvml.Return) { return minor, nvml.SUCCESS },
		GetUtilizationRatesFunc: func() (nvml.Utilization, nvml.Return) {
			if g.FailUtil {
				return nvml.Utilization{}, nvml.ERROR_GPU_IS_LOST
			}
			return nvml.Utilization{Gpu: g.Util, Memory: g.MemUtil}, nvml.SUCCESS
		},
		GetMemoryInfoFunc: func() (nvml.Memory, nvml.Return) {
			return nvml.Memory{Total: g.TotalMiB * mib, Used: g.UsedMiB * mib, Free: (g.TotalMiB - g.UsedMiB) * mib}, nvml.SUCCESS
		},
		GetTemperatureFunc: func(nvml.TemperatureSensors) (uint32, nvml.Return) { return g.Temp, nvml.SUCCESS },
		GetPowerUsageFunc: func() (uint32, nvml.Return) {
			if g.PowerMilliwatts == 0 {
				return 0, nvml.ERROR_NOT_SUPPORTED
			}
			return g.PowerMilliwatts, nvml.SUCCESS
		},
		GetMigModeFunc:                 func() (int, int, nvml.Return) { return 0, 0, nvml.SUCCESS },
		GetComputeRunningProcessesFunc: func() ([]nvml.ProcessInfo, nvml.Return) { return g.Procs, nvml.SUCCESS },
	}
}

// Lib is NVML with devs, whose Init returns initRet. A nil device fails
// to open, as a lost GPU does.
func Lib(initRet nvml.Return, devs ...*mock.Device) *mock.Interface {
	return &mock.Interface{
		InitFunc:           func() nvml.Return { return initRet },
		ShutdownFunc:       func() nvml.Return { return nvml.SUCCESS },
		DeviceGetCountFunc: func() (int, nvml.Return) { return len(devs), nvml.SUCCESS },
		DeviceGetHandleByIndexFunc: func(i int) (nvml.Device, nvml.Return) {
			if devs[i] == nil {
				return nil, nvml.ERROR_GPU_IS_LOST
			}
			return devs[i], nvml.SUCCESS
		},
	}
}

type kubelet struct {
	podresourcesv1.UnimplementedPodResourcesListerServer
	resp *podresourcesv1.ListPodResourcesResponse
}

func (k *kubelet) List(context.Context, *podresourcesv1.ListPodResourcesRequest) (*podresourcesv1.ListPodResourcesResponse, error) {
	return k.resp, nil
}

// ServeKubelet serves the pod-resources API on a unix socket, as the
// kubelet does, answering every List with resp, until stop or the end of
// the test.
func ServeKubelet(t testing.TB, resp *podresourcesv1.ListPodResourcesResponse) (socket string, stop func()) {
	t.Helper()
	// A unix socket's path is at most 108 bytes; t.TempDir()'s can be longer.
	dir, err := os.MkdirTemp("", "kis")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	socket = filepath.Join(dir, "kubelet.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	podresourcesv1.RegisterPodResourcesListerServer(srv, &kubelet{resp: resp})
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	return socket, srv.Stop
}
