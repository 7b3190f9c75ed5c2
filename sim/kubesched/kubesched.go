package kubesched

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
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
	nodes     []string              // sim node index -> name
	index     map[string]int        // name -> sim node index
	ordered   []*framework.NodeInfo // the snapshot's NodeInfos in sim node order
	pods      map[string]*corev1.Pod
	pools     []*cluster.NodePool // by sim node index
	prof      *workload.Profile
	// cached is what each node's disk holds as the scheduler last saw it,
	// and cacheKeys the same as a comparable key (by sim node index).
	cached    []cluster.Cache
	cacheKeys []string
	// deletionCosts are what GPUAware's PostBind annotates a pod bound to
	// each node with (by sim node index); nil when it annotates none.
	deletionCosts []int32

	percentageOfNodesToScore int32
	nextStart                int
	feasible                 []int          // sim node indexes; reused between cycles
	reps                     []fwk.NodeInfo // reused between cycles

	// Replicas of one shape share a pod template. The shortcuts below are
	// valid for one shape; shapeEpoch counts shape changes.
	podTemplate      *corev1.Pod
	podTemplateShape podShape
	podInfoTemplate  *framework.PodInfo // the template's, requests computed
	shapeEpoch       uint64
	preFiltered      fwk.CycleState  // PreFilter's state for the current shape
	filterCache      []filterVerdict // by sim node index
	classes          classInterner
	// noEquivalence turns off the PreFilter, Filter and grouping
	// shortcuts, for tests.
	noEquivalence bool
}

var (
	_ sim.Scheduler      = (*Scheduler)(nil)
	_ sim.NodeObserver   = (*Scheduler)(nil)
	_ sim.DeletionCoster = (*Scheduler)(nil)
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
		index: map[string]int{}, pods: map[string]*corev1.Pod{}, ctx: ctx, prof: prof,
		filterCache: make([]filterVerdict, len(nodes)),
		classes:     newClassInterner(len(nodes)),
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
		s.pools = append(s.pools, n.Pool)
		s.cached = append(s.cached, n.Cached())
		s.cacheKeys = append(s.cacheKeys, cacheKey(n.Cached()))
	}
	s.telemetry = newTelemetry(nodes, s.nodes, c)

	registry := plugins.NewInTreeRegistry()
	var gpuAware *gpuaware.GPUAware
	newGPUAware := gpuaware.NewFactory(s.telemetry, c)
	capture := func(ctx context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
		p, err := newGPUAware(ctx, obj, h)
		gpuAware, _ = p.(*gpuaware.GPUAware)
		return p, err
	}
	if err := registry.Merge(frameworkruntime.Registry{gpuaware.Name: capture}); err != nil {
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
		s.ordered = append(s.ordered, ni.(*framework.NodeInfo))
	}
	// The in-tree plugins read volumes, CSI drivers and DRA objects through
	// informers. The simulated cluster has none of those: an empty fake
	// clientset with informers that are never started answers "none". It
	// has the replicas' namespace, which InterPodAffinity looks up.
	client := fake.NewClientset()
	factory := informers.NewSharedInformerFactory(client, 0)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: podNamespace}}
	if err := factory.Core().V1().Namespaces().Informer().GetIndexer().Add(ns); err != nil {
		return nil, err
	}
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
	if gpuAware != nil && slices.ContainsFunc(fw.ListPlugins().PostBind.Enabled, func(p schedconfig.Plugin) bool { return p.Name == gpuaware.Name }) {
		s.deletionCosts = make([]int32, len(kubeNodes))
		for i, kn := range kubeNodes {
			s.deletionCosts[i], _ = gpuAware.DeletionCost(kn)
		}
	}
	return s, nil
}

