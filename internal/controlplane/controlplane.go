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
	"syscall"
	"testing"
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

	procs []*process
}

type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// BinDir builds (or finds in the cache) the control-plane binaries with
// hack/build-control-plane.sh and returns their directory.
func BinDir(t testing.TB, components ...string) string {
	t.Helper()
	root, err := repoRoot()
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

func repoRoot() (string, error) {
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
func Start(t testing.TB) *ControlPlane {
	t.Helper()
	bin := BinDir(t, "etcd", "kube-apiserver")
	dir := t.TempDir()
	p, err := newPKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	cp := &ControlPlane{Dir: dir, PKI: p}
	t.Cleanup(cp.stop)

	etcdPort, peerPort, apiPort := freePort(t), freePort(t), freePort(t)
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	cp.start(t, "etcd", filepath.Join(bin, "etcd-"+EtcdVersion),
		"--name=kis-test", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=kis-test="+peerURL,
		"--unsafe-no-fsync=true", "--log-level=warn")
	cp.waitFor(t, "etcd", 60*time.Second, func() error {
		resp, err := http.Get(etcdURL + "/health")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})

	cp.APIServerURL = "https://127.0.0.1:" + strconv.Itoa(apiPort)
	cp.start(t, "kube-apiserver", filepath.Join(bin, "kube-apiserver-"+KubeVersion),
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
	cp.waitFor(t, "kube-apiserver /readyz", 120*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		body, err := cp.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("%w: %s", err, body)
		}
		return nil
	})
	cp.Kubeconfig = filepath.Join(dir, "admin.kubeconfig")
	if err := os.WriteFile(cp.Kubeconfig, cp.kubeconfigYAML(), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := clientcmd.BuildConfigFromFlags("", cp.Kubeconfig); err != nil {
		t.Fatalf("the written kubeconfig does not load: %v", err)
	}
	return cp
}

func (cp *ControlPlane) kubeconfigYAML() []byte {
	return []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kis-test
  cluster: {server: %q, certificate-authority: %q}
users:
- name: admin
  user: {client-certificate: %q, client-key: %q}
contexts:
- name: kis-test
  context: {cluster: kis-test, user: admin}
current-context: kis-test
`, cp.APIServerURL, cp.PKI.CACert, cp.PKI.AdminCert, cp.PKI.AdminKey))
}

func (cp *ControlPlane) start(t testing.TB, name, path string, args ...string) {
	t.Helper()
	logPath := filepath.Join(cp.Dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group, so a stop reaches anything it forks.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	cp.procs = append(cp.procs, p)
}

// waitFor polls check until it succeeds, failing fast with the log's tail
// if a started process died.
func (cp *ControlPlane) waitFor(t testing.TB, what string, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		for _, p := range cp.procs {
			select {
			case <-p.done:
				t.Fatalf("%s exited while waiting for %s:\n%s", p.name, what, tail(p.log, 20))
			default:
			}
		}
		if last = check(); last == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s: %v", timeout, what, last)
}

// stop ends the processes in reverse start order: SIGTERM, then SIGKILL
// after 10 s.
func (cp *ControlPlane) stop() {
	for i := len(cp.procs) - 1; i >= 0; i-- {
		p := cp.procs[i]
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
	cp.procs = nil
}

// Logs returns the last lines of a component's log, for failure messages.
func (cp *ControlPlane) Logs(name string, lines int) string {
	return tail(filepath.Join(cp.Dir, name+".log"), lines)
}

func tail(path string, lines int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
