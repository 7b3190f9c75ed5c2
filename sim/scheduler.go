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
}

// CachesImage reports whether the node holds image on local disk.
func (n *Node) CachesImage(image string) bool { return slices.Contains(n.Pool.Cached.Images, image) }

// CachesModel reports whether the node holds model's weights on local disk.
func (n *Node) CachesModel(model string) bool { return slices.Contains(n.Pool.Cached.Models, model) }

// NodesOf expands a spec's pools into nodes named <pool>-<index>, in spec
// order, with no GPUs in use.
func NodesOf(spec *cluster.Spec) []*Node {
	var nodes []*Node
	for pi := range spec.NodePools {
		pool := &spec.NodePools[pi]
		for i := 0; i < pool.Count; i++ {
			nodes = append(nodes, &Node{Name: pool.Name + "-" + strconv.Itoa(i), Pool: pool, GPUs: pool.GPUsPerNode})
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

// NodeStats is one node's GPU load as a GPU exporter would report it.
type NodeStats struct {
	GPUUtilPercent        float64
	GPUMemoryUsedFraction float64
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
