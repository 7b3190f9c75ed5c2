package gpuaware

import (
	"context"
	"encoding/json"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
)

// DeletionCost is the controller.kubernetes.io/pod-deletion-cost a GPU pod
// bound to node gets, and whether args.deletionCosts name node's GPU
// product. KISim reads it to delete replicas as the cluster will.
func (g *GPUAware) DeletionCost(node *corev1.Node) (int32, bool) {
	if node == nil || g.deletionCosts == nil {
		return 0, false
	}
	cost, ok := g.deletionCosts[node.Labels[LabelGPUProduct]]
	return cost, ok
}

// PostBind annotates a bound GPU pod with its node's deletion cost. The
// ReplicaSet controller ranks pod-deletion-cost above how many replicas
// share a node, so without it a scale-down deletes from the full nodes,
// which on a mixed cluster are the fast ones that filled first. A pod that
// already carries the annotation keeps its own. Failing to annotate only
// loses the preference: it is logged, and the pod runs as bound.
func (g *GPUAware) PostBind(ctx context.Context, state fwk.CycleState, pod *corev1.Pod, nodeName string) {
	if g.deletionCosts == nil || g.handle == nil {
		return
	}
	if _, set := pod.Annotations[corev1.PodDeletionCost]; set {
		return
	}
	if r, err := g.request(state, pod); err != nil || r.gpus == 0 {
		return
	}
	logger := klog.FromContext(ctx)
	ni, err := g.handle.SnapshotSharedLister().NodeInfos().Get(nodeName)
	if err != nil {
		logger.Error(err, "Not setting pod-deletion-cost: node not in the snapshot", "pod", klog.KObj(pod), "node", nodeName)
		return
	}
	cost, ok := g.DeletionCost(ni.Node())
	if !ok {
		return
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		// The UID precondition keeps a patch from landing on a
		// recreated pod of the same name.
		"uid":         pod.UID,
		"annotations": map[string]string{corev1.PodDeletionCost: strconv.FormatInt(int64(cost), 10)},
	}})
	if err != nil {
		logger.Error(err, "Not setting pod-deletion-cost", "pod", klog.KObj(pod))
		return
	}
	if _, err := g.handle.ClientSet().CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: Name}); err != nil {
		logger.Error(err, "Setting pod-deletion-cost failed", "pod", klog.KObj(pod), "node", nodeName, "cost", cost)
		return
	}
	logger.V(4).Info("Set pod-deletion-cost", "pod", klog.KObj(pod), "node", nodeName, "cost", cost)
}
