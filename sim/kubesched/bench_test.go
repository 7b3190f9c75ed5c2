package kubesched_test

import (
	"fmt"
	"testing"

	"github.com/kisproject/kis/sim"
	"github.com/kisproject/kis/sim/cluster"
	"github.com/kisproject/kis/sim/engine"
	"github.com/kisproject/kis/sim/kubesched"
	"github.com/kisproject/kis/sim/workload"
)

// BenchmarkPlacement measures scheduling cycles (PreFilter, Filter on every
// node, PreScore, Score, NormalizeScore, Reserve) through the kis-scheduler
// profile on clusters of 8-GPU nodes, a third of which cache the model.
// Each iteration places one pod and releases the one placed 64 iterations
// earlier, so the cluster stays partly full.
func BenchmarkPlacement(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			spec := fmt.Sprintf(`
nodePools:
- {name: cached, count: %d, gpuProduct: NVIDIA-H100-80GB-HBM3, gpusPerNode: 8, cpu: 192, memoryGiB: 2048, cached: {images: [vllm/vllm-openai:v0.8.5], models: [meta-llama/Llama-3.1-8B-Instruct]}}
- {name: plain, count: %d, gpuProduct: NVIDIA-A100-SXM4-80GB, gpusPerNode: 8, cpu: 192, memoryGiB: 2048}
startup: {imagePullMBps: 150, remoteLoadMBps: 180, localLoadMBps: 900}
`, n/3, n-n/3)
			c, err := cluster.Parse("bench.yaml", []byte(spec))
			if err != nil {
				b.Fatal(err)
			}
			ns := sim.NodesOf(c)
			prof, _ := workload.LookupProfile("llm")
			f, _ := kubesched.NewFactory(kubesched.GPUAwareProfile)
			var clk engine.Clock
			s, err := f(ns, &prof, &clk)
			if err != nil {
				b.Fatal(err)
			}
			const window = 64
			reqs := make([]*sim.PodRequest, window)
			nodes := make([]int, window)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				slot := i % window
				if reqs[slot] != nil {
					s.Unbind(reqs[slot], nodes[slot])
				}
				reqs[slot] = &sim.PodRequest{Name: fmt.Sprintf("p%d", i), GPUs: 1, GPUMemoryGiB: prof.GPUMemoryGiB,
					CPU: prof.CPU, MemoryGiB: prof.MemoryGiB, Model: prof.Model, Image: prof.ServingImage}
				if nodes[slot], err = s.Schedule(reqs[slot], ns); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "placements/s")
		})
	}
}
