// Package gpuaware is the GPUAware kube-scheduler plugin: it filters nodes
// on free GPUs, GPU memory and GPU product, and scores them on GPU
// occupancy, live GPU load and whether the node already holds the model's
// weights. After binding, it sets the pod's pod-deletion-cost by GPU
// product so that scale-downs remove replicas on slower GPUs first.
// kis-scheduler runs it in a secondary profile; KISim runs the same plugin
// through the real scheduler framework.
package gpuaware
