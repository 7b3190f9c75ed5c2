// Package sim is KISim: a deterministic discrete-event simulator of a GPU
// inference Deployment. Requests flow through simulated replicas, so every
// latency it reports is the result of the scaling decisions taken; the
// autoscalers see the workload only through Prometheus-style scraped series,
// with their lag.
package sim
