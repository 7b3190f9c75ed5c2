// Command kis-gpu-exporter is a node agent that exposes the node's NVIDIA
// GPUs under DCGM exporter's metric names (through NVML, go-nvml) and the
// models present in a node-local weight cache, for GPUAware's telemetry.
// Without a GPU or driver it keeps running, reports
// kis_gpu_exporter_nvml_up 0 and retries.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"
	nodeutil "k8s.io/component-helpers/node/util"
	"k8s.io/klog/v2"

	"github.com/kisproject/kis/gpuexporter"
)

// version is set at build time (make build, make images).
var version = "v0.0.0-dev"

func main() {
	fs := pflag.NewFlagSet("kis-gpu-exporter", pflag.ExitOnError)
	listen := fs.String("listen-address", ":9400", "address of the /metrics endpoint (9400 is DCGM exporter's port)")
	hostname := fs.String("hostname", os.Getenv("NODE_NAME"), "value of the Hostname label: the Kubernetes node name (default $NODE_NAME, else the host name lowercased, as the kubelet names its node)")
	cacheDir := fs.String("model-cache-dir", "", "node-local model weight cache: a Hugging Face hub cache (HF_HUB_CACHE; models--ORG--NAME is reported as ORG/NAME once downloaded) or one directory per model")
	podResources := fs.String("pod-resources-socket", gpuexporter.DefaultPodResourcesSocket, "the kubelet's pod-resources socket, read at each scrape for the namespace, pod and container holding each GPU (DCGM exporter's labels, which the adapter's GPU query selects on); empty: no such labels")
	minRetry := fs.Duration("nvml-retry-min", time.Second, "first wait before retrying a failed NVML initialisation")
	maxRetry := fs.Duration("nvml-retry-max", 5*time.Minute, "longest wait between NVML retries")
	showVersion := fs.Bool("version", false, "print the version and exit")
	klogFlags := flag.NewFlagSet("klog", flag.ExitOnError)
	klog.InitFlags(klogFlags)
	fs.AddGoFlagSet(klogFlags)
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	// A flag written without its dashes would otherwise be dropped.
	if fs.NArg() > 0 {
		klog.ErrorS(nil, "Unexpected arguments: every setting is a --flag", "args", fs.Args())
		os.Exit(2)
	}
	if *showVersion {
		fmt.Println("kis-gpu-exporter", version)
		return
	}
	node, err := nodeName(*hostname)
	if err != nil {
		klog.ErrorS(err, "No node name for the Hostname label")
		os.Exit(2)
	}
	*hostname = node
	if *minRetry <= 0 || *maxRetry < *minRetry {
		klog.ErrorS(nil, "Want 0 < --nvml-retry-min <= --nvml-retry-max", "min", *minRetry, "max", *maxRetry)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var owners gpuexporter.OwnerSource
	if *podResources != "" {
		kubelet, err := gpuexporter.NewKubelet(*podResources)
		if err != nil {
			klog.ErrorS(err, "No pod-resources client")
			os.Exit(2)
		}
		defer kubelet.Close()
		owners = kubelet
	}
	exp := gpuexporter.New(nvml.New(), *hostname, *cacheDir, owners)
	reg := prometheus.NewRegistry()
	reg.MustRegister(exp, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}

	done := make(chan struct{})
	go func() {
		defer close(done)
		exp.KeepInitialised(ctx, *minRetry, *maxRetry)
	}()
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdownCtx)
	}()
	klog.InfoS("Starting kis-gpu-exporter", "version", version, "address", *listen, "hostname", *hostname, "modelCacheDir", *cacheDir, "podResourcesSocket", *podResources)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		klog.ErrorS(err, "Serving /metrics")
		stop()
		<-done
		os.Exit(1)
	}
	<-done
}

// nodeName is the Hostname label's value: the node name GPUAware joins the
// series on. Without a flag it is the host name as the kubelet
// canonicalises it into its node name (trimmed, lowercased); a value that
// no node can be named would join no node, and is refused.
func nodeName(flag string) (string, error) {
	name := flag
	if name == "" {
		var err error
		if name, err = nodeutil.GetHostname(""); err != nil {
			return "", err
		}
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return "", fmt.Errorf("%q is not a node name: %s", name, strings.Join(errs, "; "))
	}
	return name, nil
}
