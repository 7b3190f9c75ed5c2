package kubesched

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	resourceslicetracker "k8s.io/dynamic-resource-allocation/resourceslice/tracker"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/features"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/apis/config/scheme"
	"k8s.io/kubernetes/pkg/scheduler/apis/config/validation"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/dynamicresources"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/nodevolumelimits"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	"k8s.io/kubernetes/pkg/scheduler/metrics"
	"k8s.io/kubernetes/pkg/scheduler/util/assumecache"
	"k8s.io/utils/clock"

	schedulermanifests "github.com/kisproject/kis/manifests/scheduler"
	"github.com/kisproject/kis/plugins/gpuaware"
	"github.com/kisproject/kis/sim"
	"github.com/kisproject/kis/sim/cluster"
	"github.com/kisproject/kis/sim/workload"
)

// Profiles KISim can schedule with.
const (
	// GPUAwareProfile is the kis-scheduler profile of manifests/scheduler.
	GPUAwareProfile = schedulermanifests.ProfileName
	// DefaultProfile is kube-scheduler's default profile (NodeResourcesFit
	// with LeastAllocated, ImageLocality, ...), for comparison.
	DefaultProfile = "default-scheduler"
)

// LoadConfig decodes a KubeSchedulerConfiguration the way kube-scheduler's
// --config does (options.LoadConfigFromFile: the scheme's strict universal
// decoder, with defaulting) and validates it as the command does.
func LoadConfig(data []byte) (*schedconfig.KubeSchedulerConfiguration, error) {
	obj, gvk, err := scheme.Codecs.UniversalDecoder().Decode(data, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("decoding KubeSchedulerConfiguration: %w", err)
	}
	cfg, ok := obj.(*schedconfig.KubeSchedulerConfiguration)
	if !ok {
		return nil, fmt.Errorf("decoding KubeSchedulerConfiguration: got %s", gvk)
	}
	cfg.TypeMeta.APIVersion = gvk.GroupVersion().String()
	if err := validation.ValidateKubeSchedulerConfiguration(cfg); err != nil {
		return nil, fmt.Errorf("invalid KubeSchedulerConfiguration: %w", err)
	}
	return cfg, nil
}

// Profile returns a profile by schedulerName: GPUAwareProfile from the
// embedded manifest, DefaultProfile from an empty, defaulted configuration.
// The configuration's global percentageOfNodesToScore is folded into the
// returned profile's when the profile sets none.
func Profile(name string) (*schedconfig.KubeSchedulerProfile, error) {
	data := schedulermanifests.Config
	if name == DefaultProfile {
		data = []byte("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n")
	}
	cfg, err := LoadConfig(data)
	if err != nil {
		return nil, err
	}
	for i := range cfg.Profiles {
		if p := &cfg.Profiles[i]; p.SchedulerName == name {
			if p.PercentageOfNodesToScore == nil && cfg.PercentageOfNodesToScore != nil {
				p.PercentageOfNodesToScore = cfg.PercentageOfNodesToScore
			}
			return p, nil
		}
	}
	return nil, fmt.Errorf("no scheduler profile %q (known: %s, %s)", name, GPUAwareProfile, DefaultProfile)
}

var registerMetrics sync.Once

// Scheduler is a sim.Scheduler backed by the scheduler framework.
type Scheduler struct {
	ctx       context.Context
	fw        framework.Framework
	telemetry *Telemetry
	nodes     []string       // sim node index -> name
	index     map[string]int // name -> sim node index
	ordered   []fwk.NodeInfo // the snapshot's NodeInfos in sim node order
	pods      map[string]*corev1.Pod
	poolOf    map[string]*cluster.NodePool

	percentageOfNodesToScore int32
	nextStart                int
	feasible, reps           []fwk.NodeInfo // reused between cycles
	filterCache              map[int]filterVerdict
	filterShape              podShape
	seenClasses              map[nodeClass]bool
	// noEquivalence turns off the filter cache and node grouping, for tests.
	noEquivalence bool
}

var (
	_ sim.Scheduler    = (*Scheduler)(nil)
	_ sim.NodeObserver = (*Scheduler)(nil)
)

