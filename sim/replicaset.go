package sim

import (
	"math"
	"sort"
	"time"
)

// sortForDeletion orders live pods the way the ReplicaSet controller picks
// the ones to delete when scaling down (replicaset.getPodsToDelete:
// controller.ActivePodsWithRanks, ranked by getPodsRankedByRelatedPodsOnSameNode),
// first to go first. The order matters on a mixed cluster: past readiness
// and pod-deletion-cost, the controller deletes from the nodes holding the
// most replicas, which are the fast nodes that cached the model and filled
// first. TestDeletionOrderMatchesReplicaSetController holds it to the
// controller's own comparison.
// nodes is the cluster's node count, now the time of the scale-down.
func sortForDeletion(pods []*pod, nodes int, now time.Duration) {
	// colocated[node+1] counts the active pods on each node; index 0 holds
	// the unassigned ones, which rule 1 separates before counts matter.
	colocated := make([]int, nodes+1)
	for _, p := range pods {
		colocated[p.node+1]++
	}
	sort.Slice(pods, func(i, j int) bool {
		return deletesBefore(pods[i], pods[j], colocated, now)
	})
}

// deletesBefore is ActivePodsWithRanks.Less on simulated pods, rule by rule.
// Where the controller's rules tie (equal timestamps), the pods' random UIDs
// decide, which the controller leaves to sort.Sort.
func deletesBefore(a, b *pod, colocated []int, now time.Duration) bool {
	// 1. Unassigned < assigned.
	if aa, ba := a.node >= 0, b.node >= 0; aa != ba {
		return !aa
	}
	// 2. Pending < Running: a bound pod is Pending while it pulls.
	if ao, bo := a.phase.running(), b.phase.running(); ao != bo {
		return !ao
	}
	// 3. Not ready < ready.
	if ar, br := a.phase == phaseReady, b.phase == phaseReady; ar != br {
		return !ar
	}
	// 4. Lower pod-deletion-cost < higher.
	if a.deletionCost != b.deletionCost {
		return a.deletionCost < b.deletionCost
	}
	// 5. More replicas on the same node < fewer.
	if ca, cb := colocated[a.node+1], colocated[b.node+1]; ca != cb {
		return ca > cb
	}
	// 6. Ready for less time < more, in power-of-two buckets.
	if a.phase == phaseReady && b.phase == phaseReady && a.readyAt != b.readyAt {
		if d := ageRank(now-a.readyAt) - ageRank(now-b.readyAt); d != 0 {
			return d < 0
		}
		return a.uid < b.uid
	}
	// 7. More restarts < fewer.
	if a.crashLooping != b.crashLooping {
		return a.crashLooping
	}
	// 8. Newer < older, in power-of-two buckets.
	if a.created != b.created {
		if d := ageRank(now-a.created) - ageRank(now-b.created); d != 0 {
			return d < 0
		}
	}
	return a.uid < b.uid
}

// ageRank is the controller's logarithmic rank of an age: floor(log2) of
// its nanoseconds, -1 for none (logarithmicRankDiff).
func ageRank(age time.Duration) int64 {
	if age <= 0 {
		return -1
	}
	return int64(math.Log2(float64(age)))
}

// running reports whether a pod in phase p has Kubernetes phase Running.
func (p podPhase) running() bool { return p >= phaseStarting && p < phaseGone }
