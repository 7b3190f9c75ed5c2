// Package atomicfile writes files that readers see whole or not at all.
package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"strconv"
)

// Write writes path through write: into a temporary file in the same
// directory, synced, then renamed over path, so that a reader never sees
// half a file and a crash or a failed write never leaves one. The file
// gets the mode os.Create would leave: an existing file's, or 0666 less the
// umask for a new one.
func Write(path string, write func(io.Writer) error) error {
	f, err := createBeside(path)
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

// createBeside creates a new, uniquely named file next to path. It does
// what os.CreateTemp does, but with os.Create's mode: CreateTemp's 0600
// would leave a trained model unreadable to any other user, such as the
// adapter's (UID 65532) once the file is copied into its image.
func createBeside(path string) (*os.File, error) {
	existing, statErr := os.Stat(path)
	for range 100 {
		f, err := os.OpenFile(path+".tmp-"+strconv.FormatUint(rand.Uint64(), 36), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if statErr == nil {
			// OpenFile's mode is masked by the umask; os.Create keeps an
			// existing file's.
			if err := f.Chmod(existing.Mode().Perm()); err != nil {
				f.Close()
				os.Remove(f.Name())
				return nil, err
			}
		}
		return f, nil
	}
	return nil, &fs.PathError{Op: "create", Path: path + ".tmp-*", Err: fs.ErrExist}
}
