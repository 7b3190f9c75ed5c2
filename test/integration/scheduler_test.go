//go:build integration

package integration

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	"k8s.io/kubernetes/cmd/kube-scheduler/app/options"

	"github.com/kisproject/kis/internal/controlplane"
	schedulermanifests "github.com/kisproject/kis/manifests/scheduler"
	"github.com/kisproject/kis/plugins/gpuaware"
)

// The real kube-scheduler, built by app.Setup from the manifest's
// KubeSchedulerConfiguration with GPUAware registered out of tree and
// running as the manifest's ServiceAccount with the manifest's RBAC, binds a
// GPU pod through a real kube-apiserver to the node GPUAware prefers and
// sets its pod-deletion-cost.
func TestKISSchedulerBindsToPreferredNode(t *testing.T) {
	cp := controlplane.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := cp.Client

	// Four nodes:
	//   h100-empty    4 x H100 80 GB, all free
	//   h100-partial  4 x H100 80 GB, 2 taken  <- BinPack: fullest that fits
	//   t4-empty      8 x T4 16 GB, all free    (too little GPU memory)
	//   cpu-only      no GPUs
	addNode(ctx, t, c, "h100-empty", 4, "NVIDIA-H100-80GB-HBM3", 81559)
	addNode(ctx, t, c, "h100-partial", 4, "NVIDIA-H100-80GB-HBM3", 81559)
	addNode(ctx, t, c, "t4-empty", 8, "Tesla-T4", 15360)
	addNode(ctx, t, c, "cpu-only", 0, "", 0)
	ns := "kis-it"
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// No controller-manager runs here to create the default ServiceAccount
	// the ServiceAccount admission plugin requires.
	if _, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Two GPUs of h100-partial are already taken by a bound pod.
	existing := gpuPod("existing", 2)
	existing.Spec.NodeName = "h100-partial"
	if _, err := c.CoreV1().Pods(ns).Create(ctx, existing, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	applyManifest(ctx, t, c, "../../manifests/scheduler/rbac.yaml")
	startScheduler(ctx, t, cp, "system:serviceaccount:kube-system:kis-scheduler")

	pod := gpuPod("llm-0", 1)
	pod.Spec.SchedulerName = schedulermanifests.ProfileName
	pod.Annotations = map[string]string{gpuaware.AnnotationGPUMemory: "22Gi", gpuaware.AnnotationModel: "meta-llama/Llama-3.1-8B-Instruct"}
	if _, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var bound *corev1.Pod
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().Pods(ns).Get(ctx, "llm-0", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		bound = p
		return p.Spec.NodeName != "", nil
	}); err != nil {
		t.Fatalf("pod not bound: %v (conditions %v)", err, bound.Status.Conditions)
	}
	if bound.Spec.NodeName != "h100-partial" {
		t.Errorf("pod bound to %s, want h100-partial (BinPack, and the T4 lacks the memory)", bound.Spec.NodeName)
	}
	// PostBind's patch lands after the binding: the manifest's cost for an H100.
	var cost string
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().Pods(ns).Get(ctx, "llm-0", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cost = p.Annotations[corev1.PodDeletionCost]
		return cost != "", nil
	}); err != nil || cost != "200" {
		t.Errorf("llm-0 on an H100 node has %s=%q (%v), want \"200\" (manifests/scheduler/config.yaml)", corev1.PodDeletionCost, cost, err)
	}
	// The Scheduled event names kis-scheduler as its reporting controller.
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		evs, err := c.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		return hasScheduledEvent(evs.Items, "llm-0", schedulermanifests.ProfileName), nil
	}); err != nil {
		t.Errorf("no Scheduled event from %s for llm-0: %v", schedulermanifests.ProfileName, err)
	}

	// A pod needing more GPU memory than any node has stays Pending with
	// GPUAware's reason.
	huge := gpuPod("llm-huge", 1)
	huge.Spec.SchedulerName = schedulermanifests.ProfileName
	huge.Annotations = map[string]string{gpuaware.AnnotationGPUMemory: "200Gi"}
	if _, err := c.CoreV1().Pods(ns).Create(ctx, huge, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().Pods(ns).Get(ctx, "llm-huge", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Reason == corev1.PodReasonUnschedulable {
				t.Logf("llm-huge: %s", cond.Message)
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		t.Errorf("llm-huge was not reported unschedulable: %v", err)
	}
}

func hasScheduledEvent(evs []eventsv1.Event, pod, controller string) bool {
	for _, e := range evs {
		if e.Regarding.Name == pod && e.Reason == "Scheduled" && e.ReportingController == controller {
			return true
		}
	}
	return false
}

// startScheduler runs kis-scheduler's configuration in process: app.Setup
// (the kube-scheduler command's own config loading and scheduler.New) with
// the manifest's KubeSchedulerConfiguration, pointed at the test's API
// server as user, without leader election.
func startScheduler(ctx context.Context, t *testing.T, cp *controlplane.ControlPlane, user string) {
	t.Helper()
	cfg := cp.WriteSchedulerConfig(t, schedulermanifests.Config, cp.KubeconfigAs(t, user))
	opts := options.NewOptions()
	fs := pflag.NewFlagSet("kis-scheduler", pflag.ContinueOnError)
	for _, f := range opts.Flags.FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse([]string{"--config", cfg, "--leader-elect=false"}); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	opts.SecureServing.Listener = l
	cc, sched, err := app.Setup(ctx, opts, app.WithPlugin(gpuaware.Name, gpuaware.New))
	if err != nil {
		t.Fatalf("app.Setup: %v", err)
	}
	// What app.Run does before scheduling: events out, informers up.
	cc.EventBroadcaster.StartRecordingToSink(ctx.Done())
	cc.InformerFactory.Start(ctx.Done())
	if cc.DynInformerFactory != nil {
		cc.DynInformerFactory.Start(ctx.Done())
	}
	cc.InformerFactory.WaitForCacheSync(ctx.Done())
	go sched.Run(ctx)
}

func addNode(ctx context.Context, t *testing.T, c kubernetes.Interface, name string, gpus int64, product string, memMiB int64) {
	t.Helper()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}}}
	if gpus > 0 {
		node.Labels[gpuaware.LabelGPUProduct] = product
		node.Labels[gpuaware.LabelGPUMemory] = fmt.Sprint(memMiB)
	}
	created, err := c.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	alloc := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("96"),
		corev1.ResourceMemory: resource.MustParse("1Ti"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	if gpus > 0 {
		alloc[gpuaware.ResourceGPU] = *resource.NewQuantity(gpus, resource.DecimalSI)
	}
	created.Status.Capacity, created.Status.Allocatable = alloc, alloc
	created.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now()}}
	updated, err := c.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The TaintNodesByCondition admission plugin taints new nodes not-ready;
	// with no kubelet and no node controller here, nobody would lift it.
	updated.Spec.Taints = nil
	if _, err := c.CoreV1().Nodes().Update(ctx, updated, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func gpuPod(name string, gpus int64) *corev1.Pod {
	q := *resource.NewQuantity(gpus, resource.DecimalSI)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "server", Image: "vllm/vllm-openai:v0.8.5",
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{gpuaware.ResourceGPU: q, corev1.ResourceCPU: resource.MustParse("8")},
				Limits:   corev1.ResourceList{gpuaware.ResourceGPU: q},
			},
		}}},
	}
}

// applyManifest creates the ServiceAccounts and RBAC objects of a manifest
// file; any other kind fails the test, so a manifest that grows one is
// noticed here.
func applyManifest(ctx context.Context, t *testing.T, c kubernetes.Interface, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	docs := utilyaml.NewYAMLReader(bufio.NewReader(f))
	for {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		switch o := obj.(type) {
		case *corev1.ServiceAccount:
			_, err = c.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.ClusterRole:
			_, err = c.RbacV1().ClusterRoles().Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.ClusterRoleBinding:
			_, err = c.RbacV1().ClusterRoleBindings().Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.Role:
			_, err = c.RbacV1().Roles(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.RoleBinding:
			_, err = c.RbacV1().RoleBindings(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		default:
			t.Fatalf("%s: applyManifest does not create %T", path, obj)
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
}
