package main

import (
	"bufio"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kisproject/kis/internal/controlplane"
	"github.com/kisproject/kis/internal/ociimage"
	"github.com/kisproject/kis/internal/ociimage/ociimagetest"
)

// The exporter's image, with an NVML library put where the NVIDIA
// container runtime mounts the driver's (beside the image's glibc, in
// Debian's multiarch directory), runs on nothing but the image: started by
// the image's loader with the host's ld.so.cache ignored, it loads that
// NVML, which needs the image's libpthread, libdl, librt and libm, reports
// nvml_up 1, and maps no shared object from outside the image.
func TestImageRunsOnItsOwnLibraries(t *testing.T) {
	bin := controlplane.BuildBinary(t, t.TempDir(), "./cmd/kis-gpu-exporter")
	img, err := ociimage.Build(bin, ociimage.Options{HostRoot: "/", Created: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	root, _ := ociimagetest.Extract(t, img)
	loader := ociimagetest.ResolveIn(t, root, interpreter(t, bin))
	libDir := filepath.Dir(loader)
	if _, err := os.Stat(filepath.Join(libDir, "libc.so.6")); err != nil {
		t.Fatalf("no libc beside the image's loader: %v", err)
	}
	fake := exec.Command("gcc", "-shared", "-fPIC", "-o", filepath.Join(libDir, "libnvidia-ml.so.1"), "testdata/fakenvml.c",
		// By soname: since glibc 2.34 -lpthread, -ldl and -lrt name
		// empty archives and add no DT_NEEDED.
		"-Wl,--no-as-needed", "-l:libpthread.so.0", "-l:libdl.so.2", "-l:librt.so.1", "-lm")
	if out, err := fake.CombinedOutput(); err != nil {
		t.Fatalf("building the stand-in NVML: %v\n%s", err, out)
	}

	cmd, body, logs := startExporter(t, loader, "--inhibit-cache", "--library-path", libDir, filepath.Join(root, "usr/local/bin/kis-gpu-exporter"),
		"--hostname=image-node", "--pod-resources-socket=")
	if !strings.Contains(body, `kis_gpu_exporter_nvml_up{Hostname="image-node"} 1`) {
		t.Fatalf("NVML not up from the image:\n%s\nlogs:\n%s", body, logs.String())
	}

	maps, err := os.Open(filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "maps"))
	if err != nil {
		t.Fatal(err)
	}
	defer maps.Close()
	loaded := map[string]bool{}
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if p := fields[len(fields)-1]; strings.Contains(p, ".so") {
			loaded[p] = true
		}
	}
	for _, want := range []string{"libnvidia-ml.so.1", "libc.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libm.so.6"} {
		if !loaded[filepath.Join(libDir, want)] {
			t.Errorf("%s not mapped from the image", want)
		}
	}
	for p := range loaded {
		if !strings.HasPrefix(p, root) {
			t.Errorf("mapped from outside the image: %s", p)
		}
	}
}

// interpreter is the program interpreter a dynamically linked binary names.
func interpreter(t *testing.T, bin string) string {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(p.Open())
			if err != nil {
				t.Fatal(err)
			}
			return strings.TrimRight(string(b), "\x00")
		}
	}
	t.Fatalf("%s is not linked dynamically: the exporter needs cgo for NVML", bin)
	return ""
}
