package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

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

// llmDeployment is the served Deployment: default/llm, pods labelled
// app=llm.
func llmDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "llm"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "llm"}},
		},
	}
}

// startLive runs runLive for the named Deployment in default on a free
// loopback port. It returns the /metrics URL and runLive's result, which
// fails the test if it takes more than 10 s to come.
func startLive(ctx context.Context, t *testing.T, client kubernetes.Interface, scenario, name string) (url string, result func(after string) error) {
	t.Helper()
	cfg := sim.DefaultConfig()
	cfg.Scenario = scenario
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- runLive(ctx, client, cfg, "default", name, ln, 10*time.Millisecond) }()
	return "http://" + ln.Addr().String() + "/metrics", func(after string) error {
		t.Helper()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatalf("runLive did not return 10 s after %s", after)
			return nil
		}
	}
}

// runLive follows the Deployment's pods through the API (those its
// selector picks, on nodes the cluster spec names), serves their series on
// its listener, warns once per pod it cannot simulate, and ends with the
// scenario. The client is a fake; the e2e runs it against a real
// kube-apiserver. `make test` runs this under -race: the HTTP server
// scrapes while the loop syncs.
func TestRunLive(t *testing.T) {
	labelled := func(name, app, node string, phase corev1.PodPhase) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{"app": app}},
			Spec:       corev1.PodSpec{NodeName: node},
			Status:     corev1.PodStatus{Phase: phase},
		}
	}
	client := fake.NewClientset(llmDeployment(),
		labelled("llm-a", "llm", "h100-0", corev1.PodRunning),
		labelled("llm-b", "llm", "elsewhere", corev1.PodRunning),
		labelled("other-a", "other", "h100-1", corev1.PodRunning),
	)
	logger := ktesting.NewLogger(t, ktesting.NewConfig(ktesting.BufferLogs(true)))
	ctx, cancel := context.WithCancel(klog.NewContext(t.Context(), logger))
	defer cancel()

	url, result := startLive(ctx, t, client, "ramp:base=2,peak=2,duration=10m", "llm")

	// waitFor scrapes until every want is in the body and no unwanted one is.
	waitFor := func(want, unwanted []string) {
		t.Helper()
		var body string
		err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			resp, err := http.Get(url)
			if err != nil {
				return false, nil // not serving yet
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				return false, err
			}
			body = string(b)
			for _, w := range want {
				if !strings.Contains(body, w) {
					return false, nil
				}
			}
			for _, u := range unwanted {
				if strings.Contains(body, u) {
					return false, nil
				}
			}
			return true, nil
		})
		if err != nil {
			t.Fatalf("want %q and none of %q in /metrics: %v\n%s", want, unwanted, err, body)
		}
	}
	waitFor([]string{
		`kube_pod_status_phase{namespace="default",phase="Running",pod="llm-a"} 1`,
		`kis_model_cache_present{Hostname="h100-0",model="meta-llama/Llama-3.1-8B-Instruct"} 1`,
	}, []string{`pod="other-a"`, `pod="llm-b"`})

	// The HPA scales down and up: llm-a goes (it is still loading the
	// model, so it leaves at once), llm-c waits for a node.
	pods := client.CoreV1().Pods("default")
	if err := pods.Delete(ctx, "llm-a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Create(ctx, labelled("llm-c", "llm", "", corev1.PodPending), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor([]string{`kube_pod_status_phase{namespace="default",phase="Pending",pod="llm-c"} 1`}, []string{`pod="llm-a"`})

	cancel()
	if err := result("its context was cancelled"); !errors.Is(err, context.Canceled) {
		t.Errorf("runLive ended with %v, want context.Canceled", err)
	}
	if _, err := http.Get(url); err == nil {
		t.Error("/metrics still served after runLive returned")
	}

	var warnings []string
	for _, e := range logger.GetSink().(ktesting.Underlier).GetBuffer().Data() {
		if e.Type == ktesting.LogError {
			warnings = append(warnings, fmt.Sprint(e.Message, e.ParameterKVList))
		}
	}
	if want := []string{"Pod on a node the cluster spec does not name; not simulated[pod llm-b on elsewhere]"}; !slices.Equal(warnings, want) {
		t.Errorf("errors logged %q, want %q: once, however often the loop syncs", warnings, want)
	}
}

// A scenario that ends ends the run: kis-sim live exits 0.
func TestRunLiveEndsWithItsScenario(t *testing.T) {
	client := fake.NewClientset(llmDeployment())
	_, ctx := ktesting.NewTestContext(t)
	const oneSecond = "ramp:base=1,peak=1,duration=1s"
	_, result := startLive(ctx, t, client, oneSecond, "llm")
	if err := result("its one-second scenario ended"); err != nil {
		t.Errorf("runLive at the scenario's end: %v, want nil", err)
	}

	_, result = startLive(ctx, t, client, oneSecond, "missing")
	err := result("it was started on a missing Deployment")
	if err == nil || !strings.Contains(err.Error(), "reading the Deployment") || !strings.Contains(err.Error(), `"missing" not found`) {
		t.Errorf("runLive on a missing Deployment: %v, want it named", err)
	}
}
