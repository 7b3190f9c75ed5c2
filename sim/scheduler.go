package sim

import (
	"errors"
	"slices"
	"strconv"

	"k8s.io/utils/clock"

	"github.com/kisproject/kis/sim/cluster"
	"github.com/kisproject/kis/sim/workload"
)

// ErrUnschedulable is returned by a Scheduler when no node fits the pod.
var ErrUnschedulable = errors.New("no node fits the pod")

// Node is a simulated node as a scheduler sees it.
type Node struct {
	Name     string
	Pool     *cluster.NodePool
	GPUs     int
	GPUsUsed int
	// cached starts as the pool's lists and, when keepFetched (the
	// cluster keeps what it fetches), grows by what replicas fetch. It
	// grows by copying, never in place, so the pool's lists and those
	// Cached handed out stay as they were.
	cached      cluster.Cache
	keepFetched bool
}

// CachesImage reports whether the node holds image on local disk.
func (n *Node) CachesImage(image string) bool { return slices.Contains(n.cached.Images, image) }

// CachesModel reports whether the node holds model's weights on local disk.
func (n *Node) CachesModel(model string) bool { return slices.Contains(n.cached.Models, model) }

// Cached is what the node holds on local disk now. The lists are the
// node's own: callers must not modify them.
func (n *Node) Cached() cluster.Cache { return n.cached }

// pulled records that a replica pulled image onto the node, which keeps
// it if its cluster keeps what it fetches.
func (n *Node) pulled(image string) {
	if n.keepFetched {
		n.cached.Images = addCopying(n.cached.Images, image)
	}
}

// loaded records that a replica loaded model's weights onto the node,
// which keeps them if its cluster keeps what it fetches.
func (n *Node) loaded(model string) {
	if n.keepFetched {
		n.cached.Models = addCopying(n.cached.Models, model)
	}
}

// addCopying returns list with item added if it is not there, in a new
// array: list itself is never written.
func addCopying(list []string, item string) []string {
	if slices.Contains(list, item) {
		return list
	}
	return append(slices.Clip(list), item)
}

// NodesOf expands a spec's pools into nodes named <pool>-<index>, in spec
// order, with no GPUs in use.
func NodesOf(spec *cluster.Spec) []*Node {
	var nodes []*Node
	for pi := range spec.NodePools {
		pool := &spec.NodePools[pi]
		for i := 0; i < pool.Count; i++ {
			nodes = append(nodes, &Node{Name: pool.Name + "-" + strconv.Itoa(i), Pool: pool, GPUs: pool.GPUsPerNode,
				cached: pool.Cached, keepFetched: spec.Startup.KeepFetched})
		}
	}
	return nodes
}

// PodRequest is what a replica needs from a node.
type PodRequest struct {
	Name         string
	GPUs         int
	GPUMemoryGiB float64
	CPU          float64
	MemoryGiB    float64
	Model        string
	Image        string
}

// Scheduler places pods on nodes. The event loop calls it synchronously.
type Scheduler interface {
	// Schedule returns the index in nodes of the chosen node, or
	// ErrUnschedulable. The pod counts as bound there until Unbind.
	Schedule(pod *PodRequest, nodes []*Node) (int, error)
	// Unbind tells the scheduler that a pod it placed left its node.
	Unbind(pod *PodRequest, node int)
}

// DeletionCoster is implemented by schedulers that annotate the pods they
// bind with controller.kubernetes.io/pod-deletion-cost (GPUAware's
// deletionCosts), which the ReplicaSet controller deletes lowest first.
// DeletionCost is the annotation a pod bound to nodes[node] gets.
type DeletionCoster interface {
	DeletionCost(node int) int32
}

// NodeObserver is implemented by schedulers that score live GPU load: the
// simulator reports every node's GPUs at each scrape, in node order.
type NodeObserver interface {
	ObserveNodes(stats []NodeStats)
}

// NodeStats is one node's GPU load as a GPU exporter would report it, and
// what its disk holds, as the exporter's model-cache scan and the kubelet's
// node status report it.
type NodeStats struct {
	GPUUtilPercent        float64
	GPUMemoryUsedFraction float64
	Cached                cluster.Cache
}

// SchedulerFactory builds a run's scheduler over its nodes. c is the run's
// virtual clock.
type SchedulerFactory func(nodes []*Node, prof *workload.Profile, c clock.PassiveClock) (Scheduler, error)

// FirstFit places a pod on the first node, in spec order, with enough free
// GPUs of enough memory: the simplest placement, used when no scheduler
// profile is given.
type FirstFit struct{}

// Unbind implements Scheduler; FirstFit keeps no state.
func (FirstFit) Unbind(*PodRequest, int) {}

// Schedule implements Scheduler.
func (FirstFit) Schedule(pod *PodRequest, nodes []*Node) (int, error) {
	for i, n := range nodes {
		if n.GPUs-n.GPUsUsed >= pod.GPUs && n.Pool.GPUMemory() >= pod.GPUMemoryGiB {
			return i, nil
		}
	}
	return -1, ErrUnschedulable
}
