package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	"k8s.io/kubernetes/cmd/kube-scheduler/app/options"

	schedulermanifests "github.com/kisproject/kis/manifests/scheduler"
	"github.com/kisproject/kis/sim"
	"github.com/kisproject/kis/sim/cluster"
	"github.com/kisproject/kis/sim/engine"
	"github.com/kisproject/kis/sim/kubesched"
	"github.com/kisproject/kis/sim/workload"
)

// setup feeds a KubeSchedulerConfiguration through the real command's
// option parsing and app.Setup, as kube-scheduler does at start.
func setup(t *testing.T, config []byte) (map[string]any, error) {
	t.Helper()
	dir := t.TempDir()
	server := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`ok`)) }))
	t.Cleanup(server.Close)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %s, insecure-skip-tls-verify: true}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
users: [{name: u, user: {username: test}}]
`, server.URL)), 0o600)
	// The manifest runs in-cluster; outside one it needs a kubeconfig.
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, append(append([]byte{}, config...), []byte("clientConnection:\n  kubeconfig: "+kubeconfig+"\n")...), 0o600)

	opts := options.NewOptions()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	for _, f := range opts.Flags.FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse([]string{"--config", cfg}); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts.SecureServing.Listener = l
	t.Cleanup(func() { l.Close() })

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	tf := &telemetryFlags{}
	_, sched, err := app.Setup(ctx, opts, tf.registryOptions()...)
	if err != nil {
		return nil, err
	}
	plugins := map[string]any{}
	for name, p := range sched.Profiles {
		plugins[name] = p.ListPlugins()
	}
	return plugins, nil
}

// The manifest's configuration loads in the real kube-scheduler command,
// and KISim builds the very same kis-scheduler profile from it.
func TestManifestConfigLoadsInSchedulerAndSim(t *testing.T) {
	got, err := setup(t, schedulermanifests.Config)
	if err != nil {
		t.Fatalf("kube-scheduler refused the manifest: %v", err)
	}
	if len(got) != 1 || got[schedulermanifests.ProfileName] == nil {
		t.Fatalf("profiles %v, want only %s", got, schedulermanifests.ProfileName)
	}

	nodes := sim.NodesOf(cluster.Default())
	prof, _ := workload.LookupProfile("llm")
	profile, err := kubesched.Profile(kubesched.GPUAwareProfile)
	if err != nil {
		t.Fatal(err)
	}
	s, err := kubesched.New(profile, nodes, &prof, &engine.Clock{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got[schedulermanifests.ProfileName], any(s.Plugins())); diff != "" {
		t.Errorf("the sim's profile differs from kube-scheduler's (-scheduler,+sim):\n%s", diff)
	}
	if !strings.Contains(fmt.Sprint(s.Plugins().Score.Enabled), "GPUAware 5") {
		t.Errorf("GPUAware is not a score plugin with weight 5: %v", s.Plugins().Score.Enabled)
	}
}

// A bad GPUAware configuration makes the scheduler refuse to start, with
// the field named.
func TestBadPluginArgsStopTheScheduler(t *testing.T) {
	bad := strings.Replace(string(schedulermanifests.Config), "scoringStrategy: BinPack", "scoringStrategy: Densest", 1)
	if bad == string(schedulermanifests.Config) {
		t.Fatal("the manifest no longer sets scoringStrategy: BinPack; update this test")
	}
	_, err := setup(t, []byte(bad))
	if err == nil || !strings.Contains(err.Error(), `pluginConfig[GPUAware].args.scoringStrategy: Unsupported value: "Densest"`) {
		t.Fatalf("Setup error = %v", err)
	}
}

// Bad telemetry flags stop the command before kube-scheduler starts.
func TestBadTelemetryFlagsStopTheCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--gpu-telemetry-prometheus-url", "prometheus:9090"}, `prometheus URL "prometheus:9090": must be an http or https URL with a host`},
		{[]string{"--gpu-telemetry-prometheus-url", "http://p:9090", "--gpu-telemetry-interval", "0s"}, "--gpu-telemetry-interval and --gpu-telemetry-timeout must be > 0"},
	} {
		cmd := newCommand()
		cmd.SetArgs(tc.args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		if err := cmd.ExecuteContext(t.Context()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error = %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}
