package sim

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	clocktesting "k8s.io/utils/clock/testing"
)

func scrapeLive(t *testing.T, l *Live) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(l)
	n, err := testutil.GatherAndCount(reg)
	if err != nil || n == 0 {
		t.Fatalf("gather: %d series, %v", n, err)
	}
	mfs, _ := reg.Gather()
	var b strings.Builder
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// newTestLive serves the LLM profile at a steady 2 requests/s for ten
// minutes, scraped every second, on a clock the test moves.
func newTestLive(t *testing.T) (*Live, *clocktesting.FakePassiveClock) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Scenario = "ramp:base=2,peak=2,duration=10m"
	cfg.ScrapeInterval = time.Second
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	l, err := NewLive(cfg, "default", "llm", clk)
	if err != nil {
		t.Fatal(err)
	}
	return l, clk
}

// A pod the cluster runs on a node with the model cached loads it, serves
// the scenario's requests and exports its series; one on an unknown node
// is reported; a vanished pod drains and its series go.
func TestLiveFollowsPods(t *testing.T) {
	l, clk := newTestLive(t)
	clk.SetTime(clk.Now().Add(time.Second))
	unknown := l.Sync([]LivePod{
		{Name: "llm-a", Node: "h100-0", Running: true},
		{Name: "llm-b"}, // unscheduled
		{Name: "llm-c", Node: "elsewhere", Running: true},
	}, 3)
	if len(unknown) != 1 || !strings.Contains(unknown[0], "llm-c on elsewhere") {
		t.Errorf("unknown %v, want llm-c on elsewhere", unknown)
	}
	clk.SetTime(clk.Now().Add(2 * time.Minute))
	l.Sync([]LivePod{{Name: "llm-a", Node: "h100-0", Running: true}, {Name: "llm-b"}}, 2)
	l.mu.Lock()
	completed := l.byName["llm-a"].live.completed
	l.mu.Unlock()
	if completed == 0 {
		t.Fatal("llm-a served nothing in two minutes")
	}
	got := scrapeLive(t, l)
	for _, want := range []string{
		`vllm:num_requests_waiting{namespace="default",pod="llm-a"}`,
		`vllm:request_success_total{namespace="default",pod="llm-a"}`,
		`vllm:e2e_request_latency_seconds_bucket{namespace="default",pod="llm-a",le="0.3"}`,
		`kube_pod_status_phase{namespace="default",phase="Pending",pod="llm-b"} 1`,
		`kube_pod_status_phase{namespace="default",phase="Running",pod="llm-a"} 1`,
		`kube_deployment_status_replicas_ready{deployment="llm",namespace="default"} 1`,
		`kis_model_cache_present{Hostname="h100-0",model="meta-llama/Llama-3.1-8B-Instruct"} 1`,
		`DCGM_FI_DEV_GPU_UTIL{Hostname="h100-0",gpu="0",modelName="NVIDIA-H100-80GB-HBM3",namespace="default",pod="llm-a"}`,
		`DCGM_FI_DEV_GPU_UTIL{Hostname="h100-0",gpu="1",modelName="NVIDIA-H100-80GB-HBM3",namespace="",pod=""} 0`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s", want)
		}
	}
	clk.SetTime(clk.Now().Add(time.Minute))
	l.Sync(nil, 0)
	if got := scrapeLive(t, l); strings.Contains(got, `pod="llm-a"`) {
		t.Errorf("llm-a still exported a minute after it vanished:\n%s", got)
	}
}

