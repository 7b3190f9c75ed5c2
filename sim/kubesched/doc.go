// Package kubesched places KISim's pods with a real kube-scheduler profile:
// it builds the scheduler framework (frameworkruntime.NewFramework) from a
// KubeSchedulerConfiguration, with the GPUAware plugin registered out of
// tree, and runs PreFilter, Filter, PreScore, Score (with NormalizeScore)
// and Reserve synchronously against a snapshot of the simulated nodes, the
// way cluster-autoscaler runs scheduler plugins: no API server, no
// scheduling queue.
package kubesched
