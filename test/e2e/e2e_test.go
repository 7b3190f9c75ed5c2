//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/metrics/pkg/apis/external_metrics/v1beta1"

	"github.com/kisproject/kis/internal/controlplane"
	"github.com/kisproject/kis/internal/localcluster"
	"github.com/kisproject/kis/sim/cluster"
)

const (
	hpaSync = 5 * time.Second
	// Ends before the scenario's second spike (after 530 s), and before
	// kis-sim live exits at its end (540 s), which CheckRunning would fail.
	runFor = 500 * time.Second
	// After the spike the load falls to 1 request/s, so that any sane
	// scaler comes down: at 6 requests/s the policies hold or oscillate on
	// this cluster, whose L4 replicas serve slowly and whose replicas
	// beyond 10 stay Pending (docs/kiscaler-experiments.md, "Cluster sizes").
	scenario = "spike:base=1,peak=40,duration=9m,period=6m,spike=60s,jitter=0"
	// Prometheus is down for this part of the run, after the first
	// scale-down (decided ~280 s in) has been checked, a full window plus
	// two syncs later.
	promDown, promUp = 420 * time.Second, 460 * time.Second
)

// sample is one poll of everything the assertions need.
type sample struct {
	at       time.Duration
	served   int64 // -1 when the external metrics API answered with an error
	source   string
	replicas int32
	hpa      autoscalingv2.HorizontalPodAutoscalerStatus
	pods     []corev1.Pod
}

