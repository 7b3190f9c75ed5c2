package gpuexporter

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/klog/v2"

	"github.com/kisproject/kis/policy"
)

// DCGM exporter's names and labels (dcgm-exporter's default counters CSV),
// so dashboards and GPUAware's queries work with either exporter.
const (
	MetricGPUUtil   = policy.GPUUtil              // %
	MetricMemUtil   = "DCGM_FI_DEV_MEM_COPY_UTIL" // %
	MetricFBUsed    = policy.GPUFBUsed            // MiB
	MetricFBFree    = policy.GPUFBFree            // MiB
	MetricFBTotal   = "DCGM_FI_DEV_FB_TOTAL"      // MiB
	MetricGPUTemp   = "DCGM_FI_DEV_GPU_TEMP"      // °C
	MetricPower     = "DCGM_FI_DEV_POWER_USAGE"   // W
	MetricModelInfo = policy.ModelCachePresent
)

// deviceLabels end with the GPU's owner, empty while no container holds
// it (Prometheus drops empty labels).
var deviceLabels = []string{"gpu", "UUID", "device", "modelName", "Hostname", "namespace", "pod", "container"}

func desc(name, help string, extra ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, append(append([]string{}, deviceLabels...), extra...), nil)
}

var (
	descGPUUtil = desc(MetricGPUUtil, "GPU utilization (in %).")
	descMemUtil = desc(MetricMemUtil, "Memory utilization (in %).")
	descFBUsed  = desc(MetricFBUsed, "Framebuffer memory used (in MiB).")
	descFBFree  = desc(MetricFBFree, "Framebuffer memory free (in MiB).")
	descFBTotal = desc(MetricFBTotal, "Framebuffer memory total (in MiB).")
	descTemp    = desc(MetricGPUTemp, "GPU temperature (in C).")
	descPower   = desc(MetricPower, "Power draw (in W).")
	descMIG     = desc("kis_gpu_exporter_mig_mode", "1 if MIG mode is enabled on the GPU.")
	descProcMem = desc("kis_gpu_exporter_process_memory_bytes", "GPU memory used by a compute process.", "pid")
	descDevUp   = prometheus.NewDesc("kis_gpu_exporter_device_up", "1 if the GPU's identity could be read; its other series are exported when their own NVML calls succeed.", []string{"gpu", "Hostname"}, nil)
	descNVMLUp  = prometheus.NewDesc("kis_gpu_exporter_nvml_up", "1 if NVML is initialised and the devices can be listed.", []string{"Hostname"}, nil)
	descNVMLErr = prometheus.NewDesc("kis_gpu_exporter_nvml_error_info", "The NVML error that keeps nvml_up at 0.", []string{"Hostname", "error"}, nil)
	descModel   = prometheus.NewDesc(MetricModelInfo, "1 for each model whose weights are in the node-local cache directory.", []string{"Hostname", "model"}, nil)
	descErrors  = prometheus.NewDesc("kis_gpu_exporter_errors_total", "Failed calls, by call: NVML functions, reads of the model cache (ReadModelCache) and of the kubelet's pod resources (ListPodResources).", []string{"Hostname", "call"}, nil)
)

// Exporter is a prometheus.Collector over NVML. It reads the devices at
// each scrape, as client_golang's const-metric collectors do, so values are
// never older than the scrape.
type Exporter struct {
	lib      nvml.Interface
	hostname string
	cacheDir string
	owners   OwnerSource

	// ownersFailing is whether the last owner lookup failed, to log only
	// its changes.
	ownersFailing bool

	mu      sync.Mutex
	up      bool
	initErr error
	errors  map[string]float64
}

var _ prometheus.Collector = (*Exporter)(nil)

