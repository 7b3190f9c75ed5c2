// Package gpuexporter reads a node's NVIDIA GPUs through NVML (go-nvml) and
// exposes them under DCGM exporter's metric names and labels, plus the
// model weights present in a node-local cache, so that GPUAware's
// Prometheus telemetry reads clusters running either exporter the same way.
package gpuexporter
