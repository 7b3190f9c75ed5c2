package adapter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kisproject/kis/policy"
)

const validConfig = `
prometheus:
  url: http://127.0.0.1:9090
targets:
- namespace: serving
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: llm}
  minReplicas: 1
  maxReplicas: 10
  sloSeconds: 2
`

func TestParseConfigDefaults(t *testing.T) {
	cfg, err := ParseConfig([]byte(validConfig))
	if err != nil {
		t.Fatal(err)
	}
	tg := cfg.Targets[0]
	got := []any{cfg.MetricName, cfg.Interval.Duration, cfg.MaxStaleness.Duration, cfg.HoldFor.Duration, cfg.Prometheus.Timeout.Duration,
		tg.ID, tg.Scaler, tg.Queries.Set, tg.Queries.Selector, tg.Direct, tg.Guard()}
	want := []any{"kis_desired_replicas", 15 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Second,
		"serving.llm", "kis", "vllm", `namespace="serving",pod=~"llm-.*"`, false, policy.SLOGuard{SLOSeconds: 2}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want,+got):\n%s", diff)
	}
}

// The SLO guard is on for kis scalers unless turned off, and never on for
// the baselines, whose rules are served as they are.
func TestSLOGuardConfig(t *testing.T) {
	for _, tc := range []struct {
		extra string
		want  policy.SLOGuard
	}{
		{"", policy.SLOGuard{SLOSeconds: 2}},
		{"  scaler: kis:/models/mine.json\n", policy.SLOGuard{SLOSeconds: 2}},
		{"  sloGuard: false\n", policy.SLOGuard{}},
		{"  scaler: queue:10\n", policy.SLOGuard{}},
		{"  scaler: fixed:3\n  sloGuard: false\n", policy.SLOGuard{}},
	} {
		cfg, err := ParseConfig([]byte(validConfig + tc.extra))
		if err != nil {
			t.Fatalf("%q: %v", tc.extra, err)
		}
		if got := cfg.Targets[0].Guard(); got != tc.want {
			t.Errorf("%q: guard %+v, want %+v", tc.extra, got, tc.want)
		}
	}
}

