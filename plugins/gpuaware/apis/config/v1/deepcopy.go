package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// DeepCopyInto copies args into out; nothing is shared.
func (in *GPUAwareArgs) DeepCopyInto(out *GPUAwareArgs) {
	*out = *in
	out.TypeMeta = in.TypeMeta
	out.ScoringStrategy = copyPtr(in.ScoringStrategy)
	out.OccupancyWeight = copyPtr(in.OccupancyWeight)
	out.LoadWeight = copyPtr(in.LoadWeight)
	out.LocalityWeight = copyPtr(in.LocalityWeight)
	out.MissingLabels = copyPtr(in.MissingLabels)
	out.TelemetryMaxAge = copyPtr[metav1.Duration](in.TelemetryMaxAge)
	if in.AllowedProducts != nil {
		out.AllowedProducts = append([]string(nil), in.AllowedProducts...)
	}
	if in.DeletionCosts != nil {
		out.DeletionCosts = append([]ProductCost(nil), in.DeletionCosts...)
	}
}

// DeepCopy returns a copy of args.
func (in *GPUAwareArgs) DeepCopy() *GPUAwareArgs {
	if in == nil {
		return nil
	}
	out := new(GPUAwareArgs)
	in.DeepCopyInto(out)
	return out
}

// DeepCopyObject implements runtime.Object, so typed args can be passed to
// the plugin factory as the framework passes registered args.
func (in *GPUAwareArgs) DeepCopyObject() runtime.Object { return in.DeepCopy() }

func copyPtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
