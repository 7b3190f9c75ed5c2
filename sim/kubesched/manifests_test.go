package kubesched_test

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kisproject/kis/internal/strictyaml"
	"github.com/kisproject/kis/plugins/gpuaware"
	"github.com/kisproject/kis/sim"
	"github.com/kisproject/kis/sim/kubesched"
	"github.com/kisproject/kis/sim/workload"
)

// The replica KISim schedules asks what the example Deployment's pods ask
// of a real kube-scheduler: the same GPU, CPU and memory, the same GPU
// memory and model for GPUAware, and the same image; the profile's
// calibration (docs/calibration.md) is of that Deployment.
func TestReplicaMatchesTheExampleDeployment(t *testing.T) {
	var dep appsv1.Deployment
	if err := strictyaml.UnmarshalFile("../../manifests/examples/deployment.yaml", &dep); err != nil {
		t.Fatal(err)
	}
	prof, err := workload.LookupProfile("llm")
	if err != nil {
		t.Fatal(err)
	}
	simPod := kubesched.PodTemplate(sim.ReplicaRequest(&prof, 0))
	pod := dep.Spec.Template
	if pod.Spec.SchedulerName != kubesched.GPUAwareProfile {
		t.Errorf("schedulerName %q, want %s", pod.Spec.SchedulerName, kubesched.GPUAwareProfile)
	}
	want, got := simPod.Spec.Containers[0], pod.Spec.Containers[0]
	if got.Image != want.Image {
		t.Errorf("image %s, KISim's %s", got.Image, want.Image)
	}
	for name, q := range want.Resources.Requests {
		if r := got.Resources.Requests[name]; r.Cmp(q) != 0 {
			t.Errorf("requests %s: %s, KISim's %s", name, r.String(), q.String())
		}
	}
	if r := got.Resources.Limits[gpuaware.ResourceGPU]; r.Cmp(want.Resources.Limits[gpuaware.ResourceGPU]) != 0 {
		t.Errorf("limits %s: %s, KISim's 1", gpuaware.ResourceGPU, r.String())
	}
	mem := func(annotations map[string]string) resource.Quantity {
		q, err := resource.ParseQuantity(annotations[gpuaware.AnnotationGPUMemory])
		if err != nil {
			t.Fatalf("%s: %v", gpuaware.AnnotationGPUMemory, err)
		}
		return q
	}
	if g, w := mem(pod.Annotations), mem(simPod.Annotations); g.Cmp(w) != 0 {
		t.Errorf("%s %s, KISim's %s", gpuaware.AnnotationGPUMemory, g.String(), w.String())
	}
	if g, w := pod.Annotations[gpuaware.AnnotationModel], simPod.Annotations[gpuaware.AnnotationModel]; g != w {
		t.Errorf("%s %q, KISim's %q", gpuaware.AnnotationModel, g, w)
	}
}
