package boundedio

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadAllStopsPastItsLimit(t *testing.T) {
	data, err := ReadAll(strings.NewReader("12345"), 5)
	if err != nil || string(data) != "12345" {
		t.Errorf("5 bytes at limit 5 = %q, %v; want them all", data, err)
	}
	// An endless reader is refused after limit+1 bytes.
	if _, err := ReadAll(endless{}, 5); err == nil || err.Error() != "larger than 5 bytes" {
		t.Errorf("endless reader: %v, want larger than 5 bytes", err)
	}
}

func TestReadFileNamesThePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), 11), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(path, 10); err == nil || err.Error() != path+": larger than 10 bytes" {
		t.Errorf("error %v, want one naming the path and the limit", err)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "none"), 10); !os.IsNotExist(err) {
		t.Errorf("missing file: %v, want a not-exist error", err)
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '0'
	}
	return len(p), nil
}
