//go:build unix

package atomicfile

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// The umask is process-wide, so this test must not run in parallel.
func TestWriteGivesTheModeOSCreateWould(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o022))
	dir := t.TempDir()
	write := func(path string) fs.FileMode {
		t.Helper()
		if err := Write(path, func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err }); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	model := filepath.Join(dir, "model.json")
	if got := write(model); got != 0o644 {
		t.Errorf("new file under umask 022: mode %v, want -rw-r--r--", got)
	}
	if err := os.Chmod(model, 0o640); err != nil {
		t.Fatal(err)
	}
	if got := write(model); got != 0o640 {
		t.Errorf("rewritten file: mode %v, want the existing -rw-r-----", got)
	}
	syscall.Umask(0o077)
	if got := write(filepath.Join(dir, "curve.csv")); got != 0o600 {
		t.Errorf("new file under umask 077: mode %v, want -rw-------", got)
	}
}