// New returns an exporter that is down until Init succeeds. cacheDir may be
// empty (no model cache to report), and owners nil (no GPU attributed to
// a container).
func New(lib nvml.Interface, hostname, cacheDir string, owners OwnerSource) *Exporter {
	return &Exporter{lib: lib, hostname: hostname, cacheDir: cacheDir, owners: owners,
		initErr: errors.New("not initialised yet"), errors: map[string]float64{}}
}

// Init initialises NVML. Without a GPU or driver it fails
// (ERROR_LIBRARY_NOT_FOUND, ERROR_DRIVER_NOT_LOADED, ...) and the exporter
// keeps serving nvml_up 0; the caller retries.
func (e *Exporter) Init() error {
	ret := e.lib.Init()
	e.mu.Lock()
	defer e.mu.Unlock()
	if ret != nvml.SUCCESS {
		e.up, e.initErr = false, fmt.Errorf("nvml init: %w", ret)
		return e.initErr
	}
	e.up, e.initErr = true, nil
	return nil
}

// Shutdown releases NVML.
func (e *Exporter) Shutdown() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.up {
		e.lib.Shutdown()
		e.up = false
	}
}

// Describe implements prometheus.Collector.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descGPUUtil, descMemUtil, descFBUsed, descFBFree, descFBTotal, descTemp, descPower,
		descMIG, descProcMem, descDevUp, descNVMLUp, descNVMLErr, descModel, descErrors} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A failing call loses only its
// own series (and counts an error); a device whose identity cannot be read
// loses its series and reports device_up 0.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	owners := e.gpuOwners()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.collectModels(ch)
	if e.up {
		e.collectDevices(ch, owners)
	}
	up := 0.0
	if e.up {
		up = 1
	} else {
		ch <- prometheus.MustNewConstMetric(descNVMLErr, prometheus.GaugeValue, 1, e.hostname, e.initErr.Error())
	}
	ch <- prometheus.MustNewConstMetric(descNVMLUp, prometheus.GaugeValue, up, e.hostname)
	calls := make([]string, 0, len(e.errors))
	for c := range e.errors {
		calls = append(calls, c)
	}
	sort.Strings(calls)
	for _, c := range calls {
		ch <- prometheus.MustNewConstMetric(descErrors, prometheus.CounterValue, e.errors[c], e.hostname, c)
	}
}

// gpuOwners asks the owner source, if any, for the GPUs' owners, outside
// the lock (the kubelet may take its time), and notes the outcome under
// it. Owners label device series only: without NVML there are none, and
// no lookup.
func (e *Exporter) gpuOwners() map[string]Owner {
	if e.owners == nil || !e.Up() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), ownersTimeout)
	defer cancel()
	owners, err := e.owners.GPUOwners(ctx)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.noteOwnersErr(err)
	return owners
}

// noteOwnersErr counts a failed owner lookup, and logs when lookups
// start or stop failing.
func (e *Exporter) noteOwnersErr(err error) {
	if err != nil {
		e.errors["ListPodResources"]++
	}
	if failing := err != nil; failing != e.ownersFailing {
		e.ownersFailing = failing
		if failing {
			klog.ErrorS(err, "GPU series lose their namespace, pod and container labels until the kubelet answers")
		} else {
			klog.InfoS("GPU owners read from the kubelet again")
		}
	}
}

func (e *Exporter) failed(call string, ret nvml.Return) bool {
	if ret == nvml.SUCCESS {
		return false
	}
	e.errors[call]++
	return true
}

func (e *Exporter) collectDevices(ch chan<- prometheus.Metric, owners map[string]Owner) {
	n, ret := e.lib.DeviceGetCount()
	if e.failed("DeviceGetCount", ret) {
		// NVML itself is broken (e.g. the driver went away): report down
		// until a re-init succeeds.
		e.up, e.initErr = false, fmt.Errorf("nvml device count: %w", ret)
		return
	}
	for i := range n {
		idx := strconv.Itoa(i)
		dev, ret := e.lib.DeviceGetHandleByIndex(i)
		if e.failed("DeviceGetHandleByIndex", ret) {
			ch <- prometheus.MustNewConstMetric(descDevUp, prometheus.GaugeValue, 0, idx, e.hostname)
			continue
		}
		e.collectDevice(ch, idx, dev, owners)
	}
}

