// Package atomicfile writes files that readers see whole or not at all.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
)

// Write writes path through write: into a temporary file in the same
// directory, synced, then renamed over path, so that a reader never sees
// half a file and a crash or a failed write never leaves one.
func Write(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