// NewFactory returns a sim.SchedulerFactory that schedules with the named
// profile.
func NewFactory(profile string) (sim.SchedulerFactory, error) {
	p, err := Profile(profile)
	if err != nil {
		return nil, err
	}
	return func(nodes []*sim.Node, prof *workload.Profile, c clock.PassiveClock) (sim.Scheduler, error) {
		return New(p, nodes, prof, c)
	}, nil
}

// New builds the framework for profile over the simulated nodes.
func New(profile *schedconfig.KubeSchedulerProfile, nodes []*sim.Node, prof *workload.Profile, c clock.PassiveClock) (*Scheduler, error) {
	// The framework records plugin metrics; they must be registered once.
	registerMetrics.Do(metrics.Register)
	ctx := klog.NewContext(context.Background(), klog.Background().V(10)) // quiet: decisions log at V(4)+

	s := &Scheduler{
		index: map[string]int{}, pods: map[string]*corev1.Pod{}, ctx: ctx,
		filterCache: map[int]filterVerdict{}, poolOf: map[string]*cluster.NodePool{}, seenClasses: map[nodeClass]bool{},
	}
	if profile.PercentageOfNodesToScore != nil {
		s.percentageOfNodesToScore = *profile.PercentageOfNodesToScore
	}
	var kubeNodes []*corev1.Node
	for i, n := range nodes {
		kn := KubeNode(n, prof)
		kubeNodes = append(kubeNodes, kn)
		s.nodes = append(s.nodes, kn.Name)
		s.index[kn.Name] = i
		s.poolOf[kn.Name] = n.Pool
	}
	s.telemetry = newTelemetry(nodes, s.nodes, c)

	registry := plugins.NewInTreeRegistry()
	if err := registry.Merge(frameworkruntime.Registry{gpuaware.Name: gpuaware.NewFactory(s.telemetry, c)}); err != nil {
		return nil, err
	}
	// Bound pods are added to and removed from the snapshot's NodeInfos
	// directly, as the scheduler cache's assume does. The snapshot-wide
	// indexes (pods with affinity, PVC users) stay empty, which is right
	// because simulated replicas have neither. (Snapshot.StartMutations
	// would maintain them, but its clones lose the image spread that
	// ImageLocality scores with.)
	snapshot := cache.NewSnapshot(nil, kubeNodes)
	// The snapshot lists nodes in map order; keep the spec's order so that
	// Filter and Score see nodes, and ties break, the same way every run.
	for _, name := range s.nodes {
		ni, err := snapshot.Get(name)
		if err != nil {
			return nil, err
		}
		s.ordered = append(s.ordered, ni)
	}
	// The in-tree plugins read volumes, CSI drivers and DRA objects through
	// informers. The simulated cluster has none of those: an empty fake
	// clientset with informers that are never started answers "none".
	client := fake.NewClientset()
	factory := informers.NewSharedInformerFactory(client, 0)
	draManager, err := newDRAManager(ctx, client, factory)
	if err != nil {
		return nil, err
	}
	fw, err := frameworkruntime.NewFramework(ctx, registry, profile,
		frameworkruntime.WithClientSet(client),
		frameworkruntime.WithInformerFactory(factory),
		frameworkruntime.WithSharedDRAManager(draManager),
		frameworkruntime.WithSharedCSIManager(nodevolumelimits.NewCSIManager(factory.Storage().V1().CSINodes().Lister())),
		frameworkruntime.WithSnapshotSharedLister(snapshot),
		frameworkruntime.WithParallelism(1),
	)
	if err != nil {
		return nil, fmt.Errorf("building scheduler framework for profile %q: %w", profile.SchedulerName, err)
	}
	s.fw = fw
	return s, nil
}

