package gpuaware

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/kisproject/kis/plugins/gpuaware/apis/config"
)

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// fakeTelemetry returns canned data per node.
type fakeTelemetry map[string]NodeTelemetry

func (f fakeTelemetry) NodeTelemetry(name string) (NodeTelemetry, bool) {
	t, ok := f[name]
	return t, ok
}

func newPlugin(t *testing.T, args string, tel Telemetry) *GPUAware {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	var obj runtime.Object
	if args != "" {
		obj = &runtime.Unknown{Raw: []byte(args)}
	}
	p, err := NewFactory(tel, testingclock.NewFakePassiveClock(now))(ctx, obj, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p.(*GPUAware)
}

// gpuNode has `gpus` nvidia.com/gpu and the GPU feature discovery labels
// (memory in MiB); `used` GPUs are taken by an existing pod.
func gpuNode(name string, gpus, used int, product, memMiB string) *framework.NodeInfo {
	w := st.MakeNode().Name(name).Capacity(map[corev1.ResourceName]string{ResourceGPU: itoa(gpus), corev1.ResourcePods: "110"})
	if product != "" {
		w = w.Label(LabelGPUProduct, product)
	}
	if memMiB != "" {
		w = w.Label(LabelGPUMemory, memMiB)
	}
	ni := framework.NewNodeInfo()
	ni.SetNode(w.Obj())
	if used > 0 {
		ni.AddPod(st.MakePod().Name(name + "-existing").Req(map[corev1.ResourceName]string{ResourceGPU: itoa(used)}).Obj())
	}
	return ni
}

func itoa(i int) string { return strconv.Itoa(i) }

func gpuPod(gpus int, annotations ...string) *corev1.Pod {
	w := st.MakePod().Name("p").UID("p").Req(map[corev1.ResourceName]string{ResourceGPU: itoa(gpus)})
	for i := 0; i+1 < len(annotations); i += 2 {
		w = w.Annotation(annotations[i], annotations[i+1])
	}
	return w.Obj()
}

func runFilter(t *testing.T, p *GPUAware, pod *corev1.Pod, ni *framework.NodeInfo) *fwk.Status {
	t.Helper()
	state := framework.NewCycleState()
	if _, s := p.PreFilter(context.Background(), state, pod, nil); !s.IsSuccess() {
		return s
	}
	return p.Filter(context.Background(), state, pod, ni)
}

func TestFilter(t *testing.T) {
	tests := []struct {
		name     string
		args     string
		pod      *corev1.Pod
		node     *framework.NodeInfo
		wantCode fwk.Code
		wantMsg  string
	}{
		{"fits", "", gpuPod(1, AnnotationGPUMemory, "22Gi"), gpuNode("n", 4, 3, "NVIDIA-L4", "23034"), fwk.Success, ""},
		{"no free GPU", "", gpuPod(1), gpuNode("n", 4, 4, "NVIDIA-L4", "23034"), fwk.Unschedulable, "insufficient free GPUs: 1 requested, 0 of 4 free"},
		{"node without GPUs", "", gpuPod(1), gpuNode("n", 0, 0, "", ""), fwk.Unschedulable, "insufficient free GPUs: 1 requested, 0 of 0 free"},
		{"two GPUs on a node with one free", "", gpuPod(2), gpuNode("n", 8, 7, "NVIDIA-L4", "23034"), fwk.Unschedulable, "2 requested, 1 of 8 free"},
		// 22Gi = 22528 MiB > a T4's 15360 MiB.
		{"not enough GPU memory", "", gpuPod(1, AnnotationGPUMemory, "22Gi"), gpuNode("n", 4, 0, "Tesla-T4", "15360"), fwk.UnschedulableAndUnresolvable, "GPU memory 15360 MiB is less than the 22528 MiB the pod needs"},
		{"memory label missing, Reject", "", gpuPod(1, AnnotationGPUMemory, "22Gi"), gpuNode("n", 4, 0, "NVIDIA-L4", ""), fwk.UnschedulableAndUnresolvable, "node lacks a numeric label nvidia.com/gpu.memory (pod needs 22528 MiB per GPU)"},
		{"memory label malformed, Reject", "", gpuPod(1, AnnotationGPUMemory, "22Gi"), gpuNode("n", 4, 0, "NVIDIA-L4", "lots"), fwk.UnschedulableAndUnresolvable, "node lacks a numeric label"},
		{"memory label missing, Ignore", `{"missingLabels":"Ignore"}`, gpuPod(1, AnnotationGPUMemory, "22Gi"), gpuNode("n", 4, 0, "NVIDIA-L4", ""), fwk.Success, ""},
		{"pod states no memory: label not needed", "", gpuPod(1), gpuNode("n", 4, 0, "", ""), fwk.Success, ""},
		{"wrong product", `{"allowedProducts":["NVIDIA-H100-80GB-HBM3"]}`, gpuPod(1), gpuNode("n", 4, 0, "NVIDIA-L4", "23034"), fwk.UnschedulableAndUnresolvable, `GPU product "NVIDIA-L4" is not allowed`},
		{"allowed product", `{"allowedProducts":["NVIDIA-L4"]}`, gpuPod(1), gpuNode("n", 4, 0, "NVIDIA-L4", "23034"), fwk.Success, ""},
		{"product label missing, Reject", `{"allowedProducts":["NVIDIA-L4"]}`, gpuPod(1), gpuNode("n", 4, 0, "", "23034"), fwk.UnschedulableAndUnresolvable, "node lacks label nvidia.com/gpu.product"},
		{"bad memory annotation", "", gpuPod(1, AnnotationGPUMemory, "big"), gpuNode("n", 4, 0, "NVIDIA-L4", "23034"), fwk.UnschedulableAndUnresolvable, `annotation gpu.kis.io/memory="big" is not a positive quantity`},
		// 8Ei in MiB overflowed to a negative request, and 1e30 to none:
		// both skipped the memory check and fitted any GPU.
		{"memory annotation past an int64", "", gpuPod(1, AnnotationGPUMemory, "8Ei"), gpuNode("n", 4, 0, "NVIDIA-L4", "23034"), fwk.UnschedulableAndUnresolvable, `annotation gpu.kis.io/memory="8Ei" is not a positive quantity of at most 1Pi`},
		{"memory annotation of 1e30 bytes", "", gpuPod(1, AnnotationGPUMemory, "1e30"), gpuNode("n", 4, 0, "NVIDIA-L4", "23034"), fwk.UnschedulableAndUnresolvable, `annotation gpu.kis.io/memory="1e30" is not a positive quantity of at most 1Pi`},
		{"memory annotation of 1Pi", "", gpuPod(1, AnnotationGPUMemory, "1Pi"), gpuNode("n", 4, 0, "NVIDIA-L4", "23034"), fwk.UnschedulableAndUnresolvable, "GPU memory 23034 MiB is less than the 1073741824 MiB the pod needs"},
		{"pod without GPUs is skipped", "", st.MakePod().Name("cpu").Obj(), gpuNode("n", 0, 0, "", ""), fwk.Skip, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPlugin(t, tc.args, noTelemetry{})
			s := runFilter(t, p, tc.pod, tc.node)
			if s.Code() != tc.wantCode {
				t.Fatalf("code = %v (%v), want %v", s.Code(), s.Message(), tc.wantCode)
			}
			if !strings.Contains(s.Message(), tc.wantMsg) {
				t.Errorf("message %q does not contain %q", s.Message(), tc.wantMsg)
			}
		})
	}
}

