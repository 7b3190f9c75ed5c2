package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kisproject/kis/internal/controlplane"
)

// The real binary on a machine without an NVIDIA driver (this one, and
// CI) starts, serves /metrics with nvml_up 0 and the NVML error, and stops
// cleanly on SIGTERM. On a GPU machine it reports nvml_up 1 instead, which
// `make gpu-check` covers.
func TestBinaryWithoutGPU(t *testing.T) {
	if _, err := exec.LookPath("nvidia-smi"); err == nil {
		t.Skip("an NVIDIA driver is installed: make gpu-check tests this machine")
	}
	dir := t.TempDir()
	bin := controlplane.BuildBinary(t, t.TempDir(), "./cmd/kis-gpu-exporter")
	cmd, body, logs := startExporter(t, bin, "--hostname=cpu-node", "--model-cache-dir="+dir, "--nvml-retry-min=100ms")
	for _, want := range []string{`kis_gpu_exporter_nvml_up{Hostname="cpu-node"} 0`, `kis_gpu_exporter_nvml_error_info{Hostname="cpu-node",error="nvml init: `} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
	// It keeps retrying without crashing.
	time.Sleep(500 * time.Millisecond)
	if cmd.ProcessState != nil {
		t.Fatalf("exited: %s", logs.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop on SIGTERM")
	}
}

// startExporter runs argv (the exporter, or a loader running it) with
// --listen-address on a free loopback port, until the test ends, and
// returns the process, its first /metrics (waiting up to 20 s for it to
// listen) and its output so far and to come.
func startExporter(t *testing.T, argv ...string) (*exec.Cmd, string, *strings.Builder) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(argv[0], append(argv[1:], "--listen-address="+addr)...)
	logs := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return cmd, string(b), logs
	}
	t.Fatalf("no /metrics: %s", logs.String())
	return nil, "", nil
}

// Bad settings stop the binary at once with status 2 and say what is wrong.
func TestBinaryRefusesBadSettings(t *testing.T) {
	bin := controlplane.BuildBinary(t, t.TempDir(), "./cmd/kis-gpu-exporter")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--nvml-retry-min=0"}, "Want 0 < --nvml-retry-min <= --nvml-retry-max"},
		{[]string{"--nvml-retry-min=10s", "--nvml-retry-max=1s"}, "Want 0 < --nvml-retry-min <= --nvml-retry-max"},
		{[]string{"listen-address=:9500"}, `Unexpected arguments: every setting is a --flag" args=["listen-address=:9500"]`},
		{[]string{"--listen-adress=:9500"}, "unknown flag: --listen-adress"},
		// The kubelet registers lowercase node names: this one joins none.
		{[]string{"--hostname=GPU-Node-1"}, `\"GPU-Node-1\" is not a node name: a lowercase RFC 1123 subdomain`},
		{[]string{"--hostname=gpu node"}, `\"gpu node\" is not a node name`},
	} {
		// Bounded: a binary that took the settings would serve until killed.
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		out, err := exec.CommandContext(ctx, bin, append(tc.args, "--listen-address=127.0.0.1:0")...).CombinedOutput()
		cancel()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: %v, output:\n%s\nwant exit status 2 and %q", tc.args, err, out, tc.want)
		}
	}
}

func TestNodeNameIsTheKubeletsForTheHost(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ToLower(strings.TrimSpace(host))
	got, err := nodeName("")
	switch valid := len(validation.IsDNS1123Subdomain(want)) == 0; {
	case valid && (err != nil || got != want):
		t.Errorf("nodeName(\"\") = %q, %v; want the host name %q as the kubelet canonicalises it, %q", got, err, host, want)
	case !valid && err == nil:
		t.Errorf("nodeName(\"\") = %q for host name %q, which no node can have; want an error", got, host)
	}
	if got, err := nodeName("gpu-1.zone-a"); err != nil || got != "gpu-1.zone-a" {
		t.Errorf(`nodeName("gpu-1.zone-a") = %q, %v; want it unchanged`, got, err)
	}
}

// --version answers at once, with the version make stamps in.
func TestBinaryPrintsVersion(t *testing.T) {
	bin := controlplane.BuildBinary(t, t.TempDir(), "./cmd/kis-gpu-exporter")
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || string(out) != "kis-gpu-exporter "+version+"\n" {
		t.Errorf("--version: %v, %q", err, out)
	}
}
