package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteReplacesWholeOrNotAtAll(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "curve.csv")
	text := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	if err := Write(path, text("first\n")); err != nil {
		t.Fatal(err)
	}
	// A write that fails half way leaves the previous file as it was.
	broken := errors.New("disk full")
	err := Write(path, func(w io.Writer) error {
		io.WriteString(w, "sec")
		return broken
	})
	if !errors.Is(err, broken) {
		t.Fatalf("failed write returned %v, want %v", err, broken)
	}
	if got, _ := os.ReadFile(path); string(got) != "first\n" {
		t.Errorf("after a failed write the file reads %q, want the first version", got)
	}
	if err := Write(path, text("second\n")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "second\n" {
		t.Errorf("file reads %q, want the second version", got)
	}
	// No temporary file is left behind.
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only %s", len(entries), path)
	}
	if err := Write(filepath.Join(dir, "missing", "x"), text("x")); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}
