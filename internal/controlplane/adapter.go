package controlplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
)

// AdapterNamespace and AdapterService are where manifests/adapter deploys
// kis-adapter; the serving certificate is issued for that Service's name.
const (
	AdapterNamespace = "kis-system"
	AdapterService   = "kis-adapter"
)

// StartAdapter runs the kis-adapter binary on loopback with config, the
// control plane's admin kubeconfig for its clients and for delegated
// authentication and authorization, and a serving certificate from the
// test CA. It returns the adapter's https URL and port once /readyz answers.
func (cp *ControlPlane) StartAdapter(t TB, bin, config string, extraArgs ...string) (string, int) {
	t.Helper()
	port := FreePort(t)
	args := append([]string{
		"--config=" + config,
		"--lister-kubeconfig=" + cp.Kubeconfig,
		"--authentication-kubeconfig=" + cp.Kubeconfig,
		"--authorization-kubeconfig=" + cp.Kubeconfig,
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + cp.PKI.AdapterCert, "--tls-private-key-file=" + cp.PKI.AdapterKey,
		"--v=2",
	}, extraArgs...)
	cp.Start(t, "kis-adapter", bin, args...)
	url := "https://127.0.0.1:" + strconv.Itoa(port)
	client := cp.AdminHTTPClient(t)
	cp.WaitFor(t, "kis-adapter /readyz", 60*time.Second, func() error { return getOK(client, url+"/readyz") })
	return url, port
}

// AdminHTTPClient is an HTTP client that trusts the test CA and presents
// the admin (system:masters) client certificate.
func (cp *ControlPlane) AdminHTTPClient(t TB) *http.Client {
	t.Helper()
	caPEM, err := os.ReadFile(cp.PKI.CACert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(cp.PKI.AdminCert, cp.PKI.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}},
			MaxIdleConnsPerHost: 64,
		},
	}
}

// RegisterExternalMetrics points the APIService v1beta1.external.metrics.k8s.io
// at an adapter listening on loopback port. Endpoints cannot hold
// 127.0.0.1, so the Service is an ExternalName for localhost; the
// aggregator still verifies the adapter's certificate against the test CA
// for kis-adapter.kis-system.svc.
func (cp *ControlPlane) RegisterExternalMetrics(ctx context.Context, t TB, port int) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: AdapterNamespace}}
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: AdapterService, Namespace: AdapterNamespace},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeExternalName, ExternalName: "localhost",
			Ports: []corev1.ServicePort{{Name: "https", Port: int32(port)}},
		},
	}
	if _, err := cp.Client.CoreV1().Services(AdapterNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(cp.PKI.CACert)
	if err != nil {
		t.Fatal(err)
	}
	agg, err := aggregator.NewForConfig(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	p := int32(port)
	apiService := &apiregistrationv1.APIService{
		ObjectMeta: metav1.ObjectMeta{Name: "v1beta1.external.metrics.k8s.io"},
		Spec: apiregistrationv1.APIServiceSpec{
			Group: "external.metrics.k8s.io", Version: "v1beta1",
			Service:              &apiregistrationv1.ServiceReference{Namespace: AdapterNamespace, Name: AdapterService, Port: &p},
			CABundle:             caPEM,
			GroupPriorityMinimum: 100, VersionPriority: 100,
		},
	}
	if _, err := agg.ApiregistrationV1().APIServices().Create(ctx, apiService, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The aggregator's proxy learns of the Available condition from its own
	// informer, after the status is written: until then it answers 503
	// "service unavailable" while the status reads Available. Ready means
	// both, the proxied group answering through the aggregator.
	cp.WaitFor(t, "APIService v1beta1.external.metrics.k8s.io Available and served through the aggregator", 60*time.Second, func() error {
		got, err := agg.ApiregistrationV1().APIServices().Get(ctx, apiService.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if err := availableCondition(got); err != nil {
			return err
		}
		if body, err := cp.Client.CoreV1().RESTClient().Get().AbsPath("/apis/external.metrics.k8s.io/v1beta1").DoRaw(ctx); err != nil {
			return fmt.Errorf("through the aggregator: %w: %s", err, body)
		}
		return nil
	})
}

func availableCondition(s *apiregistrationv1.APIService) error {
	for _, c := range s.Status.Conditions {
		if c.Type == apiregistrationv1.Available {
			if c.Status == apiregistrationv1.ConditionTrue {
				return nil
			}
			return fmt.Errorf("%s: %s", c.Reason, c.Message)
		}
	}
	return fmt.Errorf("no Available condition yet")
}