// DeletionCost is the pod-deletion-cost GPUAware's PostBind gives a pod
// bound to sim node node: KISim does not run the binding cycle, so it asks
// the plugin what the patch would say.
func (s *Scheduler) DeletionCost(node int) int32 {
	if s.deletionCosts == nil {
		return 0
	}
	return s.deletionCosts[node]
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
	pod, err := s.kubePod(req)
	if err != nil {
		return -1, err
	}
	state, err := s.preFilter(pod)
	if err != nil {
		return -1, err
	}
	// Like kube-scheduler, stop filtering once enough feasible nodes are
	// found, and start each cycle where the last one stopped
	// (schedule_one.go, findNodesThatPassFilters).
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
			feasible = append(feasible, idx)
		}
	}
	s.nextStart = (s.nextStart + processed) % n
	s.feasible = feasible
	if len(feasible) == 0 {
		return -1, sim.ErrUnschedulable
	}
	chosen := s.nodes[feasible[0]]
	// One feasible node, or one group of interchangeable ones: like
	// kube-scheduler with a single feasible node, skip scoring.
	if candidates := s.representatives(feasible); len(candidates) > 1 {
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
	// A copy of the template's PodInfo carries its computed requests, which
	// depend only on the shared spec: adding the pod to its node does not
	// recompute them.
	pi := *s.podInfoTemplate
	pi.Pod = pod
	i := s.index[chosen]
	s.ordered[i].AddPodInfo(&pi)
	pod.Spec.NodeName = chosen
	s.pods[req.Name] = pod
	return i, nil
}

// preFilter runs the PreFilter plugins, or clones the state they left for
// an earlier replica of the same shape. What they record is the pod's
// requests, ports, affinity terms, volumes and claims, and the cluster's
// pods with affinity or matching spread constraints; replicas of one shape
// agree on the first, and simulated pods have none of the second, so the
// state is the same for every replica. Clone gives each cycle its own
// copy, as preemption does, for Reserve to write to.
// TestEquivalenceKeepsPlacements checks it changes no placement.
func (s *Scheduler) preFilter(pod *corev1.Pod) (fwk.CycleState, error) {
	if s.preFiltered != nil && !s.noEquivalence {
		return s.preFiltered.Clone(), nil
	}
	state := framework.NewCycleState()
	if _, status, _ := s.fw.RunPreFilterPlugins(s.ctx, state, pod); !status.IsSuccess() {
		if status.IsRejected() {
			return nil, sim.ErrUnschedulable
		}
		return nil, status.AsError()
	}
	s.preFiltered = state
	return state.Clone(), nil
}

// representatives keeps the first of each group of feasible nodes that
// every score plugin must score alike: same pool (labels, capacity,
// taints), same images and models on disk, same requested resources and
// pod count, same telemetry. Scoring one node per group gives the same
// winner as scoring all: each plugin's raw score is a function of the node
// alone, normalisation uses only the highest and lowest scores, which
// duplicates do not change, and the first node of the winning group is the
// first node with the winning score, which is the one chosen without
// grouping. A cluster of identical empty nodes then needs no scoring
// instead of hundreds of Score calls.
// TestEquivalenceKeepsPlacements checks it changes no placement.
func (s *Scheduler) representatives(feasible []int) []fwk.NodeInfo {
	reps := s.reps[:0]
	if s.noEquivalence {
		for _, idx := range feasible {
			reps = append(reps, s.ordered[idx])
		}
		s.reps = reps
		return reps
	}
	s.classes.startCycle(s.telemetry.epoch)
	for _, idx := range feasible {
		ni := s.ordered[idx]
		if s.classes.firstOfCycle(idx, ni.GetGeneration(), func() nodeClass { return s.classOf(idx, ni) }) {
			reps = append(reps, ni)
		}
	}
	s.reps = reps
	return reps
}

func (s *Scheduler) classOf(idx int, ni fwk.NodeInfo) nodeClass {
	req := ni.GetRequested()
	return nodeClass{
		pool:      s.pools[idx],
		cache:     s.cacheKeys[idx],
		milliCPU:  req.GetMilliCPU(),
		memory:    req.GetMemory(),
		gpus:      req.GetScalarResources()[gpuaware.ResourceGPU],
		pods:      len(ni.GetPods()),
		telemetry: s.telemetry.classAt(idx),
	}
}

type nodeClass struct {
	pool             *cluster.NodePool
	cache            string
	milliCPU, memory int64
	gpus             int64
	pods             int
	telemetry        telemetryClass
}

