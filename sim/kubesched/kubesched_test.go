package kubesched_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"

	"github.com/kisproject/kis/sim"
	"github.com/kisproject/kis/sim/cluster"
	"github.com/kisproject/kis/sim/engine"
	"github.com/kisproject/kis/sim/kubesched"
	"github.com/kisproject/kis/sim/workload"
)

const spec = `
nodePools:
- name: t4
  count: 2
  gpuProduct: NVIDIA-T4
  gpusPerNode: 4
  cpu: 32
  memoryGiB: 128
- name: a100
  count: 2
  gpuProduct: NVIDIA-A100-SXM4-80GB
  gpusPerNode: 4
  cpu: 96
  memoryGiB: 1024
- name: h100-cached
  count: 2
  gpuProduct: NVIDIA-H100-80GB-HBM3
  gpusPerNode: 4
  cpu: 96
  memoryGiB: 1024
  cached:
    images: [vllm/vllm-openai:v0.8.5]
    models: [meta-llama/Llama-3.1-8B-Instruct]
startup: {imagePullMBps: 150, remoteLoadMBps: 180, localLoadMBps: 900}
`

func nodes(t testing.TB) ([]*sim.Node, *workload.Profile) {
	t.Helper()
	c, err := cluster.Parse("test.yaml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	prof, _ := workload.LookupProfile("llm")
	return sim.NodesOf(c), &prof
}

// newScheduler builds profile's scheduler over ns on a clock at zero.
func newScheduler(t *testing.T, profile string, ns []*sim.Node, prof *workload.Profile) sim.Scheduler {
	t.Helper()
	f, err := kubesched.NewFactory(profile)
	if err != nil {
		t.Fatal(err)
	}
	var clk engine.Clock
	s, err := f(ns, prof, &clk)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func request(i int, prof *workload.Profile) *sim.PodRequest {
	return &sim.PodRequest{Name: "llm-" + string(rune('a'+i)), GPUs: 1, GPUMemoryGiB: prof.GPUMemoryGiB,
		CPU: prof.CPU, MemoryGiB: prof.MemoryGiB, Model: prof.Model, Image: prof.ServingImage}
}

func schedule(t *testing.T, s sim.Scheduler, ns []*sim.Node, prof *workload.Profile, n int) []string {
	t.Helper()
	var got []string
	for i := range n {
		idx, err := s.Schedule(request(i, prof), ns)
		if err != nil {
			t.Fatalf("pod %d: %v", i, err)
		}
		got = append(got, ns[idx].Name)
	}
	return got
}

func TestGPUAwareProfilePrefersCachedNodesAndPacks(t *testing.T) {
	ns, prof := nodes(t)
	s := newScheduler(t, kubesched.GPUAwareProfile, ns, prof)
	got := schedule(t, s, ns, prof, 9)
	// The 8 GPUs of the two H100 nodes (which cache the model) first,
	// packed: the first node's 4, then the second's; never a T4 (16 GB <
	// the 22 GiB the model needs); the 9th goes to an A100.
	want := []string{"h100-cached-0", "h100-cached-0", "h100-cached-0", "h100-cached-0", "h100-cached-1", "h100-cached-1", "h100-cached-1", "h100-cached-1"}
	for i, w := range want {
		if got[i] != w {
			t.Fatalf("placements %v, want %v then an A100", got, want)
		}
	}
	if got[8] != "a100-0" && got[8] != "a100-1" {
		t.Errorf("9th pod on %s, want an A100 node", got[8])
	}

	// Unbinding frees the GPU for the next pod.
	s.Unbind(request(0, prof), 4)
	if got := schedule(t, s, ns, prof, 1); got[0] != "h100-cached-0" {
		t.Errorf("after a release, pod went to %s, want the freed h100-cached-0", got[0])
	}
}

func TestDefaultProfileSpreadsAndIgnoresGPUMemory(t *testing.T) {
	ns, prof := nodes(t)
	s := newScheduler(t, kubesched.DefaultProfile, ns, prof)
	got := schedule(t, s, ns, prof, 17)
	// ImageLocality draws pods to the two nodes holding the 8 GiB serving
	// image, and LeastAllocated alternates between them (spreading where
	// GPUAware packs); then the A100s; and nothing in the default profile
	// knows GPU memory, so the 17th pod lands on a 16 GB T4 that cannot
	// hold the 22 GiB model.
	want := []string{"h100-cached-0", "h100-cached-1", "h100-cached-0", "h100-cached-1"}
	if diff := strings.Join(got[:4], " "); diff != strings.Join(want, " ") {
		t.Errorf("first placements %v, want %v", got[:4], want)
	}
	if !strings.HasPrefix(got[16], "t4-") {
		t.Errorf("17th pod on %s, want a T4", got[16])
	}
}

func TestUnschedulableWhenGPUsRunOut(t *testing.T) {
	ns, prof := nodes(t)
	s := newScheduler(t, kubesched.GPUAwareProfile, ns, prof)
	schedule(t, s, ns, prof, 16) // 8 A100 + 8 H100 GPUs fit the model; the T4s do not
	if _, err := s.Schedule(request(20, prof), ns); !errors.Is(err, sim.ErrUnschedulable) {
		t.Fatalf("17th pod: err = %v, want ErrUnschedulable", err)
	}
}

// KISim prices a replica's deletion as the cluster does: the kis-scheduler
// profile's PostBind annotates by GPU product (manifests/scheduler), the
// default profile does not annotate.
func TestDeletionCostFollowsTheManifestProfile(t *testing.T) {
	ns, prof := nodes(t)
	want := map[string]map[string]int32{
		kubesched.GPUAwareProfile: {"NVIDIA-H100-80GB-HBM3": 200, "NVIDIA-A100-SXM4-80GB": 100, "NVIDIA-T4": 16},
		kubesched.DefaultProfile:  {},
	}
	for profile, costs := range want {
		s := newScheduler(t, profile, ns, prof)
		for i, n := range ns {
			if got := s.(sim.DeletionCoster).DeletionCost(i); got != costs[n.Pool.GPUProduct] {
				t.Errorf("%s: a pod on %s (%s) costs %d, want %d", profile, n.Name, n.Pool.GPUProduct, got, costs[n.Pool.GPUProduct])
			}
		}
	}
}

func TestUnknownProfile(t *testing.T) {
	if _, err := kubesched.NewFactory("fastest"); err == nil {
		t.Fatal("no error for an unknown profile")
	}
}

// The simulator with the GPUAware profile starts replicas on nodes that
// cache the model, so scale-ups finish sooner than with the default
// profile, which spreads them.
func TestGPUAwareShortensColdStartsInSim(t *testing.T) {
	coldStart := func(profile string) float64 {
		cfg := sim.DefaultConfig()
		cfg.Scaler = "oracle"
		cfg.Duration = 30 * time.Minute
		f, err := kubesched.NewFactory(profile)
		if err != nil {
			t.Fatal(err)
		}
		cfg.NewScheduler = f
		s, err := sim.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return r.MeanColdStart
	}
	gpuAware, def := coldStart(kubesched.GPUAwareProfile), coldStart(kubesched.DefaultProfile)
	if !(gpuAware < 0.8*def) {
		t.Errorf("mean cold start %.0fs with GPUAware, %.0fs with the default profile: want GPUAware at least 20%% shorter", gpuAware, def)
	}
}

// The filter cache, node grouping and the shared pod template are
// shortcuts: a long random sequence of placements of two pod shapes,
// releases, and telemetry updates in which nodes fetch the image and the
// weights must place every pod on the same node with and without them,
// under both profiles.
func TestEquivalenceKeepsPlacements(t *testing.T) {
	for _, profile := range []string{kubesched.GPUAwareProfile, kubesched.DefaultProfile} {
		t.Run(profile, func(t *testing.T) {
			run := func(equivalence bool) []int {
				ns, prof := nodes(t)
				p, err := kubesched.Profile(profile)
				if err != nil {
					t.Fatal(err)
				}
				clk := &engine.Clock{}
				s, err := kubesched.New(p, ns, prof, clk)
				if err != nil {
					t.Fatal(err)
				}
				if !equivalence {
					kubesched.DisableEquivalence(s)
				}
				rng := rand.New(rand.NewPCG(7, 7))
				caches := make([]cluster.Cache, len(ns))
				for j, n := range ns {
					caches[j] = n.Cached()
				}
				var placed []*sim.PodRequest
				var where, out []int
				for i := range 400 {
					switch op := rng.IntN(10); {
					case op < 6:
						req := request(i, prof)
						req.Name = fmt.Sprintf("pod-%d", i)
						if rng.IntN(4) == 0 {
							req.GPUs = 2
						}
						idx, err := s.Schedule(req, ns)
						if errors.Is(err, sim.ErrUnschedulable) {
							out = append(out, -1)
							continue
						} else if err != nil {
							t.Fatal(err)
						}
						placed, where = append(placed, req), append(where, idx)
						out = append(out, idx)
					case op < 9 && len(placed) > 0:
						k := rng.IntN(len(placed))
						s.Unbind(placed[k], where[k])
						placed, where = append(placed[:k], placed[k+1:]...), append(where[:k], where[k+1:]...)
					default:
						// Now and then a node has fetched the image or
						// the weights since the last report.
						if j := rng.IntN(len(ns)); rng.IntN(2) == 0 && !slices.Contains(caches[j].Images, prof.ServingImage) {
							caches[j].Images = append(slices.Clip(caches[j].Images), prof.ServingImage)
						} else if !slices.Contains(caches[j].Models, prof.Model) {
							caches[j].Models = append(slices.Clip(caches[j].Models), prof.Model)
						}
						// Half the reports give every node the same load,
						// so that nodes differ by what they hold alone.
						stats := make([]sim.NodeStats, len(ns))
						uniform := rng.IntN(2) == 0
						for j := range stats {
							stats[j] = sim.NodeStats{GPUUtilPercent: float64(rng.IntN(3) * 40), GPUMemoryUsedFraction: float64(rng.IntN(2)) / 2, Cached: caches[j]}
							if uniform && j > 0 {
								stats[j].GPUUtilPercent, stats[j].GPUMemoryUsedFraction = stats[0].GPUUtilPercent, stats[0].GPUMemoryUsedFraction
							}
						}
						s.ObserveNodes(stats)
					}
				}
				return out
			}
			with, without := run(true), run(false)
			if diff := cmp.Diff(without, with); diff != "" {
				t.Errorf("placements differ (-without,+with):\n%s", diff)
			}
		})
	}
}

// A pool may not set the labels KubeNode derives from it; the cluster spec
// refuses them by the list this checks against what KubeNode sets.
func TestReservedLabelsAreTheOnesKubeNodeSets(t *testing.T) {
	spec := cluster.Default()
	prof, err := workload.LookupProfile("llm")
	if err != nil {
		t.Fatal(err)
	}
	set := kubesched.KubeNode(sim.NodesOf(spec)[0], &prof).Labels
	for _, k := range cluster.ReservedLabels {
		if _, ok := set[k]; !ok {
			t.Errorf("reserved label %s is not set on a GPU node", k)
		}
	}
	for k := range set {
		if _, fromPool := spec.NodePools[0].Labels[k]; !fromPool && !slices.Contains(cluster.ReservedLabels, k) {
			t.Errorf("KubeNode sets %s, which is not reserved", k)
		}
	}
}

// What replicas fetch onto a node reaches the scheduler with the node
// stats, as a kubelet's node status and the exporter's cache scan reach
// kube-scheduler: once a100-1 reports the weights, GPUAware sends the
// first replica past the H100s there instead of to a100-0; once it
// reports the serving image, the default profile's ImageLocality draws
// replicas to it, with the image's spread counted as the scheduler
// cache's snapshot counts it.
func TestSchedulerSeesWhatNodesFetched(t *testing.T) {
	const a100 = 3 // a100-1
	report := func(s sim.Scheduler, ns []*sim.Node, c cluster.Cache) {
		stats := make([]sim.NodeStats, len(ns))
		for i, n := range ns {
			stats[i].Cached = n.Cached()
		}
		stats[a100].Cached = c
		s.(sim.NodeObserver).ObserveNodes(stats)
	}

	ns, prof := nodes(t)
	s := newScheduler(t, kubesched.GPUAwareProfile, ns, prof)
	report(s, ns, cluster.Cache{Models: []string{prof.Model}})
	if got := schedule(t, s, ns, prof, 9)[8]; got != "a100-1" {
		t.Errorf("9th pod on %s, want a100-1, which reports the model", got)
	}

	ns, prof = nodes(t)
	s = newScheduler(t, kubesched.DefaultProfile, ns, prof)
	report(s, ns, cluster.Cache{Images: []string{prof.ServingImage}})
	if got := schedule(t, s, ns, prof, 3); !slices.Contains(got, "a100-1") {
		t.Errorf("first placements %v, want a100-1, which reports the serving image, among them", got)
	}
	var kubeNodes []*corev1.Node
	for _, n := range ns {
		kubeNodes = append(kubeNodes, kubesched.KubeNode(n, prof))
	}
	kubeNodes[a100].Status.Images = kubeNodes[4].Status.Images // h100-cached-0's: the serving image
	snapshot := cache.NewSnapshot(nil, kubeNodes)
	for i, kn := range kubeNodes {
		want, err := snapshot.Get(kn.Name)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want.GetImageStates(), kubesched.NodeInfo(s.(*kubesched.Scheduler), i).GetImageStates()); diff != "" {
			t.Errorf("%s: image states (-snapshot's, +scheduler's):\n%s", kn.Name, diff)
		}
	}
}
