package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kisproject/kis/internal/controlplane"
)

// Bad settings stop the binary before it serves, with a status and a
// message saying what is wrong: 2 for the command line, 1 for the config.
func TestBinaryRefusesBadSettings(t *testing.T) {
	dir := t.TempDir()
	bin := controlplane.BuildBinary(t, dir, "./cmd/kis-adapter")
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, []byte("prometheus: {url: http://p:9090}\ntargets: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args   []string
		status int
		want   string
	}{
		{[]string{"config=" + config}, 2, `Unexpected arguments: every setting is a --flag" args=["config=` + config + `"]`},
		{[]string{"--confg=" + config}, 2, "unknown flag: --confg"},
		{nil, 1, "--config is required"},
		{[]string{"--config=" + config}, 1, "targets: Required value: at least one target"},
	} {
		// Bounded: a binary that took the settings would serve until killed.
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		out, err := exec.CommandContext(ctx, bin, tc.args...).CombinedOutput()
		cancel()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != tc.status || !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: %v, output:\n%s\nwant exit status %d and %q", tc.args, err, out, tc.status, tc.want)
		}
	}
}

// --version answers without a config, with the version make stamps in.
func TestBinaryPrintsVersion(t *testing.T) {
	bin := controlplane.BuildBinary(t, t.TempDir(), "./cmd/kis-adapter")
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || string(out) != "kis-adapter "+version+"\n" {
		t.Errorf("--version: %v, %q", err, out)
	}
}