func TestEndToEnd(t *testing.T) {
	root, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	specPath := filepath.Join(root, "test", "e2e", "testdata", "cluster.yaml")
	spec, err := cluster.Load(specPath)
	if err != nil {
		t.Fatal(err)
	}
	simAddr := fmt.Sprintf("127.0.0.1:%d", controlplane.FreePort(t))
	c := localcluster.Up(t, localcluster.Options{Nodes: spec, SimAddress: simAddr, HPASync: hpaSync, AdapterInterval: hpaSync, BinDir: t.TempDir()})
	kubectl := filepath.Join(controlplane.BinDir(t, "kubectl"), "kubectl-"+controlplane.KubeVersion)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(kubectl, append([]string{"--kubeconfig=" + c.Kubeconfig}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	// Every manifest applies to the real API server (server-side dry run,
	// after the namespace they go to, which a dry run does not create).
	run("apply", "--server-side", "-f", filepath.Join(root, "manifests", "adapter", "namespace.yaml"))
	for _, dir := range []string{"scheduler", "adapter", "gpu-exporter", "examples"} {
		run("apply", "--server-side", "--dry-run=server", "-k", filepath.Join(root, "manifests", dir))
	}
	run("apply", "--server-side", "--dry-run=server", "-f", filepath.Join(root, "manifests", "adapter", "rbac-direct.yaml"))
	c.RegisterAdapter(t)

	// The inference Deployment and the example HPA, for real.
	run("apply", "-k", filepath.Join(root, "manifests", "examples"))
	c.Start(t, "kis-sim-live", c.Bins["kis-sim"], "live", "--kubeconfig="+c.Kubeconfig, "--deployment=default/llm",
		"--cluster="+specPath, "--scenario="+scenario, "--listen-address="+simAddr)

	ctx, cancel := context.WithTimeout(context.Background(), runFor+2*time.Minute)
	defer cancel()
	var samples []sample
	start := time.Now()
	killed, restarted := false, false
	for time.Since(start) < runFor {
		at := time.Since(start)
		if at >= promDown && !killed {
			t.Logf("%v: stopping Prometheus", at.Round(time.Second))
			c.Prometheus.Stop()
			killed = true
		}
		if at >= promUp && !restarted {
			t.Logf("%v: starting Prometheus again", at.Round(time.Second))
			c.Prometheus.Start(t)
			restarted = true
		}
		c.CheckRunning(t, "kis-sim-live")
		samples = append(samples, poll(ctx, t, c, at))
		time.Sleep(time.Second)
	}
	report(t, samples)

	checkHPAReadsTheMetric(t, samples)
	hpaPath := filepath.Join(root, "manifests", "examples", "hpa.yaml")
	checkReplicasFollowDecisions(t, samples, c, scaleDownWindow(t, hpaPath))
	checkScheduling(ctx, t, c, samples)
	checkDeletionCosts(t, samples)
	checkPrometheusOutage(t, samples)
	fidelity(t, samples, start, hpaPath)
	checkScaleDownKeepsH100s(t, c)
}

func poll(ctx context.Context, t *testing.T, c *localcluster.Cluster, at time.Duration) sample {
	t.Helper()
	s := sample{at: at, served: -1}
	body, err := c.Client.CoreV1().RESTClient().Get().
		AbsPath("/apis/external.metrics.k8s.io/v1beta1/namespaces/default/kis_desired_replicas").
		Param("labelSelector", "kis.io/target=default.llm").DoRaw(ctx)
	if err == nil {
		var list v1beta1.ExternalMetricValueList
		if json.Unmarshal(body, &list) == nil && len(list.Items) == 1 {
			s.served = list.Items[0].Value.Value()
			s.source = list.Items[0].MetricLabels["kis.io/decision-source"]
		}
	}
	d, err := c.Client.AppsV1().Deployments("default").Get(ctx, "llm", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.replicas = *d.Spec.Replicas
	hpa, err := c.Client.AutoscalingV2().HorizontalPodAutoscalers("default").Get(ctx, "llm", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.hpa = hpa.Status
	pods, err := c.Client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=llm"})
	if err != nil {
		t.Fatal(err)
	}
	s.pods = pods.Items
	return s
}

func report(t *testing.T, samples []sample) {
	t.Helper()
	var b strings.Builder
	last := ""
	for _, s := range samples {
		line := fmt.Sprintf("served %d (%s) replicas %d hpa desired %d", s.served, s.source, s.replicas, s.hpa.DesiredReplicas)
		if line != last {
			fmt.Fprintf(&b, "  %4.0fs %s\n", s.at.Seconds(), line)
			last = line
		}
	}
	t.Logf("trajectory (changes only):\n%s", b.String())
}

func checkHPAReadsTheMetric(t *testing.T, samples []sample) {
	t.Helper()
	for _, s := range samples {
		for _, m := range s.hpa.CurrentMetrics {
			if m.External != nil && m.External.Metric.Name == "kis_desired_replicas" && m.External.Current.AverageValue != nil {
				return
			}
		}
	}
	t.Error("the HPA's status never showed kis_desired_replicas")
}

// servedBetween lists the values the adapter served in [from, to].
func servedBetween(samples []sample, from, to time.Duration) []int64 {
	var out []int64
	for _, s := range samples {
		if s.at >= from && s.at <= to && s.served >= 0 {
			out = append(out, s.served)
		}
	}
	return out
}

// replicasAt is spec.replicas as last polled at or before at.
func replicasAt(samples []sample, at time.Duration) int32 {
	r := samples[0].replicas
	for _, s := range samples {
		if s.at > at {
			break
		}
		r = s.replicas
	}
	return r
}

// The Deployment moves towards every decision the adapter serves: a value
// above spec.replicas, served for two HPA syncs, has raised spec.replicas
// by then; values below it, served for the HPA's scale-down stabilisation
// window plus two syncs while it did not rise, have lowered it. How far
// each step goes is the HPA's behavior policies' business, which the
// fidelity check compares with KISim's model of them.
func checkReplicasFollowDecisions(t *testing.T, samples []sample, c *localcluster.Cluster, stabilization time.Duration) {
	t.Helper()
	const slack = 2*hpaSync + 3*time.Second
	maxReplicas := c.AdapterConfig.Targets[0].MaxReplicas
	minReplicas := c.AdapterConfig.Targets[0].MinReplicas
	ups, downs, bad := 0, 0, 0
	for _, s := range samples {
		if s.at < slack+stabilization {
			continue
		}
		before := replicasAt(samples, s.at-slack)
		recent := servedBetween(samples, s.at-slack, s.at)
		if len(recent) >= int(slack/time.Second)-2 && slices.Min(recent) > int64(before) && before < maxReplicas {
			ups++
			if s.replicas <= before {
				bad++
				t.Errorf("%v: the adapter served >= %d for %v, spec.replicas stayed %d", s.at.Round(time.Second), slices.Min(recent), slack, before)
			}
		}
		// Downwards the count to beat is the one at the window's start: the
		// HPA may scale down before the window ends, since its window runs
		// from its last higher recommendation, which can precede the first
		// lower value polled here.
		from := s.at - slack - stabilization
		window := servedBetween(samples, from, s.at)
		before = replicasAt(samples, from)
		if len(window) >= int((slack+stabilization)/time.Second)-5 && slices.Max(window) < int64(before) && before > minReplicas &&
			maxReplicasBetween(samples, from, s.at) <= before {
			downs++
			if s.replicas >= before {
				bad++
				t.Errorf("%v: the adapter served <= %d for %v, spec.replicas stayed %d", s.at.Round(time.Second), slices.Max(window), slack+stabilization, before)
			}
		}
	}
	t.Logf("replicas follow the served decisions: %d scale-up and %d scale-down situations checked, %d missed", ups, downs, bad)
	if ups == 0 || downs == 0 {
		t.Error("no scale-up or no scale-down situation: the run did not exercise the loop both ways")
	}
}

func maxReplicasBetween(samples []sample, from, to time.Duration) int32 {
	var most int32
	for _, s := range samples {
		if s.at >= from && s.at <= to {
			most = max(most, s.replicas)
		}
	}
	return most
}

// Every pod is bound by kis-scheduler, and GPUAware fills the H100 node,
// which holds the model, before any L4 node: whenever pods were bound
// between two polls, at least as many went to the H100 as it had free GPUs.
func checkScheduling(ctx context.Context, t *testing.T, c *localcluster.Cluster, samples []sample) {
	t.Helper()
	evs, err := c.Client.EventsV1().Events("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scheduledBy := map[string]string{}
	for _, e := range evs.Items {
		if e.Reason == "Scheduled" {
			scheduledBy[e.Regarding.Name] = e.ReportingController
		}
	}
	seen := map[string]string{}
	maxPods := 0
	for i, s := range samples {
		onH100, fresh, freshH100 := 0, 0, 0
		for _, p := range s.pods {
			if p.Spec.NodeName == "" {
				continue
			}
			if _, ok := seen[p.Name]; !ok {
				seen[p.Name] = p.Spec.NodeName
				fresh++
				if strings.HasPrefix(p.Spec.NodeName, "h100-") {
					freshH100++
				}
			}
		}
		if i > 0 {
			for _, p := range samples[i-1].pods {
				if strings.HasPrefix(p.Spec.NodeName, "h100-") {
					onH100++
				}
			}
			if free := 4 - onH100; freshH100 < min(fresh, free) {
				t.Errorf("%v: %d pods bound, %d to the H100 node with %d free GPUs", s.at.Round(time.Second), fresh, freshH100, free)
			}
		}
		maxPods = max(maxPods, len(s.pods))
	}
	for name, node := range seen {
		if by := scheduledBy[name]; by != "kis-scheduler" {
			t.Errorf("pod %s (on %s) was scheduled by %q, want kis-scheduler", name, node, by)
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n+"@"+seen[n])
	}
	sort.Strings(names)
	t.Logf("%d pods bound (at most %d at once): %s", len(seen), maxPods, strings.Join(names, " "))
	if maxPods < 3 {
		t.Errorf("at most %d pods: the spike did not scale the Deployment up", maxPods)
	}
}

// kis-scheduler annotates every pod it binds with the manifest's
// pod-deletion-cost for the node's GPU (H100 200, L4 15), and
// kube-controller-manager's scale-downs honour it: no Ready replica on an
// H100 goes while a Ready one on an L4 stays.
func checkDeletionCosts(t *testing.T, samples []sample) {
	t.Helper()
	wantCost := map[string]string{"h100-": "200", "l4-": "15"}
	costOf := func(p *corev1.Pod) string {
		for prefix, c := range wantCost {
			if strings.HasPrefix(p.Spec.NodeName, prefix) {
				return c
			}
		}
		return ""
	}
	last := map[string]*corev1.Pod{}
	for _, s := range samples {
		for i := range s.pods {
			if p := &s.pods[i]; p.Spec.NodeName != "" {
				last[p.Name] = p
			}
		}
	}
	for name, p := range last {
		if got, want := p.Annotations[corev1.PodDeletionCost], costOf(p); got != want {
			t.Errorf("pod %s on %s: %s=%q, want %q", name, p.Spec.NodeName, corev1.PodDeletionCost, got, want)
		}
	}

	choices := 0
	for i := 1; i < len(samples); i++ {
		stays := map[string]bool{}
		for _, p := range samples[i].pods {
			stays[p.Name] = p.DeletionTimestamp == nil
		}
		var deleted, kept []*corev1.Pod
		for j := range samples[i-1].pods {
			p := &samples[i-1].pods[j]
			if p.DeletionTimestamp != nil || !podReady(p) {
				continue
			}
			if stays[p.Name] {
				kept = append(kept, p)
			} else {
				deleted = append(deleted, p)
			}
		}
		for _, d := range deleted {
			for _, k := range kept {
				if costOf(d) != costOf(k) {
					choices++
				}
				if costOf(d) == "200" && costOf(k) == "15" {
					t.Errorf("%v: the scale-down deleted %s on %s and kept %s on %s", samples[i].at.Round(time.Second), d.Name, d.Spec.NodeName, k.Name, k.Spec.NodeName)
				}
			}
		}
	}
	t.Logf("pod-deletion-cost: %d bound pods annotated; %d (deleted, kept) pairs of Ready replicas on different GPUs", len(last), choices)
}

// With the HPA deleted, the test scales the Deployment itself: to ten
// replicas (all the cluster holds: the H100 node's four GPUs, then three
// per L4 node, whose 192 GiB fit three 64 GiB pods), down to six and down
// to four. At each step the H100 node's four replicas must be among those
// kept, so kube-controller-manager's ReplicaSet controller deleted only L4
// replicas. All are Running and Ready, so kis-scheduler's deletion costs
// decide: without them the next rule, "doubled up", deletes from the node
// holding the most replicas, the H100 node's four first (with the L4's
// cost set to the H100's, 10 -> 6 kept six L4 replicas).
// checkDeletionCosts depends on what the run's traffic made the HPA do;
// this check does not.
func checkScaleDownKeepsH100s(t *testing.T, c *localcluster.Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if err := c.Client.AutoscalingV2().HorizontalPodAutoscalers("default").Delete(ctx, "llm", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// live lists the replicas not being deleted and whether every one of
	// them is bound, Ready and annotated.
	live := func() (pods []corev1.Pod, settled bool) {
		list, err := c.Client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=llm"})
		if err != nil {
			t.Fatal(err)
		}
		settled = true
		for _, p := range list.Items {
			if p.DeletionTimestamp != nil {
				continue
			}
			if p.Spec.NodeName == "" || !podReady(&p) || p.Annotations[corev1.PodDeletionCost] == "" {
				settled = false
			}
			pods = append(pods, p)
		}
		return pods, settled
	}
	const h100GPUs = 4
	for _, replicas := range []int{10, 6, h100GPUs} {
		patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas)
		if _, err := c.Client.AppsV1().Deployments("default").Patch(ctx, "llm", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		var pods []corev1.Pod
		err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(context.Context) (bool, error) {
			var settled bool
			pods, settled = live()
			return settled && len(pods) == replicas, nil
		})
		onH100, where := 0, make([]string, 0, len(pods))
		for _, p := range pods {
			if strings.HasPrefix(p.Spec.NodeName, "h100-") {
				onH100++
			}
			where = append(where, fmt.Sprintf("%s@%s(%s, ready %t, cost %q)", p.Name, p.Spec.NodeName, p.Status.Phase, podReady(&p), p.Annotations[corev1.PodDeletionCost]))
		}
		sort.Strings(where)
		if err != nil {
			t.Fatalf("scaled to %d: not that many replicas bound, Ready and annotated: %v (last seen: %s)", replicas, err, strings.Join(where, " "))
		}
		if onH100 != h100GPUs {
			t.Fatalf("scaled to %d: %d replicas run on the H100 node, want %d: %s", replicas, onH100, h100GPUs, strings.Join(where, " "))
		}
		t.Logf("scaled to %d by hand: %s", replicas, strings.Join(where, " "))
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// With Prometheus down the adapter holds its last decision (it falls back
// only after holdFor = 2m) and the HPA does not scale to min.
func checkPrometheusOutage(t *testing.T, samples []sample) {
	t.Helper()
	var before sample
	held := false
	for _, s := range samples {
		switch {
		case s.at < promDown:
			before = s
		case s.at < promUp:
			if s.source == "hold" || s.source == "fallback" {
				held = true
			}
			if s.replicas < min(before.replicas, int32(before.served)) {
				t.Errorf("%v: with Prometheus down the Deployment went from %d to %d replicas", s.at.Round(time.Second), before.replicas, s.replicas)
			}
		}
	}
	if !held {
		t.Error("the adapter never reported hold or fallback while Prometheus was down")
	}
}