// classInterner numbers node classes so that grouping the feasible nodes
// costs a few slice lookups per node: a node's class id is recomputed only
// when its NodeInfo generation or the telemetry changed, and ids restart
// with each telemetry update, which bounds the table.
type classInterner struct {
	ids   map[nodeClass]int32
	nodes []nodeClassID // by sim node index
	seen  []uint64      // by class id: the cycle that last saw it
	epoch uint64        // telemetry epoch the ids belong to
	cycle uint64
}

type nodeClassID struct {
	generation int64
	epoch      uint64
	id         int32
	valid      bool
}

func newClassInterner(nodes int) classInterner {
	return classInterner{ids: map[nodeClass]int32{}, nodes: make([]nodeClassID, nodes)}
}

func (c *classInterner) startCycle(epoch uint64) {
	if epoch != c.epoch {
		c.epoch = epoch
		clear(c.ids)
		c.seen = c.seen[:0]
	}
	c.cycle++
}

// firstOfCycle reports whether node idx is the first of its class this cycle.
func (c *classInterner) firstOfCycle(idx int, generation int64, class func() nodeClass) bool {
	n := &c.nodes[idx]
	if !n.valid || n.generation != generation || n.epoch != c.epoch {
		cl := class()
		id, ok := c.ids[cl]
		if !ok {
			id = int32(len(c.seen))
			c.ids[cl] = id
			c.seen = append(c.seen, 0)
		}
		*n = nodeClassID{generation: generation, epoch: c.epoch, id: id, valid: true}
	}
	if c.seen[n.id] == c.cycle {
		return false
	}
	c.seen[n.id] = c.cycle
	return true
}

// filter runs the Filter plugins on one node, or reuses the verdict of an
// earlier cycle. Every replica is made from the same pod template, and with
// no inter-pod affinity, topology spread constraints, volumes or claims,
// each in-tree Filter plugin's verdict depends only on the pod's shape and
// the node's state, which NodeInfo's generation tracks: the equivalence
// class cache that earlier kube-scheduler versions kept. A verdict is
// only reused for the shape it was computed for; TestFilterCacheKeepsPlacements
// checks it changes no placement.
func (s *Scheduler) filter(state fwk.CycleState, pod *corev1.Pod, idx int, ni fwk.NodeInfo) (bool, error) {
	gen := ni.GetGeneration()
	if v := s.filterCache[idx]; v.shapeEpoch == s.shapeEpoch && v.generation == gen && !s.noEquivalence {
		return v.fits, nil
	}
	status := s.fw.RunFilterPlugins(s.ctx, state, pod, ni)
	if !status.IsSuccess() && !status.IsRejected() {
		return false, status.AsError()
	}
	s.filterCache[idx] = filterVerdict{generation: gen, shapeEpoch: s.shapeEpoch, fits: status.IsSuccess()}
	return status.IsSuccess(), nil
}

type filterVerdict struct {
	generation int64
	shapeEpoch uint64 // 0: never filtered
	fits       bool
}

// podShape is what tells two replicas' pods apart for the framework; pods
// of one shape share a template.
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

// ObserveNodes implements sim.NodeObserver. What a node's disk holds
// reaches the scheduler as it does in a cluster: its images through the
// node's status, which the kubelet updates every 10 s by default, and its
// models through the exporter's telemetry.
func (s *Scheduler) ObserveNodes(stats []sim.NodeStats) {
	imagesChanged := false
	for i, st := range stats {
		seen := &s.cached[i]
		sameImages := slices.Equal(seen.Images, st.Cached.Images)
		if sameImages && slices.Equal(seen.Models, st.Cached.Models) {
			continue
		}
		if !sameImages {
			node := *s.ordered[i].Node()
			node.Status.Images = containerImages(st.Cached.Images, s.prof)
			s.ordered[i].SetNode(&node)
			imagesChanged = true
		}
		*seen = st.Cached
		s.cacheKeys[i] = cacheKey(st.Cached)
	}
	if imagesChanged {
		s.summarizeImages()
	}
	s.telemetry.update(stats)
}

