// Package ociimage assembles the container image of a Linux binary without
// a container engine, as ko does for Go programs, so that `make images`
// works on any machine with Go. An image holds two or three layers:
//
//   - a base of /etc/passwd and /etc/group (root, and nonroot as 65532, the
//     distroless convention the manifests' runAsUser relies on), the build
//     host's CA bundle (Prometheus over https) and a world-writable /tmp;
//   - for a binary linked dynamically (kis-gpu-exporter: cgo, for NVML),
//     its program interpreter and shared libraries (with glibc's, for what
//     it dlopens), copied from the build host with the symlinks that lead
//     to them, and /etc/debian_version when the host has one;
//   - the binary, as /usr/local/bin/<name>, the entrypoint.
//
// The image runs as 65532:65532. Every file is owned by root and dated by
// the build's source date, so the same binary gives the same digest.
package ociimage

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Where the image keeps what it copies from the build host.
const (
	CABundle      = "/etc/ssl/certs/ca-certificates.crt"
	DebianVersion = "/etc/debian_version"
	BinDir        = "/usr/local/bin"
)

// NonRoot is the user the image runs as.
const NonRoot = "65532:65532"

// Source is the repository the images' source label names.
const Source = "https://github.com/kisproject/kis"

// Options say where the host files come from and what the labels say.
type Options struct {
	// HostRoot is the build host's root directory, "/" but in tests.
	HostRoot string
	// Created dates the image and every file in it: SOURCE_DATE_EPOCH.
	Created time.Time
	// Version and Revision label the image; either may be empty.
	Version, Revision string
}

// Build returns the image of binary.
func Build(binary string, o Options) (v1.Image, error) {
	info, err := inspect(o.HostRoot, binary)
	if err != nil {
		return nil, err
	}
	base := newTree()
	base.file("/etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"))
	base.file("/etc/group", 0o644, []byte("root:x:0:\nnonroot:x:65532:\n"))
	base.dir("/tmp", 0o777|os.ModeSticky)
	certs, err := hostCABundle(o.HostRoot)
	if err != nil {
		return nil, err
	}
	base.file(CABundle, 0o644, certs)
	layers := []part{{base, "passwd, group, CA bundle, /tmp"}}
	if info.dynamic() {
		libs := newTree()
		for _, p := range append([]string{info.interpreter}, info.libraries...) {
			if err := libs.copyFromHost(o.HostRoot, p); err != nil {
				return nil, fmt.Errorf("%s: copying %s: %w", binary, p, err)
			}
		}
		// It names the distribution the libraries come from, and the
		// NVIDIA container runtime mounts the driver's libraries into
		// Debian's multiarch directory only when it is there.
		if _, err := os.Stat(filepath.Join(o.HostRoot, DebianVersion)); err == nil {
			if err := libs.copyFromHost(o.HostRoot, DebianVersion); err != nil {
				return nil, err
			}
		}
		layers = append(layers, part{libs, "program interpreter and shared libraries from the build host"})
	}
	data, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(binary)
	entrypoint := path.Join(BinDir, name)
	bin := newTree()
	bin.file(entrypoint, 0o755, data)
	layers = append(layers, part{bin, entrypoint})

	adds := make([]mutate.Addendum, len(layers))
	for i, p := range layers {
		l, err := p.tree.layer(o.Created)
		if err != nil {
			return nil, err
		}
		adds[i] = mutate.Addendum{Layer: l, History: v1.History{Created: v1.Time{Time: o.Created}, CreatedBy: "ociimage: " + p.what}}
	}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), adds...)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", info.arch
	cfg.Created = v1.Time{Time: o.Created}
	cfg.Config.Entrypoint = []string{entrypoint}
	cfg.Config.User = NonRoot
	cfg.Config.WorkingDir = "/"
	cfg.Config.Labels = map[string]string{
		"org.opencontainers.image.title":  name,
		"org.opencontainers.image.source": Source,
	}
	for k, v := range map[string]string{"org.opencontainers.image.version": o.Version, "org.opencontainers.image.revision": o.Revision} {
		if v != "" {
			cfg.Config.Labels[k] = v
		}
	}
	return mutate.ConfigFile(img, cfg)
}

// hostCABundles are where Linux distributions keep the bundle, in the
// order crypto/x509 looks (root_linux.go); the image has it where Go and
// OpenSSL on Debian look first, CABundle.
var hostCABundles = []string{
	CABundle,                           // Debian, Ubuntu, Gentoo
	"/etc/pki/tls/certs/ca-bundle.crt", // Fedora, RHEL 6
	"/etc/ssl/ca-bundle.pem",           // openSUSE
	"/etc/pki/tls/cacert.pem",          // OpenELEC
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
	"/etc/ssl/cert.pem", // Alpine
}

func hostCABundle(root string) ([]byte, error) {
	for _, p := range hostCABundles {
		if b, err := os.ReadFile(filepath.Join(root, p)); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("no CA bundle on this machine (looked for %s): install ca-certificates", strings.Join(hostCABundles, ", "))
}

// part is a layer's content and what its history entry says of it.
type part struct {
	tree *tree
	what string
}

// Index joins images of one program built for different architectures
// into a multi-platform image, as Kubernetes' own images are published, so
// that each node pulls its own. Two images for one platform are an error.
func Index(images ...v1.Image) (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	seen := map[string]bool{}
	for _, img := range images {
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		p := v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture}
		if seen[p.String()] {
			return nil, fmt.Errorf("two images for %s", p.String())
		}
		seen[p.String()] = true
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	return idx, nil
}
