package gpuexporter

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kisproject/kis/internal/strictyaml"
	"github.com/kisproject/kis/plugins/gpuaware"
)

// hostPathAt is the node directory that pod mounts at mountPath in
// container, "" if none.
func hostPathAt(spec corev1.PodSpec, container int, mountPath string) string {
	for _, m := range spec.Containers[container].VolumeMounts {
		if m.MountPath != mountPath {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name == m.Name && v.HostPath != nil {
				return v.HostPath.Path
			}
		}
	}
	return ""
}

// The example vLLM Deployment downloads its weights into the node
// directory the exporter reads, and names its model as the exporter will
// report it: cache locality works as shipped.
func TestExampleDeploymentUsesTheExportersCache(t *testing.T) {
	var ds appsv1.DaemonSet
	if err := strictyaml.UnmarshalFile("../manifests/gpu-exporter/daemonset.yaml", &ds); err != nil {
		t.Fatal(err)
	}
	var dep appsv1.Deployment
	if err := strictyaml.UnmarshalFile("../manifests/examples/deployment.yaml", &dep); err != nil {
		t.Fatal(err)
	}

	exporter := ds.Spec.Template.Spec
	var cacheDir string
	for _, a := range exporter.Containers[0].Args {
		if v, ok := strings.CutPrefix(a, "--model-cache-dir="); ok {
			cacheDir = v
		}
	}
	read := hostPathAt(exporter, 0, cacheDir)

	vllm := dep.Spec.Template.Spec
	var hubCache string
	for _, e := range vllm.Containers[0].Env {
		if e.Name == "HF_HUB_CACHE" {
			hubCache = e.Value
		}
	}
	written := hostPathAt(vllm, 0, hubCache)
	if read == "" || written != read {
		t.Errorf("the exporter reads node directory %q (--model-cache-dir=%s), vLLM downloads into %q (HF_HUB_CACHE=%s)", read, cacheDir, written, hubCache)
	}

	model := dep.Spec.Template.Annotations[gpuaware.AnnotationModel]
	args := vllm.Containers[0].Args
	if i := slices.Index(args, "--model"); i < 0 || i+1 >= len(args) || args[i+1] != model {
		t.Errorf("%s is %q, vLLM serves %v", gpuaware.AnnotationModel, model, args)
	}
}
