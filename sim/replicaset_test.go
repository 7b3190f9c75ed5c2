package sim

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/kubernetes/pkg/controller"
)

// epoch is where simulated time zero lands on the wall clock of the pods
// handed to the real controller code.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// kubePod renders a simulated pod as the ReplicaSet controller sees it.
func kubePod(p *pod) *corev1.Pod {
	kp := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name:              fmt.Sprintf("llm-%d", p.id),
		UID:               types.UID(fmt.Sprintf("%016x", p.uid)),
		CreationTimestamp: metav1.NewTime(epoch.Add(p.created)),
	}}
	if p.node >= 0 {
		kp.Spec.NodeName = fmt.Sprintf("node-%d", p.node)
	}
	kp.Status.Phase = corev1.PodPending
	if p.phase.running() {
		kp.Status.Phase = corev1.PodRunning
	}
	if p.phase == phaseReady {
		kp.Status.Conditions = []corev1.PodCondition{{
			Type: corev1.PodReady, Status: corev1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(epoch.Add(p.readyAt)),
		}}
	}
	if p.deletionCost != 0 {
		kp.Annotations = map[string]string{corev1.PodDeletionCost: strconv.Itoa(int(p.deletionCost))}
	}
	if p.crashLooping {
		kp.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "server", RestartCount: 3}}
	}
	return kp
}

// controllerRanks is what getPodsRankedByRelatedPodsOnSameNode hands to
// ActivePodsWithRanks: each pod's rank is the number of active pods on its
// node.
func controllerRanks(pods []*corev1.Pod, now time.Time) controller.ActivePodsWithRanks {
	onNode := map[string]int{}
	for _, p := range pods {
		onNode[p.Spec.NodeName]++
	}
	ranks := make([]int, len(pods))
	for i, p := range pods {
		ranks[i] = onNode[p.Spec.NodeName]
	}
	return controller.ActivePodsWithRanks{Pods: pods, Rank: ranks, Now: metav1.NewTime(now)}
}

// randomPods draws a scale-down situation with many ties: few distinct
// timestamps, costs and nodes.
func randomPods(rng *rand.Rand, nodes int) []*pod {
	phases := []podPhase{phaseUnscheduled, phaseScheduling, phasePulling, phaseStarting, phaseReady, phaseReady}
	pods := make([]*pod, 2+rng.IntN(11))
	for i := range pods {
		p := &pod{id: int32(i), node: -1, uid: rng.Uint64(), phase: phases[rng.IntN(len(phases))]}
		p.created = time.Duration(rng.IntN(6)) * 40 * time.Second
		if p.phase >= phasePulling {
			p.node = rng.IntN(nodes)
			p.deletionCost = []int32{0, 0, 15, 100, 200}[rng.IntN(5)]
		}
		p.crashLooping = p.phase == phaseStarting && rng.IntN(3) == 0
		if p.phase == phaseReady {
			p.readyAt = p.created + time.Duration(1+rng.IntN(3))*90*time.Second
		}
		pods[i] = p
	}
	return pods
}

// The simulator deletes replicas in an order the real ReplicaSet
// controller's comparison (k8s.io/kubernetes/pkg/controller) could produce:
// no pod the controller ranks strictly earlier comes later.
func TestDeletionOrderMatchesReplicaSetController(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const nodes = 5
	for trial := range 3000 {
		pods := randomPods(rng, nodes)
		now := 20*time.Minute + time.Duration(rng.IntN(600))*time.Second
		sortForDeletion(pods, nodes, now)

		kube := make([]*corev1.Pod, len(pods))
		for i, p := range pods {
			kube[i] = kubePod(p)
		}
		real := controllerRanks(kube, epoch.Add(now))
		for i := range kube {
			for j := i + 1; j < len(kube); j++ {
				if real.Less(j, i) {
					t.Fatalf("trial %d: KISim deletes %s before %s, the controller the other way round\n%+v\n%+v",
						trial, kube[i].Name, kube[j].Name, *pods[i], *pods[j])
				}
			}
		}
	}
}

// On the default cluster's shape, the controller's "doubled up" rule
// deletes a replica from a full H100 node before the lone A100 replica,
// even though the A100 one is younger; a higher deletion cost on the H100
// replicas turns that round.
func TestScaleDownKeepsFastGPUsOnlyWithDeletionCost(t *testing.T) {
	var pods []*pod
	add := func(node int, readyAt time.Duration) {
		pods = append(pods, &pod{id: int32(len(pods)), node: node, phase: phaseReady, uid: uint64(len(pods)), readyAt: readyAt})
	}
	for i := range 8 {
		add(i/4, time.Duration(i)*time.Second) // nodes 0 and 1: the H100 nodes, 4 replicas each
	}
	add(2, 5*time.Minute) // node 2: an A100 node, the youngest replica
	now := 6 * time.Minute

	sortForDeletion(pods, 3, now)
	if pods[0].node == 2 {
		t.Errorf("without deletion costs the A100 replica went first; the controller deletes from the doubled-up H100 nodes")
	}

	for _, p := range pods {
		p.deletionCost = 200
		if p.node == 2 {
			p.deletionCost = 100
		}
	}
	sortForDeletion(pods, 3, now)
	if pods[0].node != 2 {
		t.Errorf("with deletion costs 200 (H100) and 100 (A100), first to go is on node %d, want the A100 node", pods[0].node)
	}
}
