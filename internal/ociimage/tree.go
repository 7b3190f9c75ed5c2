package ociimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// tree is the content of one layer: regular files, symlinks and
// directories by absolute path. Parent directories are implied.
type tree struct {
	entries map[string]entry
}

type entry struct {
	mode   fs.FileMode // includes fs.ModeDir or fs.ModeSymlink
	data   []byte
	target string // of a symlink
}

func newTree() *tree { return &tree{entries: map[string]entry{}} }

func (t *tree) file(p string, mode fs.FileMode, data []byte) {
	t.entries[p] = entry{mode: mode, data: data}
}

func (t *tree) dir(p string, mode fs.FileMode) { t.entries[p] = entry{mode: mode | fs.ModeDir} }

// maxSymlinks bounds the links followed while copying one path, as the
// kernel's ELOOP does.
const maxSymlinks = 40

// copyFromHost adds the file at p under root, and every symlink on the
// way to it, so that the image resolves p as the host does: on a
// merged-/usr host, /lib64/ld-linux-x86-64.so.2 arrives as the links /lib64
// and /usr/lib64/ld-linux-x86-64.so.2 and the file they lead to.
func (t *tree) copyFromHost(root, p string) error {
	return t.copyResolving(root, p, 0)
}

func (t *tree) copyResolving(root, p string, links int) error {
	if links > maxSymlinks {
		return fmt.Errorf("%s: too many levels of symbolic links", p)
	}
	parts := strings.Split(strings.TrimPrefix(path.Clean(p), "/"), "/")
	cur := "/"
	for i, part := range parts {
		next := path.Join(cur, part)
		fi, err := os.Lstat(filepath.Join(root, next))
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(filepath.Join(root, next))
			if err != nil {
				return err
			}
			t.entries[next] = entry{mode: fs.ModeSymlink | 0o777, target: target}
			resolved := target
			if !path.IsAbs(target) {
				resolved = path.Join(cur, target)
			}
			return t.copyResolving(root, path.Join(append([]string{resolved}, parts[i+1:]...)...), links+1)
		case i == len(parts)-1:
			if !fi.Mode().IsRegular() {
				return fmt.Errorf("%s is not a regular file", next)
			}
			data, err := os.ReadFile(filepath.Join(root, next))
			if err != nil {
				return err
			}
			t.file(next, fi.Mode().Perm(), data)
		case !fi.IsDir():
			return fmt.Errorf("%s is not a directory", next)
		}
		cur = next
	}
	return nil
}

// layer writes the tree as a tar, sorted by path with each directory
// before its contents, every entry owned by root and dated modTime, so
// that equal trees give equal digests.
func (t *tree) layer(modTime time.Time) (v1.Layer, error) {
	all := map[string]entry{}
	for p, e := range t.entries {
		all[p] = e
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			if _, ok := all[d]; !ok {
				all[d] = entry{mode: fs.ModeDir | 0o755}
			}
		}
	}
	paths := make([]string, 0, len(all))
	for p := range all {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		e := all[p]
		h := &tar.Header{Name: strings.TrimPrefix(p, "/"), ModTime: modTime, Mode: int64(e.mode.Perm()), Format: tar.FormatPAX}
		if e.mode&fs.ModeSticky != 0 {
			h.Mode |= 0o1000
		}
		switch {
		case e.mode.IsDir():
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		case e.mode&fs.ModeSymlink != 0:
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.target
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
}