// newDRAManager builds the DynamicResources plugin's view of claims,
// slices and device classes as scheduler.New does when DRA is enabled.
func newDRAManager(ctx context.Context, client *fake.Clientset, factory informers.SharedInformerFactory) (fwk.SharedDRAManager, error) {
	if !feature.DefaultFeatureGate.Enabled(features.DynamicResourceAllocation) {
		return nil, nil
	}
	logger := klog.FromContext(ctx)
	claims := assumecache.NewAssumeCache(logger, factory.Resource().V1().ResourceClaims().Informer(), "ResourceClaim", "", nil)
	tracker, err := resourceslicetracker.StartTracker(ctx, resourceslicetracker.Options{
		SliceInformer: factory.Resource().V1().ResourceSlices(),
		KubeClient:    client,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the resource slice tracker: %w", err)
	}
	return dynamicresources.NewDRAManager(ctx, claims, tracker, factory), nil
}

// Schedule runs one scheduling cycle for the pod and reserves the chosen
// node. Ties between equal scores go to the first node in spec order, where
// kube-scheduler picks one at random, so that runs stay reproducible.
func (s *Scheduler) Schedule(req *sim.PodRequest, _ []*sim.Node) (int, error) {
	pod := s.kubePod(req)
	state := framework.NewCycleState()
	if _, status, _ := s.fw.RunPreFilterPlugins(s.ctx, state, pod); !status.IsSuccess() {
		if status.IsRejected() {
			return -1, sim.ErrUnschedulable
		}
		return -1, status.AsError()
	}
	// Like kube-scheduler, stop filtering once enough feasible nodes are
	// found, and start each cycle where the last one stopped
	// (schedule_one.go, findNodesThatPassFilters).
	if shape := shapeOf(req); shape != s.filterShape {
		s.filterShape = shape
		clear(s.filterCache)
	}
	n := len(s.ordered)
	want := numFeasibleNodesToFind(s.percentageOfNodesToScore, n)
	feasible := s.feasible[:0]
	processed := 0
	for i := 0; i < n && len(feasible) < want; i++ {
		idx := (s.nextStart + i) % n
		ni := s.ordered[idx]
		processed++
		fits, err := s.filter(state, pod, idx, ni)
		if err != nil {
			return -1, err
		}
		if fits {
			feasible = append(feasible, ni)
		}
	}
	s.nextStart = (s.nextStart + processed) % n
	s.feasible = feasible
	if len(feasible) == 0 {
		return -1, sim.ErrUnschedulable
	}
	chosen := feasible[0].Node().Name
	if len(feasible) > 1 {
		candidates := s.representatives(feasible)
		if status := s.fw.RunPreScorePlugins(s.ctx, state, pod, candidates); !status.IsSuccess() {
			return -1, status.AsError()
		}
		scores, status := s.fw.RunScorePlugins(s.ctx, state, pod, candidates)
		if !status.IsSuccess() {
			return -1, status.AsError()
		}
		best := int64(-1)
		for _, sc := range scores {
			if sc.TotalScore > best {
				best, chosen = sc.TotalScore, sc.Name
			}
		}
	}
	if status := s.fw.RunReservePluginsReserve(s.ctx, state, pod, chosen); !status.IsSuccess() {
		return -1, status.AsError()
	}
	pi, err := framework.NewPodInfo(pod)
	if err != nil {
		return -1, err
	}
	i := s.index[chosen]
	s.ordered[i].AddPodInfo(pi)
	pod.Spec.NodeName = chosen
	s.pods[req.Name] = pod
	return i, nil
}

// representatives keeps the first of each group of feasible nodes that
// every score plugin must score alike: same pool (labels, capacity, images,
// taints), same requested resources and pod count, same telemetry. Scoring
// one node per group gives the same winner as scoring all: each plugin's
// raw score is a function of the node alone, normalisation uses only the
// highest and lowest scores, which duplicates do not change, and the first
// node of the winning group is the first node with the winning score, which
// is the one chosen without grouping. A cluster of identical empty nodes
// then costs one Score call instead of hundreds.
// TestEquivalenceKeepsPlacements checks both shortcuts change no placement.
func (s *Scheduler) representatives(feasible []fwk.NodeInfo) []fwk.NodeInfo {
	if s.noEquivalence {
		return feasible
	}
	clear(s.seenClasses)
	reps := s.reps[:0]
	for _, ni := range feasible {
		req := ni.GetRequested()
		name := ni.Node().Name
		class := nodeClass{
			pool:      s.poolOf[name],
			milliCPU:  req.GetMilliCPU(),
			memory:    req.GetMemory(),
			gpus:      req.GetScalarResources()[gpuaware.ResourceGPU],
			pods:      len(ni.GetPods()),
			telemetry: s.telemetry.class(name),
		}
		if s.seenClasses[class] {
			continue
		}
		s.seenClasses[class] = true
		reps = append(reps, ni)
	}
	s.reps = reps
	return reps
}

type nodeClass struct {
	pool             *cluster.NodePool
	milliCPU, memory int64
	gpus             int64
	pods             int
	telemetry        telemetryClass
}

// filter runs the Filter plugins on one node, or reuses the verdict of an
// earlier cycle. Every replica is made from the same pod template, and with
// no inter-pod affinity, topology spread constraints, volumes or claims,
// each in-tree Filter plugin's verdict depends only on the pod's shape and
// the node's state, which NodeInfo's generation tracks: the equivalence
// class cache that earlier kube-scheduler versions kept. The cache is
// dropped when the pod's shape changes; TestFilterCacheKeepsPlacements
// checks it changes no placement.
func (s *Scheduler) filter(state fwk.CycleState, pod *corev1.Pod, idx int, ni fwk.NodeInfo) (bool, error) {
	gen := ni.GetGeneration()
	if v, ok := s.filterCache[idx]; ok && v.generation == gen && !s.noEquivalence {
		return v.fits, nil
	}
	status := s.fw.RunFilterPlugins(s.ctx, state, pod, ni)
	if !status.IsSuccess() && !status.IsRejected() {
		return false, status.AsError()
	}
	s.filterCache[idx] = filterVerdict{generation: gen, fits: status.IsSuccess()}
	return status.IsSuccess(), nil
}

type filterVerdict struct {
	generation int64
	fits       bool
}

// podShape is what makes two replicas' pods equivalent for Filter.
type podShape struct {
	gpus           int
	gpuMem, cpu, m float64
	model, image   string
}

func shapeOf(r *sim.PodRequest) podShape {
	return podShape{r.GPUs, r.GPUMemoryGiB, r.CPU, r.MemoryGiB, r.Model, r.Image}
}

// numFeasibleNodesToFind is kube-scheduler's (schedule_one.go): all nodes
// below 100, else a percentage that shrinks with cluster size.
func numFeasibleNodesToFind(percentage int32, numAllNodes int) int {
	const minFeasibleNodesToFind, minFeasibleNodesPercentageToFind = 100, 5
	if numAllNodes < minFeasibleNodesToFind {
		return numAllNodes
	}
	if percentage == 0 {
		percentage = max(int32(50)-int32(numAllNodes)/125, minFeasibleNodesPercentageToFind)
	}
	return max(numAllNodes*int(percentage)/100, minFeasibleNodesToFind)
}

// Plugins lists the profile's enabled plugins per extension point, as
// the framework resolved them (defaults and multiPoint expanded).
func (s *Scheduler) Plugins() *schedconfig.Plugins { return s.fw.ListPlugins() }

// Unbind removes a pod that left its node.
func (s *Scheduler) Unbind(req *sim.PodRequest, _ int) {
	pod, ok := s.pods[req.Name]
	if !ok {
		return
	}
	delete(s.pods, req.Name)
	if err := s.ordered[s.index[pod.Spec.NodeName]].RemovePod(klog.FromContext(s.ctx), pod); err != nil {
		// The sim only unbinds pods it bound; anything else is a bug.
		panic(fmt.Sprintf("kubesched: removing pod %s: %v", req.Name, err))
	}
}

// ObserveNodes implements sim.NodeObserver.
func (s *Scheduler) ObserveNodes(stats []sim.NodeStats) { s.telemetry.update(stats) }

// Node name and pod shape -------------------------------------------------

// KubeNode renders a simulated node as a v1.Node with the labels NVIDIA GPU
// feature discovery sets and the images its disk holds.
func KubeNode(n *sim.Node, prof *workload.Profile) *corev1.Node {
	labels := map[string]string{corev1.LabelHostname: n.Name}
	for k, v := range n.Pool.Labels {
		labels[k] = v
	}
	alloc := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewMilliQuantity(int64(n.Pool.CPU*1000), resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(int64(n.Pool.MemoryGiB*(1<<30)), resource.BinarySI),
		corev1.ResourcePods:   *resource.NewQuantity(110, resource.DecimalSI),
	}
	if n.GPUs > 0 {
		labels[gpuaware.LabelGPUProduct] = n.Pool.GPUProduct
		labels[gpuaware.LabelGPUMemory] = strconv.FormatInt(int64(n.Pool.GPUMemory()*1024), 10)
		alloc[gpuaware.ResourceGPU] = *resource.NewQuantity(int64(n.GPUs), resource.DecimalSI)
	}
	var images []corev1.ContainerImage
	for _, img := range n.Pool.Cached.Images {
		size := int64(0)
		if img == prof.ServingImage {
			size = int64(prof.ImageGiB * (1 << 30))
		}
		images = append(images, corev1.ContainerImage{Names: []string{img}, SizeBytes: size})
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: labels},
		Status: corev1.NodeStatus{
			Capacity: alloc, Allocatable: alloc, Images: images,
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}
}

func (s *Scheduler) kubePod(req *sim.PodRequest) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: req.Name, Namespace: "default", UID: types.UID(req.Name),
			Annotations: map[string]string{
				gpuaware.AnnotationGPUMemory: strconv.FormatInt(int64(req.GPUMemoryGiB*1024), 10) + "Mi",
				gpuaware.AnnotationModel:     req.Model,
			},
		},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:  "server",
				Image: req.Image,
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{
						gpuaware.ResourceGPU:  *resource.NewQuantity(int64(req.GPUs), resource.DecimalSI),
						corev1.ResourceCPU:    *resource.NewMilliQuantity(int64(req.CPU*1000), resource.DecimalSI),
						corev1.ResourceMemory: *resource.NewQuantity(int64(req.MemoryGiB*(1<<30)), resource.BinarySI),
					},
					Limits: corev1.ResourceList{gpuaware.ResourceGPU: *resource.NewQuantity(int64(req.GPUs), resource.DecimalSI)},
				},
			}},
		},
	}
}

