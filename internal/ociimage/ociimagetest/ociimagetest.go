// Package ociimagetest unpacks images as a container runtime would, for
// tests that run what an image holds, and serves a registry to push to.
package ociimagetest

import (
	"archive/tar"
	"errors"
	"io"
	"io/fs"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Extract unpacks the image's layers into a directory, as a container
// runtime does, and returns each path's tar header.
func Extract(t testing.TB, img v1.Image) (string, map[string]*tar.Header) {
	t.Helper()
	root := t.TempDir()
	headers := map[string]*tar.Header{}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			p := "/" + strings.TrimSuffix(h.Name, "/")
			headers[p] = h
			dst := filepath.Join(root, p)
			switch h.Typeflag {
			case tar.TypeDir:
				err = os.MkdirAll(dst, 0o755)
			case tar.TypeSymlink:
				err = os.Symlink(h.Linkname, dst)
			case tar.TypeReg:
				var data []byte
				if data, err = io.ReadAll(tr); err == nil {
					err = os.WriteFile(dst, data, fs.FileMode(h.Mode).Perm())
				}
			default:
				t.Fatalf("%s: unexpected tar type %c", p, h.Typeflag)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		rc.Close()
	}
	return root, headers
}

// ResolveIn follows p's symlinks inside root, reading absolute targets as
// the container would: relative to root, not to the host.
func ResolveIn(t testing.TB, root, p string) string {
	t.Helper()
	for range 40 { // the kernel's ELOOP bound
		parts := strings.Split(strings.TrimPrefix(path.Clean(p), "/"), "/")
		cur, linked := "/", false
		for i, part := range parts {
			next := path.Join(cur, part)
			target, err := os.Readlink(filepath.Join(root, next))
			if err != nil {
				cur = next
				continue
			}
			if !path.IsAbs(target) {
				target = path.Join(cur, target)
			}
			p, linked = path.Join(append([]string{target}, parts[i+1:]...)...), true
			break
		}
		if !linked {
			return filepath.Join(root, p)
		}
	}
	t.Fatalf("%s: symlink loop", p)
	return ""
}

// Registry serves an in-memory registry on loopback until the test ends
// and returns its host:port, under which images can be named and pushed
// (go-containerregistry speaks plain http to loopback registries).
func Registry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
