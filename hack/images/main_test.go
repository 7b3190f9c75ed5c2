package main

import (
	"context"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kisproject/kis/internal/controlplane"
	"github.com/kisproject/kis/internal/ociimage"
	"github.com/kisproject/kis/internal/strictyaml"
)

// The manifests deploy the images `make images` names by default: each
// KIS container is defaultRepository/<binary>, a binary under cmd/, and
// runs the image's entrypoint.
func TestManifestsNameTheImagesBuilt(t *testing.T) {
	for f, spec := range manifestPods(t) {
		image := spec.Containers[0].Image
		ref, err := name.NewTag(image, name.StrictValidation)
		if err != nil {
			t.Errorf("%s: image %q: %v", f, image, err)
			continue
		}
		binary := filepath.Base(ref.RepositoryStr())
		if got := ref.Context().Name(); got != defaultRepository+"/"+binary {
			t.Errorf("%s: image %s is not under %s", f, image, defaultRepository)
		}
		if _, err := os.Stat(filepath.Join("../../cmd", binary)); err != nil {
			t.Errorf("%s: image %s names no binary under cmd/: %v", f, image, err)
		}
		// The image's entrypoint is the binary; a command replaces it.
		if cmd := spec.Containers[0].Command; len(cmd) > 0 && cmd[0] != path.Join(ociimage.BinDir, binary) {
			t.Errorf("%s: command %q runs no binary of the image (%s)", f, cmd, path.Join(ociimage.BinDir, binary))
		}
	}
}

// The binaries take the flags the manifests give them: each runs with its
// container's args and --version, which every binary answers once all its
// flags parse, before it reads a file or a cluster.
func TestManifestArgsAreFlagsOfTheBinaries(t *testing.T) {
	dir := t.TempDir()
	for f, spec := range manifestPods(t) {
		c := spec.Containers[0]
		binary := path.Base(strings.SplitN(c.Image, ":", 2)[0])
		bin := controlplane.BuildBinary(t, dir, "./cmd/"+binary)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		out, err := exec.CommandContext(ctx, bin, append(c.Args, "--version")...).CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("%s: %s %q: %v\n%s", f, binary, c.Args, err, out)
		}
	}
}

// manifestPods are the pod specs of the three KIS workloads, by manifest.
func manifestPods(t *testing.T) map[string]corev1.PodSpec {
	t.Helper()
	specs := map[string]corev1.PodSpec{}
	for _, f := range []string{"scheduler/deployment.yaml", "adapter/deployment.yaml"} {
		var d appsv1.Deployment
		readManifest(t, f, &d)
		specs[f] = d.Spec.Template.Spec
	}
	var ds appsv1.DaemonSet
	readManifest(t, "gpu-exporter/daemonset.yaml", &ds)
	specs["gpu-exporter/daemonset.yaml"] = ds.Spec.Template.Spec
	for f, spec := range specs {
		if len(spec.Containers) != 1 {
			t.Fatalf("%s: %d containers, want 1", f, len(spec.Containers))
		}
	}
	return specs
}

func readManifest(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../../manifests", path))
	if err != nil {
		t.Fatal(err)
	}
	if err := strictyaml.Unmarshal(data, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
