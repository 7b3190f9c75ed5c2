package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kisproject/kis/sim"
)

func TestLivePods(t *testing.T) {
	now := metav1.Now()
	pod := func(name, node string, phase corev1.PodPhase, deleting bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: phase}}
		if deleting {
			p.DeletionTimestamp = &now
		}
		return p
	}
	got := livePods([]*corev1.Pod{
		pod("unscheduled", "", corev1.PodPending, false),
		pod("starting", "h100-0", corev1.PodPending, false),
		pod("running", "h100-0", corev1.PodRunning, false),
		pod("terminating", "l4-0", corev1.PodRunning, true), // drains: left out
		pod("done", "l4-0", corev1.PodSucceeded, false),
		pod("failed", "l4-0", corev1.PodFailed, false),
	})
	want := []sim.LivePod{
		{Name: "unscheduled"},
		{Name: "starting", Node: "h100-0"},
		{Name: "running", Node: "h100-0", Running: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("livePods (-want,+got):\n%s", diff)
	}
}
