package controlplane

import (
	"os/exec"
	"path/filepath"
)

// BuildBinary builds one of the repository's commands (e.g.
// "./cmd/kis-adapter") into dir and returns its path, so that a test runs
// the real binary with its real flag parsing.
func BuildBinary(t TB, dir, pkg string) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}
