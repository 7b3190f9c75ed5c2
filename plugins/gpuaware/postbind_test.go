package gpuaware

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
	testingclock "k8s.io/utils/clock/testing"
)

const costArgs = `{"deletionCosts":[{"product":"NVIDIA-H100-80GB-HBM3","cost":200},{"product":"NVIDIA-A100-SXM4-80GB","cost":100}]}`

// PostBind sets pod-deletion-cost by the node's GPU product through the
// API, and leaves alone what it should not touch.
func TestPostBindSetsDeletionCost(t *testing.T) {
	nodes := []*corev1.Node{
		st.MakeNode().Name("h100").Label(LabelGPUProduct, "NVIDIA-H100-80GB-HBM3").Obj(),
		st.MakeNode().Name("a100").Label(LabelGPUProduct, "NVIDIA-A100-SXM4-80GB").Obj(),
		st.MakeNode().Name("l4").Label(LabelGPUProduct, "NVIDIA-L4").Obj(),
	}
	cases := []struct {
		name     string
		args     string
		pod      *corev1.Pod
		node     string
		want     string // the annotation after PostBind; "" for none
		wantSeen bool
	}{
		{"H100", costArgs, gpuPod(1), "h100", "200", true},
		{"A100", costArgs, gpuPod(1), "a100", "100", true},
		{"product not listed", costArgs, gpuPod(1), "l4", "", false},
		{"no deletionCosts", "", gpuPod(1), "h100", "", false},
		{"user's own cost wins", costArgs, gpuPod(1, corev1.PodDeletionCost, "-5"), "h100", "-5", true},
		{"not a GPU pod", costArgs, st.MakePod().Name("p").UID("p").Obj(), "h100", "", false},
		{"node gone from the snapshot", costArgs, gpuPod(1), "elsewhere", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			pod := tc.pod.DeepCopy()
			pod.Namespace = "default"
			client := fake.NewClientset(pod)
			h, err := frameworkruntime.NewFramework(ctx, nil, nil,
				frameworkruntime.WithClientSet(client),
				frameworkruntime.WithSnapshotSharedLister(cache.NewSnapshot(nil, nodes)))
			if err != nil {
				t.Fatal(err)
			}
			var obj runtime.Object
			if tc.args != "" {
				obj = &runtime.Unknown{Raw: []byte(tc.args)}
			}
			p, err := NewFactory(noTelemetry{}, testingclock.NewFakePassiveClock(now))(ctx, obj, h)
			if err != nil {
				t.Fatal(err)
			}
			p.(*GPUAware).PostBind(ctx, framework.NewCycleState(), pod, tc.node)

			got, err := client.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			v, seen := got.Annotations[corev1.PodDeletionCost]
			if v != tc.want || seen != tc.wantSeen {
				t.Errorf("annotation %s = %q (present %v), want %q (present %v)", corev1.PodDeletionCost, v, seen, tc.want, tc.wantSeen)
			}
		})
	}
}
