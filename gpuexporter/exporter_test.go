package gpuexporter

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/kisproject/kis/gpuexporter/gpuexportertest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const mib = 1 << 20

// exposition renders what a scrape of e returns, in the text format.
func exposition(t *testing.T, e *Exporter) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./gpuexporter -update writes it)", err)
	}
	if string(want) != got {
		t.Errorf("exposition differs from %s (-update rewrites it after review):\n%s", path, got)
	}
}

// Two GPUs with known numbers give exactly the golden exposition: an H100
// at 87% with 61440 of 81559 MiB used by two processes, and an idle L4
// without power readings; plus the two cached models.
func TestTwoGPUsGolden(t *testing.T) {
	cache := t.TempDir()
	for _, d := range []string{"llama-3.1-8b", "mistral-7b", ".downloading-qwen"} {
		if err := os.Mkdir(filepath.Join(cache, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(cache, "README"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	lib := gpuexportertest.Lib(nvml.SUCCESS,
		gpuexportertest.GPU{UUID: "GPU-11111111-2222-3333-4444-555555555555", Name: "NVIDIA H100 80GB HBM3", Util: 87, MemUtil: 41,
			UsedMiB: 61440, TotalMiB: 81559, Temp: 61, PowerMilliwatts: 512345,
			Procs: []nvml.ProcessInfo{{Pid: 4242, UsedGpuMemory: 40960 * mib}, {Pid: 4343, UsedGpuMemory: 20480 * mib}}}.Device(0),
		gpuexportertest.GPU{UUID: "GPU-66666666-7777-8888-9999-000000000000", Name: "NVIDIA L4", UsedMiB: 0, TotalMiB: 23034, Temp: 34}.Device(1),
	)
	e := New(lib, "gpu-node-1", cache, nil)
	if err := e.Init(); err != nil {
		t.Fatal(err)
	}
	got := exposition(t, e)
	golden(t, "two_gpus.prom", got)
	// The series GPUAware's Prometheus telemetry queries are all here.
	for _, name := range []string{MetricGPUUtil, MetricFBUsed, MetricFBFree, MetricModelInfo} {
		if !strings.Contains(got, name+"{") {
			t.Errorf("no %s series", name)
		}
	}
}

// One device's failing calls lose only its own series; a device that
// cannot be opened reports device_up 0; the other GPU is untouched.
func TestFailingDeviceIsIsolated(t *testing.T) {
	lib := gpuexportertest.Lib(nvml.SUCCESS,
		gpuexportertest.GPU{UUID: "GPU-a", Name: "NVIDIA A100-SXM4-80GB", Util: 50, UsedMiB: 100, TotalMiB: 81920, Temp: 40, PowerMilliwatts: 100000, FailUtil: true}.Device(0),
		nil,
		gpuexportertest.GPU{UUID: "GPU-c", Name: "NVIDIA A100-SXM4-80GB", Util: 12, UsedMiB: 200, TotalMiB: 81920, Temp: 41, PowerMilliwatts: 90000}.Device(2),
	)
	e := New(lib, "n", "", nil)
	if err := e.Init(); err != nil {
		t.Fatal(err)
	}
	got := exposition(t, e)
	for _, want := range []string{
		`kis_gpu_exporter_device_up{Hostname="n",gpu="0"} 1`,
		`kis_gpu_exporter_device_up{Hostname="n",gpu="1"} 0`,
		`kis_gpu_exporter_device_up{Hostname="n",gpu="2"} 1`,
		`DCGM_FI_DEV_GPU_UTIL{Hostname="n",UUID="GPU-c",container="",device="nvidia2",gpu="2",modelName="NVIDIA A100-SXM4-80GB",namespace="",pod=""} 12`,
		`DCGM_FI_DEV_FB_USED{Hostname="n",UUID="GPU-a",container="",device="nvidia0",gpu="0",modelName="NVIDIA A100-SXM4-80GB",namespace="",pod=""} 100`,
		`kis_gpu_exporter_errors_total{Hostname="n",call="DeviceGetHandleByIndex"} 1`,
		`kis_gpu_exporter_errors_total{Hostname="n",call="GetUtilizationRates"} 1`,
		`kis_gpu_exporter_nvml_up{Hostname="n"} 1`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s", want)
		}
	}
	if strings.Contains(got, `DCGM_FI_DEV_GPU_UTIL{Hostname="n",UUID="GPU-a"`) {
		t.Error("GPU-a's failed utilisation read produced a series")
	}
}

// Without a driver NVML's Init fails; the exporter serves nvml_up 0 with
// the error and no device series, and recovers when a retry succeeds.
func TestInitFailure(t *testing.T) {
	lib := gpuexportertest.Lib(nvml.ERROR_LIBRARY_NOT_FOUND, gpuexportertest.GPU{UUID: "GPU-x", Name: "NVIDIA L4", TotalMiB: 23034}.Device(0))
	e := New(lib, "cpu-node", "", nil)
	if err := e.Init(); err == nil {
		t.Fatal("want an error")
	}
	want := `# HELP kis_gpu_exporter_nvml_error_info The NVML error that keeps nvml_up at 0.
# TYPE kis_gpu_exporter_nvml_error_info gauge
kis_gpu_exporter_nvml_error_info{Hostname="cpu-node",error="nvml init: ERROR_LIBRARY_NOT_FOUND"} 1
# HELP kis_gpu_exporter_nvml_up 1 if NVML is initialised and the devices can be listed.
# TYPE kis_gpu_exporter_nvml_up gauge
kis_gpu_exporter_nvml_up{Hostname="cpu-node"} 0
`
	if err := testutil.CollectAndCompare(e, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	lib.InitFunc = func() nvml.Return { return nvml.SUCCESS }
	if err := e.Init(); err != nil {
		t.Fatal(err)
	}
	if got := exposition(t, e); !strings.Contains(got, `kis_gpu_exporter_nvml_up{Hostname="cpu-node"} 1`) || !strings.Contains(got, `DCGM_FI_DEV_FB_TOTAL{`) {
		t.Errorf("after a successful retry:\n%s", got)
	}
}

// KeepInitialised retries a failing Init with backoff while scrapes go on
// concurrently (run under -race), and stops with its context.
func TestKeepInitialisedRetries(t *testing.T) {
	var mu sync.Mutex
	attempts := 0
	lib := gpuexportertest.Lib(nvml.ERROR_DRIVER_NOT_LOADED)
	lib.InitFunc = func() nvml.Return {
		mu.Lock()
		defer mu.Unlock()
		attempts++
		if attempts < 3 {
			return nvml.ERROR_DRIVER_NOT_LOADED
		}
		return nvml.SUCCESS
	}
	e := New(lib, "n", "", nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.KeepInitialised(ctx, time.Millisecond, 4*time.Millisecond)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !e.Up() {
		if time.Now().After(deadline) {
			t.Fatal("never initialised")
		}
		exposition(t, e)
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if e.Up() {
		t.Error("still up after shutdown")
	}
	mu.Lock()
	defer mu.Unlock()
	if attempts != 3 {
		t.Errorf("%d Init attempts, want 3", attempts)
	}
}
