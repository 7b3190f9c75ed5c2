// Package telemetry provides GPU telemetry sources for the GPUAware plugin.
// Prometheus reads the DCGM exporter's series (also served by
// kis-gpu-exporter under the same names) and caches them; the plugin reads
// the cache, never Prometheus, on its scheduling path.
package telemetry