// Telemetry is the in-memory GPU telemetry KISim feeds the plugin: the
// simulator reports each node's GPU load at every scrape, and the cache
// contents come from the cluster spec.
type Telemetry struct {
	clock  clock.PassiveClock
	byName map[string]*gpuaware.NodeTelemetry
	order  []*gpuaware.NodeTelemetry
}

func newTelemetry(nodes []*sim.Node, names []string, c clock.PassiveClock) *Telemetry {
	t := &Telemetry{clock: c, byName: map[string]*gpuaware.NodeTelemetry{}}
	for i, n := range nodes {
		nt := &gpuaware.NodeTelemetry{CachedModels: n.Pool.Cached.Models, Timestamp: c.Now()}
		t.byName[names[i]] = nt
		t.order = append(t.order, nt)
	}
	return t
}

// NodeTelemetry implements gpuaware.Telemetry.
func (t *Telemetry) NodeTelemetry(name string) (gpuaware.NodeTelemetry, bool) {
	nt, ok := t.byName[name]
	if !ok {
		return gpuaware.NodeTelemetry{}, false
	}
	return *nt, true
}

// telemetryClass is what of a node's telemetry the plugin can see.
type telemetryClass struct {
	util, mem float64
	at        time.Time
}

func (t *Telemetry) class(name string) telemetryClass {
	nt := t.byName[name]
	return telemetryClass{nt.GPUUtilPercent, nt.GPUMemoryUsedFraction, nt.Timestamp}
}

func (t *Telemetry) update(stats []sim.NodeStats) {
	now := t.clock.Now()
	for i, st := range stats {
		nt := t.order[i]
		nt.GPUUtilPercent, nt.GPUMemoryUsedFraction, nt.Timestamp = st.GPUUtilPercent, st.GPUMemoryUsedFraction, now
	}
}
