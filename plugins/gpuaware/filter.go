package gpuaware

import (
	"context"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/kisproject/kis/plugins/gpuaware/apis/config"
)

const stateKey fwk.StateKey = Name + "/request"

// maxGPUMemory is the most GPU memory a pod may ask for, a thousand times
// today's largest GPU.
var maxGPUMemory = resource.MustParse("1Pi")

// gpuRequest is what a pod asks of a node's GPUs; computed once per
// scheduling cycle in PreFilter.
type gpuRequest struct {
	gpus      int64
	memoryMiB int64 // per GPU; 0 when the pod states none
	model     string
}

// Clone implements fwk.StateData; the request is never modified.
func (r *gpuRequest) Clone() fwk.StateData { return r }

// requestOf reads the pod's GPU count (sum over its containers), its
// per-GPU memory annotation and its model annotation.
func requestOf(pod *corev1.Pod) (*gpuRequest, error) {
	r := &gpuRequest{model: pod.Annotations[AnnotationModel]}
	for i := range pod.Spec.Containers {
		if q, ok := pod.Spec.Containers[i].Resources.Requests[ResourceGPU]; ok {
			r.gpus += q.Value()
		} else if q, ok := pod.Spec.Containers[i].Resources.Limits[ResourceGPU]; ok {
			// Extended resources default their request to the limit.
			r.gpus += q.Value()
		}
	}
	if v, ok := pod.Annotations[AnnotationGPUMemory]; ok {
		q, err := resource.ParseQuantity(v)
		// Bounded so that the MiB below fit an int64: past it, 8Ei came out
		// negative and skipped the memory check.
		if err != nil || q.Sign() <= 0 || q.Cmp(maxGPUMemory) > 0 {
			return nil, fmt.Errorf("annotation %s=%q is not a positive quantity of at most %s (e.g. 22Gi)", AnnotationGPUMemory, v, maxGPUMemory.String())
		}
		r.memoryMiB = (q.Value() + (1<<20 - 1)) >> 20
	}
	return r, nil
}

func (g *GPUAware) request(state fwk.CycleState, pod *corev1.Pod) (*gpuRequest, error) {
	if d, err := state.Read(stateKey); err == nil {
		if r, ok := d.(*gpuRequest); ok {
			return r, nil
		}
	}
	return requestOf(pod)
}

// PreFilter reads the pod's GPU needs once for the cycle. Pods that ask
// for no GPU skip the plugin's Filter.
func (g *GPUAware) PreFilter(_ context.Context, state fwk.CycleState, pod *corev1.Pod, _ []fwk.NodeInfo) (*fwk.PreFilterResult, *fwk.Status) {
	r, err := requestOf(pod)
	if err != nil {
		return nil, fwk.NewStatus(fwk.UnschedulableAndUnresolvable, err.Error())
	}
	if r.gpus == 0 {
		return nil, fwk.NewStatus(fwk.Skip)
	}
	state.Write(stateKey, r)
	return nil, nil
}

// PreFilterExtensions implements fwk.PreFilterPlugin; the request does not
// depend on other pods.
func (g *GPUAware) PreFilterExtensions() fwk.PreFilterExtensions { return nil }

// Filter rejects a node that has fewer free GPUs than the pod requests,
// whose GPU product is not allowed, or whose GPUs have less memory than the
// pod's annotation asks. A node without the GPU feature discovery label a
// check needs is rejected, or the check skipped, per args.missingLabels.
func (g *GPUAware) Filter(ctx context.Context, state fwk.CycleState, pod *corev1.Pod, nodeInfo fwk.NodeInfo) *fwk.Status {
	r, err := g.request(state, pod)
	if err != nil {
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, err.Error())
	}
	if r.gpus == 0 {
		return nil
	}
	node := nodeInfo.Node()
	total := nodeInfo.GetAllocatable().GetScalarResources()[ResourceGPU]
	free := total - nodeInfo.GetRequested().GetScalarResources()[ResourceGPU]
	if free < r.gpus {
		return fwk.NewStatus(fwk.Unschedulable, fmt.Sprintf("insufficient free GPUs: %d requested, %d of %d free", r.gpus, free, total))
	}
	if g.allowed != nil {
		product, ok := node.Labels[LabelGPUProduct]
		switch {
		case !ok && g.args.MissingLabels == config.Reject:
			return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, "node lacks label "+LabelGPUProduct)
		case ok && !g.allowed[product]:
			return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, fmt.Sprintf("GPU product %q is not allowed", product))
		}
	}
	if r.memoryMiB > 0 {
		v, ok := node.Labels[LabelGPUMemory]
		mib, perr := strconv.ParseInt(v, 10, 64)
		switch {
		case !ok || perr != nil:
			if ok {
				klog.FromContext(ctx).V(4).Info("Node has a malformed GPU memory label", "node", klog.KObj(node), "value", v)
			}
			if g.args.MissingLabels == config.Reject {
				return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, fmt.Sprintf("node lacks a numeric label %s (pod needs %d MiB per GPU)", LabelGPUMemory, r.memoryMiB))
			}
		case mib < r.memoryMiB:
			return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, fmt.Sprintf("GPU memory %d MiB is less than the %d MiB the pod needs", mib, r.memoryMiB))
		}
	}
	return nil
}