func TestScore(t *testing.T) {
	fresh := func(util, mem float64, models ...string) NodeTelemetry {
		return NodeTelemetry{GPUUtilPercent: util, GPUMemoryUsedFraction: mem, CachedModels: models, Timestamp: now.Add(-10 * time.Second)}
	}
	const model = "meta-llama/Llama-3.1-8B-Instruct"
	pod := gpuPod(1, AnnotationModel, model)
	tests := []struct {
		name  string
		args  string
		tel   fakeTelemetry
		nodes []*framework.NodeInfo
		want  []int64 // raw scores, node order
	}{
		{
			name:  "binpack prefers the fuller node",
			args:  `{"loadWeight":0,"localityWeight":0}`,
			nodes: []*framework.NodeInfo{gpuNode("a", 4, 0, "", ""), gpuNode("b", 4, 2, "", "")},
			// a: 100*(0+1)/4 = 25; b: 100*(2+1)/4 = 75.
			want: []int64{25, 75},
		},
		{
			name:  "spread prefers the emptier node",
			args:  `{"scoringStrategy":"Spread","loadWeight":0,"localityWeight":0}`,
			nodes: []*framework.NodeInfo{gpuNode("a", 4, 0, "", ""), gpuNode("b", 4, 2, "", "")},
			// a: 100*(4-1)/4 = 75; b: 100*(4-3)/4 = 25.
			want: []int64{75, 25},
		},
		{
			name:  "locality bonus",
			args:  `{"occupancyWeight":1,"loadWeight":0,"localityWeight":3}`,
			tel:   fakeTelemetry{"a": fresh(0, 0), "b": fresh(0, 0, model)},
			nodes: []*framework.NodeInfo{gpuNode("a", 4, 2, "", ""), gpuNode("b", 4, 0, "", "")},
			// a: (1*75 + 3*0)/4 = 18; b: (1*25 + 3*100)/4 = 81.
			want: []int64{18, 81},
		},
		{
			name:  "load penalty",
			args:  `{"occupancyWeight":0,"loadWeight":1,"localityWeight":0}`,
			tel:   fakeTelemetry{"a": fresh(90, 0.8), "b": fresh(10, 0.2)},
			nodes: []*framework.NodeInfo{gpuNode("a", 4, 0, "", ""), gpuNode("b", 4, 0, "", "")},
			// a: 100 - (90+80)/2 = 15; b: 100 - (10+20)/2 = 85.
			want: []int64{15, 85},
		},
		{
			name:  "stale or missing telemetry is neutral",
			args:  `{"occupancyWeight":0,"loadWeight":1,"localityWeight":1}`,
			tel:   fakeTelemetry{"a": {GPUUtilPercent: 0, CachedModels: []string{model}, Timestamp: now.Add(-2 * time.Minute)}},
			nodes: []*framework.NodeInfo{gpuNode("a", 4, 0, "", ""), gpuNode("b", 4, 0, "", "")},
			// Older than the 1m default: load 50, locality 50: (50+50)/2 = 50 for both.
			want: []int64{50, 50},
		},
		{
			name:  "defaults weigh occupancy 1, load 1, locality 3",
			tel:   fakeTelemetry{"a": fresh(50, 0.5), "b": fresh(50, 0.5, model)},
			nodes: []*framework.NodeInfo{gpuNode("a", 4, 3, "", ""), gpuNode("b", 4, 0, "", "")},
			// a: occupancy 100, load 50, locality 0: (100+50+0)/5 = 30.
			// b: occupancy 25, load 50, locality 100: (25+50+300)/5 = 75.
			want: []int64{30, 75},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tel := Telemetry(noTelemetry{})
			if tc.tel != nil {
				tel = tc.tel
			}
			p := newPlugin(t, tc.args, tel)
			state := framework.NewCycleState()
			if _, s := p.PreFilter(context.Background(), state, pod, nil); !s.IsSuccess() {
				t.Fatal(s)
			}
			var got []int64
			for _, n := range tc.nodes {
				s, status := p.Score(context.Background(), state, pod, n)
				if !status.IsSuccess() {
					t.Fatal(status)
				}
				got = append(got, s)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("scores (-want,+got):\n%s", diff)
			}
		})
	}
}

