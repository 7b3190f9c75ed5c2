package ociimage

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kisproject/kis/internal/ociimage/ociimagetest"
)

var created = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func buildProgram(t *testing.T, dir string, cgo bool) string {
	t.Helper()
	return buildProgramFor(t, dir, cgo, runtime.GOARCH)
}

func buildProgramFor(t *testing.T, dir string, cgo bool, goarch string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(dir))
	cmd := exec.Command("go", "build", "-o", out, "./"+dir)
	cmd.Dir = "testdata"
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOARCH="+goarch)
	if cgo {
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOARCH="+goarch)
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", dir, err, b)
	}
	return out
}

func build(t *testing.T, binary string) v1.Image {
	t.Helper()
	img, err := Build(binary, Options{HostRoot: "/", Created: created, Version: "v1.2.3", Revision: "abc123"})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestStaticBinary(t *testing.T) {
	bin := buildProgram(t, "hello", false)
	img := build(t, bin)

	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s, want linux/%s", cfg.OS, cfg.Architecture, runtime.GOARCH)
	}
	if !slices.Equal(cfg.Config.Entrypoint, []string{"/usr/local/bin/hello"}) || cfg.Config.User != NonRoot || !cfg.Created.Equal(created) {
		t.Errorf("entrypoint %q, user %q, created %v", cfg.Config.Entrypoint, cfg.Config.User, cfg.Created)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.title": "hello", "org.opencontainers.image.source": Source,
		"org.opencontainers.image.version": "v1.2.3", "org.opencontainers.image.revision": "abc123",
	} {
		if got := cfg.Config.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if len(cfg.History) != 2 {
		t.Errorf("%d history entries, want a base and a binary layer", len(cfg.History))
	}

	root, headers := ociimagetest.Extract(t, img)
	var paths []string
	for p, h := range headers {
		paths = append(paths, p)
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(created) {
			t.Errorf("%s: owner %d:%d, time %v; want root, %v", p, h.Uid, h.Gid, h.ModTime, created)
		}
	}
	slices.Sort(paths)
	// A static binary gets no libraries: the base, its directories and
	// the binary, nothing else.
	want := []string{"/etc", "/etc/group", "/etc/passwd", "/etc/ssl", "/etc/ssl/certs", CABundle, "/tmp", "/usr", "/usr/local", "/usr/local/bin", "/usr/local/bin/hello"}
	if !slices.Equal(paths, want) {
		t.Errorf("image holds\n%q\nwant\n%q", paths, want)
	}
	if h := headers["/tmp"]; h.Mode != 0o1777 {
		t.Errorf("/tmp mode %o, want 1777", h.Mode)
	}
	if h := headers["/usr/local/bin/hello"]; h.Mode != 0o755 {
		t.Errorf("binary mode %o, want 755", h.Mode)
	}
	passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
	if !strings.Contains(string(passwd), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd lacks the nonroot user:\n%s", passwd)
	}
	out, err := exec.Command(filepath.Join(root, "usr/local/bin/hello")).CombinedOutput()
	if err != nil || string(out) != "hello from a static binary\n" {
		t.Errorf("the image's binary: %v, %q", err, out)
	}
}

// The image of a cgo binary runs on its own libraries: the image's loader,
// told to search the image's directories first and to ignore the host's
// ld.so.cache, finds every library inside the image, at start and at
// dlopen, and runs the binary.
func TestDynamicBinaryCarriesItsLibraries(t *testing.T) {
	bin := buildProgram(t, "cgohello", true)
	info, err := inspect("/", bin)
	if err != nil {
		t.Fatal(err)
	}
	if !info.dynamic() || len(info.libraries) == 0 {
		t.Fatalf("cgo binary inspected as %+v: want an interpreter and libc", info)
	}
	img := build(t, bin)
	root, headers := ociimagetest.Extract(t, img)
	if _, err := os.Stat(DebianVersion); err == nil {
		if _, ok := headers[DebianVersion]; !ok {
			t.Errorf("the host is Debian, and the image lacks %s", DebianVersion)
		}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.History) != 3 {
		t.Errorf("%d history entries, want base, libraries and binary", len(cfg.History))
	}

	loader := ociimagetest.ResolveIn(t, root, info.interpreter)
	var dirs []string
	for _, lib := range info.libraries {
		dirs = append(dirs, filepath.Dir(ociimagetest.ResolveIn(t, root, lib)))
	}
	args := []string{"--inhibit-cache", "--library-path", strings.Join(dirs, ":")}
	entry := filepath.Join(root, "usr/local/bin/cgohello")
	list, err := exec.Command(loader, append(args, "--list", entry)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s --list: %v\n%s", loader, err, list)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(list)), "\n") {
		if _, resolved, ok := strings.Cut(line, "=> "); ok && !strings.HasPrefix(resolved, root) {
			t.Errorf("library from outside the image: %s", strings.TrimSpace(line))
		}
	}
	out, err := exec.Command(loader, append(args, entry)...).CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err != nil || lines[0] != "hello through the image's libc" || len(lines) != 1+len(glibcRuntime) {
		t.Fatalf("running the image's binary with its loader: %v\n%s", err, out)
	}
	// What it dlopens, as kis-gpu-exporter does NVML, comes from the image.
	for _, line := range lines[1:] {
		if !strings.HasPrefix(line, "loaded "+root) {
			t.Errorf("dlopen found a library outside the image: %s", line)
		}
	}
}

func TestReproducible(t *testing.T) {
	bin := buildProgram(t, "hello", false)
	a, err := build(t, bin).Digest()
	if err != nil {
		t.Fatal(err)
	}
	b, err := build(t, bin).Digest()
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("two builds of one binary: digests %s and %s", a, b)
	}
	later, err := Build(bin, Options{HostRoot: "/", Created: created.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := later.Digest(); c == a {
		t.Error("another source date gave the same digest")
	}
}

// What a registry holds is the image built, digest for digest. A tarball
// (`docker save`'s format, with Docker's manifest media types) holds its
// config and layers.
func TestTarballAndPush(t *testing.T) {
	img := build(t, buildProgram(t, "hello", false))
	want, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	wantConfig, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(ociimagetest.Registry(t) + "/kisproject/hello:v1.2.3")
	if err != nil {
		t.Fatal(err)
	}

	file := filepath.Join(t.TempDir(), "hello.tar")
	if err := tarball.WriteToFile(file, ref, img); err != nil {
		t.Fatal(err)
	}
	loaded, err := tarball.ImageFromPath(file, &ref)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := loaded.ConfigName(); got != wantConfig {
		t.Errorf("tarball holds config %s, want %s", got, wantConfig)
	}
	if got, want := layerDigests(t, loaded), layerDigests(t, img); !slices.Equal(got, want) {
		t.Errorf("tarball holds layers %v, want %v", got, want)
	}

	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := pulled.Digest(); got != want {
		t.Errorf("registry holds %s, want %s", got, want)
	}
}

func layerDigests(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var ds []v1.Hash
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	return ds
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	static := buildProgram(t, "hello", false)
	dynamic := buildProgram(t, "cgohello", true)
	// A host root holding a CA bundle and nothing else: no loader, no libc.
	bare := t.TempDir()
	if err := os.MkdirAll(filepath.Join(bare, "etc/ssl/certs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bare, CABundle), []byte("certs"), 0o644); err != nil {
		t.Fatal(err)
	}
	// One holding the loader too, but no libc.
	loaderOnly := t.TempDir()
	info, err := inspect("/", dynamic)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(loaderOnly, path.Dir(info.interpreter)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(loaderOnly, info.interpreter), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, binary, root, want string
	}{
		{"missing file", filepath.Join(dir, "absent"), "/", "not a Linux executable"},
		{"not ELF", script, "/", "not a Linux executable"},
		{"no CA bundle", static, t.TempDir(), "no CA bundle on this machine"},
		{"no loader", dynamic, bare, "is not on this machine"},
		{"no libc", dynamic, loaderOnly, "it needs libc.so.6, which is in none of /lib/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(tc.binary, Options{HostRoot: tc.root, Created: created})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// A host that keeps its bundle elsewhere (Alpine's /etc/ssl/cert.pem)
// gives the image its bundle where Go looks first.
func TestCABundleFromAnotherDistribution(t *testing.T) {
	host := t.TempDir()
	if err := os.MkdirAll(filepath.Join(host, "etc/ssl"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(host, "etc/ssl/cert.pem"), []byte("alpine certs"), 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := Build(buildProgram(t, "hello", false), Options{HostRoot: host, Created: created})
	if err != nil {
		t.Fatal(err)
	}
	root, _ := ociimagetest.Extract(t, img)
	if got, _ := os.ReadFile(filepath.Join(root, CABundle)); string(got) != "alpine certs" {
		t.Errorf("%s holds %q, want the host's /etc/ssl/cert.pem", CABundle, got)
	}
}

// One program for amd64 and arm64 is one multi-platform image: a registry
// serves each platform its own image.
func TestIndex(t *testing.T) {
	var images []v1.Image
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := Build(buildProgramFor(t, "hello", false, arch), Options{HostRoot: "/", Created: created})
		if err != nil {
			t.Fatal(err)
		}
		images = append(images, img)
	}
	idx, err := Index(images...)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(ociimagetest.Registry(t) + "/kisproject/hello:v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	for i, arch := range []string{"amd64", "arm64"} {
		pulled, err := remote.Image(ref, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: arch}))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := pulled.Digest()
		want, _ := images[i].Digest()
		if got != want {
			t.Errorf("linux/%s pulls %s, want %s", arch, got, want)
		}
	}
	if _, err := Index(images[0], images[0]); err == nil || !strings.Contains(err.Error(), "two images for linux/") {
		t.Errorf("two amd64 images: error %v", err)
	}
}
