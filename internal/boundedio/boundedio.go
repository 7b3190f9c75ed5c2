// Package boundedio reads inputs that are held in memory whole (configs,
// cluster specs, model files) up to a bound, so that a wrong path (a
// trace, a disk image, /dev/zero) is refused by its size instead of read
// until the process is killed.
package boundedio

import (
	"fmt"
	"io"
	"os"
)

// ReadAll reads r to its end, or fails once it passes limit bytes.
func ReadAll(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

// ReadFile is ReadAll of the file at path; its errors name the path.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := ReadAll(f, limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}