// kis-sim live is scraped from Prometheus's goroutine while its watch
// loop syncs the pods and wall time moves. Each scrape must see the run as
// it was at one instant: a counter that went back would read to Prometheus
// as a restart. `make test` runs this under -race.
func TestLiveScrapesWhileItSyncs(t *testing.T) {
	l, clk := newTestLive(t)
	success := l.s.prof.Metrics.RequestSuccess
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(l)
	pods := []LivePod{{Name: "llm-a", Node: "h100-0", Running: true}}

	synced := make(chan struct{})
	go func() {
		defer close(synced)
		for range 300 {
			clk.SetTime(clk.Now().Add(time.Second))
			l.Sync(pods, 1)
		}
	}()
	var lastSuccess float64
	var lastCompleted int64
	for syncing := true; syncing; {
		select {
		case <-synced:
			syncing = false // one more scrape, of the final state
		default:
		}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != success {
				continue
			}
			for _, m := range mf.GetMetric() {
				v := m.GetCounter().GetValue()
				if v < lastSuccess {
					t.Fatalf("%s went back from %v to %v", mf.GetName(), lastSuccess, v)
				}
				lastSuccess = v
			}
		}
		_, completed, _, _ := l.Stats()
		if completed < lastCompleted {
			t.Fatalf("Stats' completed went back from %d to %d", lastCompleted, completed)
		}
		lastCompleted = completed
	}
	if lastSuccess == 0 || lastCompleted == 0 {
		t.Fatalf("five minutes of syncs served nothing: %s %v, Stats %d", success, lastSuccess, lastCompleted)
	}
}

// With startup.keepFetched a node keeps the weights its first replica
// downloaded: from then on the exporter's gauge reports them, and the next
// replica on that node loads from local disk. Without it the node stays as
// its pool was, and every replica downloads.
func TestLiveNodeKeepsFetchedWeights(t *testing.T) {
	const model = `kis_model_cache_present{Hostname="a100-0",model="meta-llama/Llama-3.1-8B-Instruct"} 1`
	// The LLM profile's 16 GiB of weights at the default spec's 180 MB/s
	// remote and 900 MB/s local, then its 64 s of engine start-up.
	remote := 16*(1<<30)/180e6 + 64.0
	local := 16*(1<<30)/900e6 + 64.0
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("keepFetched=%v", keep), func(t *testing.T) {
			cfg := DefaultConfig()
			spec := *cfg.Cluster
			spec.Startup.KeepFetched = keep
			cfg.Cluster = &spec
			cfg.Scenario = "ramp:base=2,peak=2,duration=20m"
			clk := clocktesting.NewFakePassiveClock(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
			l, err := NewLive(cfg, "default", "llm", clk)
			if err != nil {
				t.Fatal(err)
			}
			load := func(name string) float64 {
				t.Helper()
				clk.SetTime(clk.Now().Add(time.Second))
				l.Sync([]LivePod{{Name: name, Node: "a100-0", Running: true}}, 1)
				p := l.byName[name]
				// Only the second replica finds the first one's weights.
				if got, want := strings.Contains(scrapeLive(t, l), model), keep && name == "second"; got != want {
					t.Errorf("while %s loads, a100-0 reports the model cached: %v, want %v", name, got, want)
				}
				clk.SetTime(clk.Now().Add(4 * time.Minute))
				l.Sync([]LivePod{{Name: name, Node: "a100-0", Running: true}}, 1)
				if p.phase != phaseReady {
					t.Fatalf("%s not Ready four minutes after it started", name)
				}
				return (p.readyAt - p.runningSince).Seconds()
			}
			if got := load("first"); math.Abs(got-remote) > 1e-6 {
				t.Errorf("first replica loaded in %.3f s, want %.3f (remote)", got, remote)
			}
			if got := strings.Contains(scrapeLive(t, l), model); got != keep {
				t.Errorf("after the first replica, a100-0 reports the model cached: %v, want %v", got, keep)
			}
			clk.SetTime(clk.Now().Add(time.Second))
			l.Sync(nil, 0) // the first replica goes
			want := remote
			if keep {
				want = local
			}
			if got := load("second"); math.Abs(got-want) > 1e-6 {
				t.Errorf("second replica on the same node loaded in %.3f s, want %.3f", got, want)
			}
		})
	}
}