// summarizeImages recomputes every node's ImageStates from the nodes'
// images with the scheduler cache's own snapshot: ImageLocality scales a
// node's score by the share of nodes holding the image, so one node's
// pull changes every holder's summary.
func (s *Scheduler) summarizeImages() {
	nodes := make([]*corev1.Node, len(s.ordered))
	for i, ni := range s.ordered {
		nodes[i] = ni.Node()
	}
	// A snapshot's List returns the list it holds: it never fails.
	fresh, _ := cache.NewSnapshot(nil, nodes).NodeInfos().List()
	for _, ni := range fresh {
		s.ordered[s.index[ni.Node().Name]].ImageStates = ni.GetImageStates()
	}
}

// cacheKey is what a node's disk holds as a comparable value.
func cacheKey(c cluster.Cache) string {
	return strings.Join(c.Images, "\n") + "\x00" + strings.Join(c.Models, "\n")
}

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
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: labels},
		Status: corev1.NodeStatus{
			Capacity: alloc, Allocatable: alloc, Images: containerImages(n.Cached().Images, prof),
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}
}

// containerImages is a node status's list of the images on its disk. Only
// the serving image's size is known; ImageLocality scores by size.
func containerImages(images []string, prof *workload.Profile) []corev1.ContainerImage {
	var out []corev1.ContainerImage
	for _, img := range images {
		size := int64(0)
		if img == prof.ServingImage {
			size = int64(prof.ImageGiB * (1 << 30))
		}
		out = append(out, corev1.ContainerImage{Names: []string{img}, SizeBytes: size})
	}
	return out
}

// kubePod renders a replica as a v1.Pod. Replicas of one shape share the
// template's annotations and spec (nothing in the framework writes them),
// so a scheduling cycle does not rebuild their resource lists.
func (s *Scheduler) kubePod(req *sim.PodRequest) (*corev1.Pod, error) {
	if shape := shapeOf(req); s.podTemplate == nil || shape != s.podTemplateShape {
		template := podTemplate(req)
		pi, err := framework.NewPodInfo(template)
		if err != nil {
			return nil, err
		}
		pi.CalculateResource()
		s.podTemplate, s.podTemplateShape, s.podInfoTemplate = template, shape, pi
		s.preFiltered = nil
		s.shapeEpoch++
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: req.Name, Namespace: s.podTemplate.Namespace, UID: types.UID(req.Name),
			Annotations: s.podTemplate.Annotations,
		},
		Spec: s.podTemplate.Spec,
	}, nil
}

// podNamespace holds the simulated replicas.
const podNamespace = "default"

func podTemplate(req *sim.PodRequest) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: podNamespace,
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
// simulator reports each node's GPU load and cached models at every scrape.
type Telemetry struct {
	clock  clock.PassiveClock
	byName map[string]*gpuaware.NodeTelemetry
	order  []*gpuaware.NodeTelemetry
	epoch  uint64 // counts updates
}

func newTelemetry(nodes []*sim.Node, names []string, c clock.PassiveClock) *Telemetry {
	t := &Telemetry{clock: c, byName: map[string]*gpuaware.NodeTelemetry{}}
	for i, n := range nodes {
		nt := &gpuaware.NodeTelemetry{CachedModels: n.Cached().Models, Timestamp: c.Now()}
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

// classAt is the telemetry of the node at sim index idx.
func (t *Telemetry) classAt(idx int) telemetryClass {
	nt := t.order[idx]
	return telemetryClass{nt.GPUUtilPercent, nt.GPUMemoryUsedFraction, nt.Timestamp}
}

func (t *Telemetry) update(stats []sim.NodeStats) {
	now := t.clock.Now()
	t.epoch++
	for i, st := range stats {
		nt := t.order[i]
		nt.GPUUtilPercent, nt.GPUMemoryUsedFraction, nt.Timestamp = st.GPUUtilPercent, st.GPUMemoryUsedFraction, now
		nt.CachedModels = st.Cached.Models
	}
}