func (e *Exporter) collectDevice(ch chan<- prometheus.Metric, idx string, dev nvml.Device, owners map[string]Owner) {
	uuid, ret := dev.GetUUID()
	if e.failed("GetUUID", ret) {
		ch <- prometheus.MustNewConstMetric(descDevUp, prometheus.GaugeValue, 0, idx, e.hostname)
		return
	}
	name, ret := dev.GetName()
	if e.failed("GetName", ret) {
		name = ""
	}
	device := "nvidia" + idx
	if minor, ret := dev.GetMinorNumber(); !e.failed("GetMinorNumber", ret) {
		device = "nvidia" + strconv.Itoa(minor)
	}
	o := owners[uuid]
	labels := []string{idx, uuid, device, name, e.hostname, o.Namespace, o.Pod, o.Container}
	gauge := func(d *prometheus.Desc, v float64, extra ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append(labels, extra...)...)
	}
	ch <- prometheus.MustNewConstMetric(descDevUp, prometheus.GaugeValue, 1, idx, e.hostname)

	if u, ret := dev.GetUtilizationRates(); !e.failed("GetUtilizationRates", ret) {
		gauge(descGPUUtil, float64(u.Gpu))
		gauge(descMemUtil, float64(u.Memory))
	}
	if m, ret := dev.GetMemoryInfo(); !e.failed("GetMemoryInfo", ret) {
		const mib = 1 << 20
		gauge(descFBUsed, float64(m.Used/mib))
		gauge(descFBFree, float64(m.Free/mib))
		gauge(descFBTotal, float64(m.Total/mib))
	}
	if t, ret := dev.GetTemperature(nvml.TEMPERATURE_GPU); !e.failed("GetTemperature", ret) {
		gauge(descTemp, float64(t))
	}
	// Not every board reports power (ERROR_NOT_SUPPORTED is common on
	// older or virtualised GPUs): the series is then absent.
	if mw, ret := dev.GetPowerUsage(); ret != nvml.ERROR_NOT_SUPPORTED && !e.failed("GetPowerUsage", ret) {
		gauge(descPower, float64(mw)/1000)
	}
	if cur, _, ret := dev.GetMigMode(); ret != nvml.ERROR_NOT_SUPPORTED && !e.failed("GetMigMode", ret) {
		gauge(descMIG, float64(cur))
	}
	if procs, ret := dev.GetComputeRunningProcesses(); !e.failed("GetComputeRunningProcesses", ret) {
		for _, p := range procs {
			gauge(descProcMem, float64(p.UsedGpuMemory), strconv.FormatUint(uint64(p.Pid), 10))
		}
	}
}

// Up reports whether NVML is initialised and working.
func (e *Exporter) Up() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.up
}

// KeepInitialised (re)initialises NVML whenever it is down, waiting
// between failed attempts from minWait doubling up to maxWait, until ctx is
// done. A driver installed or reloaded after start is picked up this way,
// without a restart. State changes are logged once.
func (e *Exporter) KeepInitialised(ctx context.Context, minWait, maxWait time.Duration) {
	logger := klog.FromContext(ctx)
	wait := minWait
	wasUp := true
	for {
		if !e.Up() {
			if err := e.Init(); err != nil {
				if wasUp {
					logger.Error(err, "NVML unavailable; serving kis_gpu_exporter_nvml_up 0 and retrying", "retryAfter", wait)
				}
				wasUp = false
			} else {
				logger.Info("NVML initialised")
				wasUp, wait = true, minWait
			}
		}
		select {
		case <-ctx.Done():
			e.Shutdown()
			return
		case <-time.After(wait):
		}
		if !e.Up() {
			wait = min(2*wait, maxWait)
		}
	}
}
