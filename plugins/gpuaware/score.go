package gpuaware

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/helper"
)

// neutralScore is what a term scores when the plugin does not know:
// telemetry that is missing or older than args.telemetryMaxAge.
const neutralScore = fwk.MaxScore / 2

// PreScore skips scoring for pods that request no GPU.
func (g *GPUAware) PreScore(_ context.Context, state fwk.CycleState, pod *corev1.Pod, _ []fwk.NodeInfo) *fwk.Status {
	r, err := g.request(state, pod)
	if err != nil {
		return fwk.AsStatus(err)
	}
	if r.gpus == 0 {
		return fwk.NewStatus(fwk.Skip)
	}
	return nil
}

var _ fwk.PreScorePlugin = &GPUAware{}

// Score rates a feasible node in [0, 100] as the weighted mean of three
// terms, each in [0, 100]:
//
//	occupancy  BinPack: 100 * (used + requested) / total GPUs
//	           Spread:  100 * (total - used - requested) / total GPUs
//	load       100 - (GPU utilisation % + 100 * GPU memory used fraction) / 2
//	locality   100 if the node's cache holds the pod's model, else 0
//
//	score = (wOcc*occupancy + wLoad*load + wLoc*locality) / (wOcc + wLoad + wLoc)
//
// load and locality come from telemetry; when a node has none, or it is
// older than telemetryMaxAge, both score 50 (neutral). Integer division
// throughout, as the framework's scores are integers.
func (g *GPUAware) Score(ctx context.Context, state fwk.CycleState, pod *corev1.Pod, nodeInfo fwk.NodeInfo) (int64, *fwk.Status) {
	r, err := g.request(state, pod)
	if err != nil {
		return 0, fwk.AsStatus(err)
	}
	total := nodeInfo.GetAllocatable().GetScalarResources()[ResourceGPU]
	used := nodeInfo.GetRequested().GetScalarResources()[ResourceGPU]
	occupancy := g.strategy(used+r.gpus, total)

	load, locality := neutralScore, neutralScore
	name := nodeInfo.Node().Name
	if t, ok := g.telemetry.NodeTelemetry(name); ok && g.clock.Since(t.Timestamp) <= g.args.TelemetryMaxAge {
		load = loadScore(t.GPUUtilPercent, t.GPUMemoryUsedFraction)
		locality = 0
		if r.model != "" && t.HasModel(r.model) {
			locality = fwk.MaxScore
		}
	}
	a := &g.args
	score := (a.OccupancyWeight*occupancy + a.LoadWeight*load + a.LocalityWeight*locality) /
		(a.OccupancyWeight + a.LoadWeight + a.LocalityWeight)
	if v := klog.FromContext(ctx).V(5); v.Enabled() {
		v.Info("GPUAware score", "pod", klog.KObj(pod), "node", name, "occupancy", occupancy, "load", load, "locality", locality, "score", score)
	}
	return score, nil
}

// loadScore maps utilisation (percent) and memory used (fraction) to
// [0, 100], idle GPUs scoring highest; out-of-range telemetry is clamped.
func loadScore(utilPercent, memUsedFraction float64) int64 {
	u := min(max(utilPercent, 0), 100)
	m := min(max(memUsedFraction, 0), 1) * 100
	return fwk.MaxScore - int64((u+m)/2)
}

// ScoreExtensions implements fwk.ScorePlugin.
func (g *GPUAware) ScoreExtensions() fwk.ScoreExtensions { return g }

// NormalizeScore scales the scores so the best node gets MaxScore,
// keeping their ratios, so GPUAware's weight in the profile means the same
// whatever the spread of raw scores.
func (g *GPUAware) NormalizeScore(_ context.Context, _ fwk.CycleState, _ *corev1.Pod, scores fwk.NodeScoreList) *fwk.Status {
	return helper.DefaultNormalizeScore(fwk.MaxScore, false, scores)
}
