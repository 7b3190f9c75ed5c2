package sim

import (
	"errors"

	"github.com/kisproject/kis/sim/cluster"
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

// Caches reports whether the node holds image on local disk.
func (n *Node) CachesImage(image string) bool { return contains(n.Pool.Cached.Images, image) }

// CachesModel reports whether the node holds model's weights on local disk.
func (n *Node) CachesModel(model string) bool { return contains(n.Pool.Cached.Models, model) }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// PodRequest is what a replica needs from a node.
type PodRequest struct {
	Name         string
	GPUs         int
	GPUMemoryGiB float64
	Model        string
	Image        string
}

// Scheduler places pods on nodes. It is called synchronously by the event
// loop and must not keep references to nodes between calls.
type Scheduler interface {
	// Schedule returns the index in nodes of the chosen node, or
	// ErrUnschedulable.
	Schedule(pod *PodRequest, nodes []*Node) (int, error)
}

// FirstFit places a pod on the first node, in spec order, with enough free
// GPUs of enough memory. It is the placement KISim uses until a real
// scheduler framework profile is plugged in.
type FirstFit struct{}

// Schedule implements Scheduler.
func (FirstFit) Schedule(pod *PodRequest, nodes []*Node) (int, error) {
	for i, n := range nodes {
		if n.GPUs-n.GPUsUsed >= pod.GPUs && n.Pool.GPUMemory() >= pod.GPUMemoryGiB {
			return i, nil
		}
	}
	return -1, ErrUnschedulable
}
