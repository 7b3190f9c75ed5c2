package controlplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ControlPlane is a running etcd and kube-apiserver on loopback.
type ControlPlane struct {
	// Dir holds certificates, data and logs.
	Dir string
	// Kubeconfig is an admin (system:masters) kubeconfig file.
	Kubeconfig string
	// Config is the same admin access as a rest.Config.
	Config *rest.Config
	Client kubernetes.Interface
	// PKI file paths, for components that need them (aggregation).
	PKI *pki
	// APIServerURL is https://127.0.0.1:<port>.
	APIServerURL string

	*Processes
}

// BinDir builds (or finds in the cache) the control-plane binaries with
// hack/build-control-plane.sh and returns their directory.
func BinDir(t TB, components ...string) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(root, "hack", "build-control-plane.sh"), components...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hack/build-control-plane.sh: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// RepoRoot is the checkout's root directory, found from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "hack", "build-control-plane.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root (with hack/build-control-plane.sh) not found above the working directory")
		}
		dir = parent
	}
}

// Versions of the binaries, as hack/build-control-plane.sh names them.
const (
	KubeVersion = "v1.37.2"
	EtcdVersion = "v3.7.3"
)

// Start starts etcd and kube-apiserver and waits until the API server is
// ready. Everything is stopped by PID when the test ends, the API server
// before etcd (its graceful shutdown hangs without etcd).
func Start(t TB) *ControlPlane {
	t.Helper()
	bin := BinDir(t, "etcd", "kube-apiserver")
	dir := t.TempDir()
	p, err := newPKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	cp := &ControlPlane{Dir: dir, PKI: p, Processes: NewProcesses(t, dir)}

	etcdPort, peerPort, apiPort := FreePort(t), FreePort(t), FreePort(t)
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	cp.Start(t, "etcd", filepath.Join(bin, "etcd-"+EtcdVersion),
		"--name=kis-test", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=kis-test="+peerURL,
		"--unsafe-no-fsync=true", "--log-level=warn")
	cp.WaitFor(t, "etcd", 60*time.Second, func() error { return getOK(http.DefaultClient, etcdURL+"/health") })

	cp.APIServerURL = "https://127.0.0.1:" + strconv.Itoa(apiPort)
	cp.Start(t, "kube-apiserver", filepath.Join(bin, "kube-apiserver-"+KubeVersion),
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(apiPort), "--advertise-address=127.0.0.1",
		// Loopback is not a valid endpoint for the kubernetes Service.
		"--endpoint-reconciler-type=none",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--tls-cert-file="+p.ServingCert, "--tls-private-key-file="+p.ServingKey,
		"--client-ca-file="+p.CACert,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+p.SAPub, "--service-account-signing-key-file="+p.SAKey,
		"--authorization-mode=Node,RBAC",
		// The aggregation layer, for APIServices served by extension servers.
		"--requestheader-client-ca-file="+p.FrontProxyCA,
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file="+p.FrontProxyCert, "--proxy-client-key-file="+p.FrontProxyKey,
		"--profiling=false", "--v=1")

	cp.Config = &rest.Config{
		Host:            cp.APIServerURL,
		TLSClientConfig: rest.TLSClientConfig{CAFile: p.CACert, CertFile: p.AdminCert, KeyFile: p.AdminKey},
		QPS:             100, Burst: 200,
	}
	cp.Client, err = kubernetes.NewForConfig(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	cp.WaitFor(t, "kube-apiserver /readyz", 120*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		body, err := cp.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("%w: %s", err, body)
		}
		return nil
	})
	cp.Kubeconfig = filepath.Join(dir, "admin.kubeconfig")
	if err := os.WriteFile(cp.Kubeconfig, cp.kubeconfigYAML(""), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := clientcmd.BuildConfigFromFlags("", cp.Kubeconfig); err != nil {
		t.Fatalf("the written kubeconfig does not load: %v", err)
	}
	return cp
}

// KubeconfigAs writes a kubeconfig whose requests impersonate user (e.g.
// a ServiceAccount's "system:serviceaccount:NS:NAME"), so that a component
// runs with exactly the permissions RBAC grants that user, and returns its
// path.
func (cp *ControlPlane) KubeconfigAs(t TB, user string) string {
	t.Helper()
	path := filepath.Join(cp.Dir, strings.NewReplacer(":", "_", "/", "_").Replace(user)+".kubeconfig")
	if err := os.WriteFile(path, cp.kubeconfigYAML(user), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// kubeconfigYAML is an admin kubeconfig, impersonating asUser if set.
func (cp *ControlPlane) kubeconfigYAML(asUser string) []byte {
	impersonate := ""
	if asUser != "" {
		impersonate = fmt.Sprintf(", as: %q", asUser)
	}
	return []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kis-test
  cluster: {server: %q, certificate-authority: %q}
users:
- name: admin
  user: {client-certificate: %q, client-key: %q%s}
contexts:
- name: kis-test
  context: {cluster: kis-test, user: admin}
current-context: kis-test
`, cp.APIServerURL, cp.PKI.CACert, cp.PKI.AdminCert, cp.PKI.AdminKey, impersonate))
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