func TestParseConfigErrors(t *testing.T) {
	target := func(extra string) string {
		return "prometheus: {url: http://p:9090}\ntargets:\n- namespace: serving\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: llm}\n  minReplicas: 1\n  maxReplicas: 10\n  sloSeconds: 2\n" + extra
	}
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown field", target("  maxReplica: 3\n"), []string{`unknown field "targets[0].maxReplica"`}},
		{"a Prometheus address without a scheme", strings.Replace(target(""), "http://p:9090", "prometheus:9090", 1), []string{`prometheus.url: Invalid value: "prometheus:9090": must be an http or https URL with a host`}},
		{"a Prometheus URL without a host", strings.Replace(target(""), "http://p:9090", "http:///api", 1), []string{`prometheus.url: Invalid value: "http:///api"`}},
		{"no prometheus, no targets", "interval: 10s\n", []string{"prometheus.url: Required value", "targets: Required value"}},
		{"bounds", strings.Replace(target(""), "minReplicas: 1", "minReplicas: 0", 1), []string{"targets[0].minReplicas: Invalid value: 0: must be at least 1"}},
		{"max below min", strings.Replace(target(""), "maxReplicas: 10", "maxReplicas: 0", 1), []string{"targets[0].maxReplicas: Invalid value: 0: must be at least minReplicas"}},
		{"slo", strings.Replace(target(""), "sloSeconds: 2", "sloSeconds: -1", 1), []string{"targets[0].sloSeconds: Invalid value: -1"}},
		{"an infinite slo", strings.Replace(target(""), "sloSeconds: 2", "sloSeconds: .inf", 1), []string{`line 7: targets[0].sloSeconds: Invalid value: ".inf": must be a finite number`}},
		{"a field set twice", target("  maxReplicas: 3\n"), []string{`line 8: duplicate field "targets[0].maxReplicas" (first set on line 6)`}},
		{"scaler", target("  scaler: queue:0\n"), []string{`targets[0].scaler: Invalid value: "queue:0"`, `want queue:<outstanding requests per replica, finite and >= 0.001>`}},
		{"a queue target below an HPA's milli-unit", target("  scaler: queue:0.0005\n"), []string{`targets[0].scaler: Invalid value: "queue:0.0005"`, `finite and >= 0.001`}},
		{"more replicas than an int32 holds", target("  scaler: fixed:3000000000\n"), []string{`targets[0].scaler: Invalid value: "fixed:3000000000"`, `want fixed:<replicas >= 1>`}},
		{"an infinite queue target", target("  scaler: queue:Inf\n"), []string{`targets[0].scaler: Invalid value: "queue:Inf"`, `finite and >= 0.001`}},
		{"kis with nothing after the colon", target("  scaler: 'kis:'\n"), []string{`targets[0].scaler: Invalid value: "kis:"`, `nothing follows the colon; want kis:<model file>, or kis for the embedded model`}},
		{"unknown scaler", target("  scaler: magic\n"), []string{`targets[0].scaler: Invalid value: "magic"`, `unknown; want kis[:<model file>], queue:<n> or fixed:<n>`}},
		{"guard on a baseline", target("  scaler: queue:10\n  sloGuard: true\n"), []string{`targets[0].sloGuard: Invalid value: true: guards kis scalers only; queue:10 is served as its rule says`}},
		{"query set", target("  queries: {set: tgi}\n"), []string{`targets[0].queries.set: Unsupported value: "tgi": supported values: "triton", "vllm"`}},
		{"override name", target("  queries: {overrides: {latency: up}}\n"), []string{`targets[0].queries.overrides[latency]: Unsupported value: "latency"`}},
		{"override template", target("  queries: {overrides: {waiting: 'sum(x{<<.Selector>})'}}\n"), []string{`targets[0].queries.overrides[waiting]: Invalid value`}},
		{"override field", target("  queries: {overrides: {waiting: 'sum(x{<<.Selectr>>})'}}\n"), []string{`targets[0].queries.overrides[waiting]: Invalid value`, `can't evaluate field Selectr`}},
		{"id not a label value", target("  id: serving/llm\n"), []string{`targets[0].id: Invalid value: "serving/llm"`}},
		{"namespace", strings.Replace(target(""), "namespace: serving", "namespace: Serving_1", 1), []string{`targets[0].namespace: Invalid value: "Serving_1"`}},
		{"apiVersion", strings.Replace(target(""), "apiVersion: apps/v1", "apiVersion: a/b/c", 1), []string{`targets[0].scaleTargetRef.apiVersion: Invalid value: "a/b/c"`}},
		{"metric name", "metricName: kis.desired\n" + target(""), []string{`metricName: Invalid value: "kis.desired"`}},
		{"timeout vs interval", "interval: 5s\n" + target(""), []string{`prometheus.timeout: Invalid value: "5s": must be shorter than interval`}},
		{"duplicate", target("") + "- namespace: serving\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: llm}\n  minReplicas: 1\n  maxReplicas: 3\n  sloSeconds: 1\n",
			[]string{`targets[1].id: Duplicate value: "serving.llm (also targets[0]) in namespace serving"`}},
		{"a direct target beside another on its object", target("") + "- namespace: serving\n  id: llm-2\n  scaleTargetRef: {apiVersion: apps/v1beta2, kind: Deployment, name: llm}\n  minReplicas: 1\n  maxReplicas: 3\n  sloSeconds: 1\n  direct: true\n",
			[]string{`targets[1].scaleTargetRef: Duplicate value: "Deployment serving/llm (also targets[0]): a target with direct scaling must be its object's only one"`}},
		{"a target beside a direct one on its object", target("  direct: true\n") + "- namespace: serving\n  id: llm-2\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: llm}\n  minReplicas: 1\n  maxReplicas: 3\n  sloSeconds: 1\n",
			[]string{`targets[1].scaleTargetRef: Duplicate value: "Deployment serving/llm (also targets[0])`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml))
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestBuiltinVLLMQueries(t *testing.T) {
	cfg, err := ParseConfig([]byte(validConfig))
	if err != nil {
		t.Fatal(err)
	}
	q, err := NewQueries(&cfg.Targets[0])
	if err != nil {
		t.Fatal(err)
	}
	sel := `{namespace="serving",pod=~"llm-.*"}`
	want := Queries{
		SignalRequestRate:     `sum(rate(vllm:request_success_total` + sel + `[1m]))`,
		SignalRequestRatePrev: `sum(rate(vllm:request_success_total` + sel + `[1m] offset 1m)) or sum(rate(vllm:request_success_total` + sel + `[1m]))`,
		SignalWaiting:         `sum(vllm:num_requests_waiting` + sel + `)`,
		SignalRunning:         `sum(vllm:num_requests_running` + sel + `)`,
		SignalP95Latency:      `histogram_quantile(0.95, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket` + sel + `[1m])))`,
		SignalGPUUtil:         `avg(DCGM_FI_DEV_GPU_UTIL` + sel + `)`,
		SignalReadyReplicas:   `sum(kube_deployment_status_replicas_ready{namespace="serving",deployment="llm"})`,
		SignalPendingPods:     `sum(kube_pod_status_phase{phase="Pending",namespace="serving",pod=~"llm-.*"})`,
		SignalLastScrape:      `max(timestamp(vllm:num_requests_waiting` + sel + `))`,
	}
	if diff := cmp.Diff(want, q); diff != "" {
		t.Errorf("queries (-want,+got):\n%s", diff)
	}
}

func TestTritonQueriesConvertMilliseconds(t *testing.T) {
	cfg, err := ParseConfig([]byte(validConfig + "  queries: {set: triton, overrides: {gpu_util_percent: 'avg(my_util{<<.Selector>>})'}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	q, err := NewQueries(&cfg.Targets[0])
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		SignalP95Latency: `histogram_quantile(0.95, sum by (le) (rate(nv_inference_first_response_histogram_ms_bucket{namespace="serving",pod=~"llm-.*"}[1m]))) * 0.001`,
		SignalRunning:    `vector(0)`,
		SignalGPUUtil:    `avg(my_util{namespace="serving",pod=~"llm-.*"})`,
	} {
		if q[name] != want {
			t.Errorf("%s = %s, want %s", name, q[name], want)
		}
	}
}

// A configuration the adapter accepts must start: every target's queries
// render and every scaler but a model (read at start) builds.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(validConfig))
	f.Add([]byte(validConfig + "  scaler: queue:4\n  queries:\n    overrides:\n      waiting: sum(vllm:num_requests_waiting{<<.Selector>>})\n"))
	f.Add([]byte(validConfig + "- namespace: serving\n  id: b\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: b}\n  minReplicas: 1\n  maxReplicas: 1\n  sloSeconds: 0.5\n  scaler: fixed:1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			return
		}
		for i := range cfg.Targets {
			tg := &cfg.Targets[i]
			if _, err := NewQueries(tg); err != nil {
				t.Errorf("targets[%d] accepted, but its queries fail: %v", i, err)
			}
			if isKIS(tg.Scaler) {
				if tg.Scaler == "kis:" {
					t.Errorf("targets[%d] accepted kis: with no model file", i)
				}
				continue
			}
			if _, err := NewDecider(tg.Scaler); err != nil {
				t.Errorf("targets[%d] accepted, but its scaler fails: %v", i, err)
			}
		}
	})
}

// A config path that names something else (a disk image, /dev/zero) is
// refused by its size, not read into memory.
func TestLoadConfigRefusesAHugeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(validConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, maxConfigBytes+1); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(path); err == nil || err.Error() != "reading adapter config: "+path+": larger than 16777216 bytes" {
		t.Errorf("error %v, want one naming the file and the bound", err)
	}
}

// Two targets may serve decisions for one object, for its HPA to select
// one: another scaler beside the one in use, in shadow.
func TestTargetsInShadowOnOneObject(t *testing.T) {
	cfg, err := ParseConfig([]byte(validConfig + "- namespace: serving\n  id: llm-queue\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: llm}\n  minReplicas: 1\n  maxReplicas: 3\n  sloSeconds: 1\n  scaler: queue:8\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Targets) != 2 || cfg.Targets[0].ID == cfg.Targets[1].ID {
		t.Errorf("targets %+v, want two with their own ids", cfg.Targets)
	}
}
