package controlplane

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KWOKVersion is the KWOK hack/build-control-plane.sh builds.
const KWOKVersion = "v0.8.0"

// StartControllerManager runs kube-controller-manager with the controllers
// a Deployment scaled by an HPA needs: deployment and replicaset (pods),
// horizontalpodautoscaling (the stock HPA under test), serviceaccount
// (default ServiceAccounts, which pod admission requires), garbagecollector
// and namespace. hpaSync is --horizontal-pod-autoscaler-sync-period.
func (cp *ControlPlane) StartControllerManager(t TB, hpaSync time.Duration) {
	t.Helper()
	bin := BinDir(t, "kube-controller-manager")
	port := FreePort(t)
	cp.Start(t, "kube-controller-manager", filepath.Join(bin, "kube-controller-manager-"+KubeVersion),
		"--kubeconfig="+cp.Kubeconfig,
		"--authentication-kubeconfig="+cp.Kubeconfig, "--authorization-kubeconfig="+cp.Kubeconfig,
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(port),
		"--leader-elect=false",
		"--controllers=deployment,replicaset,horizontalpodautoscaling,serviceaccount,garbagecollector,namespace",
		"--horizontal-pod-autoscaler-sync-period="+hpaSync.String(),
		"--v=2")
	cp.WaitFor(t, "the default ServiceAccount (controller-manager up)", 90*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := cp.Client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// StartKWOK runs KWOK for the nodes annotated kwok.x-k8s.io/node=fake: it
// keeps them Ready and takes their pods through Pending, Running and
// deletion, with the Stages its module ships.
func (cp *ControlPlane) StartKWOK(t TB) {
	t.Helper()
	bin := BinDir(t, "kwok")
	stages := filepath.Join(bin, "kwok-"+KWOKVersion+"-stages.yaml")
	if _, err := os.Stat(stages); err != nil {
		t.Fatalf("KWOK stages: %v (hack/build-control-plane.sh kwok writes them)", err)
	}
	port := FreePort(t)
	cp.Start(t, "kwok", filepath.Join(bin, "kwok-"+KWOKVersion),
		"--kubeconfig="+cp.Kubeconfig, "--config="+stages,
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--server-address=127.0.0.1:"+strconv.Itoa(port), "--cidr=10.8.0.0/16", "--node-ip=10.8.0.1")
	cp.WaitFor(t, "kwok /healthz", 30*time.Second, func() error { return getOK(http.DefaultClient, "http://127.0.0.1:"+strconv.Itoa(port)+"/healthz") })
}

// WriteSchedulerConfig writes a KubeSchedulerConfiguration (the manifest's)
// pointed at this API server through kubeconfig and returns its path.
func (cp *ControlPlane) WriteSchedulerConfig(t TB, config []byte, kubeconfig string) string {
	t.Helper()
	path := filepath.Join(cp.Dir, "kis-scheduler.yaml")
	data := append(append([]byte{}, config...), fmt.Sprintf("clientConnection:\n  kubeconfig: %s\n", kubeconfig)...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// StartScheduler runs the kis-scheduler binary with a KubeSchedulerConfiguration
// (the manifest's, pointed at this API server) and GPU telemetry from the
// Prometheus at telemetryURL.
func (cp *ControlPlane) StartScheduler(t TB, bin string, config []byte, telemetryURL string) {
	t.Helper()
	path := cp.WriteSchedulerConfig(t, config, cp.Kubeconfig)
	port := FreePort(t)
	args := []string{"--config=" + path, "--leader-elect=false",
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port),
		"--authentication-kubeconfig=" + cp.Kubeconfig, "--authorization-kubeconfig=" + cp.Kubeconfig, "--v=2"}
	if telemetryURL != "" {
		args = append(args, "--gpu-telemetry-prometheus-url="+telemetryURL, "--gpu-telemetry-interval=2s")
	}
	cp.Start(t, "kis-scheduler", bin, args...)
	client := cp.AdminHTTPClient(t)
	client.Transport.(*http.Transport).TLSClientConfig.InsecureSkipVerify = true // self-signed serving certificate
	cp.WaitFor(t, "kis-scheduler /healthz", 60*time.Second, func() error { return getOK(client, "https://127.0.0.1:"+strconv.Itoa(port)+"/healthz") })
}
