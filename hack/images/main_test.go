package main

import (
	"context"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kisproject/kis/internal/controlplane"
	"github.com/kisproject/kis/internal/ociimage"
	"github.com/kisproject/kis/internal/ociimage/ociimagetest"
	"github.com/kisproject/kis/internal/strictyaml"
)

// The manifests deploy the images `make images` names by default: each
// KIS container is defaultRepository/<binary>, a binary under cmd/, and
// runs the image's entrypoint.
func TestManifestsNameTheImagesBuilt(t *testing.T) {
	for f, spec := range manifestPods(t) {
		image := spec.Containers[0].Image
		ref, binary, err := parseImage(image)
		if err != nil {
			t.Errorf("%s: image %q: %v", f, image, err)
			continue
		}
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
		_, binary, err := parseImage(c.Image)
		if err != nil {
			t.Fatalf("%s: image %q: %v", f, c.Image, err)
		}
		bin := controlplane.BuildBinary(t, dir, "./cmd/"+binary)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		out, err := exec.CommandContext(ctx, bin, append(c.Args, "--version")...).CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("%s: %s %q: %v\n%s", f, binary, c.Args, err, out)
		}
	}
}

// parseImage parses a manifest's image reference and names the binary
// its repository is for.
func parseImage(image string) (name.Tag, string, error) {
	ref, err := name.NewTag(image, name.StrictValidation)
	return ref, path.Base(ref.RepositoryStr()), err
}

// manifestPods are the pod specs of the three KIS workloads, by manifest.
func manifestPods(t *testing.T) map[string]corev1.PodSpec {
	t.Helper()
	specs := map[string]corev1.PodSpec{}
	for _, f := range []string{"scheduler/deployment.yaml", "adapter/deployment.yaml"} {
		var d appsv1.Deployment
		if err := strictyaml.UnmarshalFile(filepath.Join("../../manifests", f), &d); err != nil {
			t.Fatal(err)
		}
		specs[f] = d.Spec.Template.Spec
	}
	var ds appsv1.DaemonSet
	if err := strictyaml.UnmarshalFile("../../manifests/gpu-exporter/daemonset.yaml", &ds); err != nil {
		t.Fatal(err)
	}
	specs["gpu-exporter/daemonset.yaml"] = ds.Spec.Template.Spec
	for f, spec := range specs {
		if len(spec.Containers) != 1 {
			t.Fatalf("%s: %d containers, want 1", f, len(spec.Containers))
		}
	}
	return specs
}

// Two builds of one program make one pushed index and a tarball per
// architecture; another program stays a plain image.
func TestBuildPushesOneImagePerProgram(t *testing.T) {
	dir := t.TempDir()
	program := func(arch string) string {
		out := filepath.Join(dir, arch, "hello")
		cmd := exec.Command("go", "build", "-o", out, "../../internal/ociimage/testdata/hello")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOARCH="+arch)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, b)
		}
		return out
	}
	amd64, arm64 := program("amd64"), program("arm64")
	other := filepath.Join(dir, "other")
	if err := os.Link(amd64, other); err != nil {
		t.Fatal(err)
	}
	groups := byName([]string{amd64, other, arm64})
	if len(groups) != 2 || len(groups[0]) != 2 || groups[0][1] != arm64 || groups[1][0] != other {
		t.Fatalf("grouped as %q", groups)
	}

	host := ociimagetest.Registry(t)
	out := filepath.Join(dir, "images")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	o := ociimage.Options{HostRoot: "/", Created: time.Unix(0, 0)}
	for _, g := range groups {
		if err := build(t.Context(), g, host+"/kis", "v1", out, true, o); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"hello-amd64.tar", "hello-arm64.tar", "other.tar"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	for program, index := range map[string]bool{"hello": true, "other": false} {
		ref, err := name.ParseReference(host + "/kis/" + program + ":v1")
		if err != nil {
			t.Fatal(err)
		}
		desc, err := remote.Get(ref)
		if err != nil {
			t.Fatal(err)
		}
		if desc.MediaType.IsIndex() != index {
			t.Errorf("%s pushed as %s, want an index: %v", program, desc.MediaType, index)
		}
	}
}