func TestNormalizeScoreScalesToMax(t *testing.T) {
	p := newPlugin(t, "", noTelemetry{})
	scores := fwk.NodeScoreList{{Name: "a", Score: 30}, {Name: "b", Score: 75}}
	if s := p.NormalizeScore(context.Background(), nil, nil, scores); !s.IsSuccess() {
		t.Fatal(s)
	}
	// 30*100/75 = 40; 75 -> 100.
	if scores[0].Score != 40 || scores[1].Score != 100 {
		t.Errorf("normalised = %v, want a=40 b=100", scores)
	}
}

func TestArgs(t *testing.T) {
	got, err := ParseArgs(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &config.GPUAwareArgs{ScoringStrategy: config.BinPack, OccupancyWeight: 1, LoadWeight: 1, LocalityWeight: 3, MissingLabels: config.Reject, TelemetryMaxAge: time.Minute}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want,+got):\n%s", diff)
	}
	bad := []struct{ raw, want string }{
		{`{"scoringStrategy":"Random"}`, `pluginConfig[GPUAware].args.scoringStrategy: Unsupported value: "Random"`},
		{`{"loadWeight":-1}`, "pluginConfig[GPUAware].args.loadWeight: Invalid value: -1: must be in [0, 100]"},
		{`{"occupancyWeight":0,"loadWeight":0,"localityWeight":0}`, "at least one weight must be positive"},
		{`{"allowedProducts":[""]}`, "pluginConfig[GPUAware].args.allowedProducts[0]: Required value"},
		{`{"allowedProducts":["A","A"]}`, "pluginConfig[GPUAware].args.allowedProducts[1]: Duplicate value"},
		{`{"missingLabels":"Maybe"}`, `missingLabels: Unsupported value: "Maybe"`},
		{`{"telemetryMaxAge":"-5s"}`, "telemetryMaxAge: Invalid value"},
		{`{"loadWieght":1}`, `unknown field "loadWieght"`},
		{"scoringStrategy: [", "GPUAware args"},
		{`{"deletionCosts":[{"product":"","cost":1}]}`, "pluginConfig[GPUAware].args.deletionCosts[0].product: Required value"},
		{`{"deletionCosts":[{"product":"A","cost":1},{"product":"A","cost":2}]}`, `deletionCosts[1].product: Duplicate value: "A"`},
		{`{"deletionCosts":[{"product":"A","cost":3000000000}]}`, "GPUAware args"},
		{`{"deletionCosts":[{"product":"A","costs":1}]}`, `unknown field "costs"`},
	}
	for _, tc := range bad {
		if _, err := ParseArgs(&runtime.Unknown{Raw: []byte(tc.raw)}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseArgs(%s) error = %v, want one containing %q", tc.raw, err, tc.want)
		}
	}
	// YAML, as a KubeSchedulerConfiguration file writes it, is accepted too.
	if _, err := ParseArgs(&runtime.Unknown{Raw: []byte("scoringStrategy: Spread\n")}); err != nil {
		t.Errorf("YAML args: %v", err)
	}
}
