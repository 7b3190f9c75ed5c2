//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	"k8s.io/utils/ptr"

	"github.com/kisproject/kis/internal/controlplane"
)

const externalMetricPath = "/apis/external.metrics.k8s.io/v1beta1/namespaces/serving/kis_desired_replicas"

// The kis-adapter binary, with TLS and delegated authentication and
// authorization against a real kube-apiserver, serves the decision it
// derives from a real Prometheus: directly, and through the aggregation
// layer as the HPA controller reads it. A second phase measures latency at
// 200 requests/s (figures logged; `make adapter-load` prints them).
func TestAdapterServesThroughAggregator(t *testing.T) {
	cp := controlplane.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	fake, exporter := newFakeVLLM("serving", "llm")
	defer exporter.Close()
	fake.Set(func(f *fakeVLLM) { f.Rate, f.Waiting, f.Running, f.GPUUtil, f.Ready = 8, 40, 30, 70, 3 })
	u, _ := url.Parse(exporter.URL)
	prom := controlplane.StartPrometheus(t, cp.Processes, cp.Dir, time.Second, u.Host)

	createDeployment(ctx, t, cp, "serving", "llm", 3)
	cfgPath := filepath.Join(cp.Dir, "adapter.yaml")
	config := func(settings string) string { return settings + "\ninterval: 1s\n" + queueTarget }
	bin := controlplane.BuildBinary(t, t.TempDir(), "./cmd/kis-adapter")
	// A typo in the config stops the binary with the field's path.
	writeFile(t, cfgPath, config(fmt.Sprintf("prometheus: {url: %q}\nprometheus.timeout: 500ms", prom.URL)))
	if out, err := runBinary(bin, "--config="+cfgPath); err == nil || !contains(out, "unknown field") || !contains(out, "prometheus.timeout") {
		t.Fatalf("bad config: err %v, output:\n%s", err, out)
	}
	writeFile(t, cfgPath, config(fmt.Sprintf("prometheus: {url: %q, timeout: 500ms}", prom.URL)))
	adapterURL, port := cp.StartAdapter(t, bin, cfgPath)
	direct := cp.AdminHTTPClient(t)
	query := "?labelSelector=" + url.QueryEscape("kis.io/target=serving.llm")

	// (40 + 30) / 10 = 7
	cp.WaitFor(t, "a policy decision of 7 from the adapter", 60*time.Second, func() error {
		return expectValue(direct, adapterURL+externalMetricPath+query, 7, "policy")
	})
	// A client without a certificate is anonymous, and refused: delegated
	// authorization asks the kube-apiserver, which denies system:anonymous.
	anonTLS := direct.Transport.(*http.Transport).TLSClientConfig.Clone()
	anonTLS.Certificates = nil
	anon := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: anonTLS}}
	if resp, err := anon.Get(adapterURL + externalMetricPath + query); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
			t.Errorf("anonymous request: status %d, want 401 or 403", resp.StatusCode)
		}
	}

	cp.RegisterExternalMetrics(ctx, t, port)
	body, err := cp.Client.CoreV1().RESTClient().Get().AbsPath(externalMetricPath).Param("labelSelector", "kis.io/target=serving.llm").DoRaw(ctx)
	if err != nil {
		t.Fatalf("through the aggregator: %v: %s", err, body)
	}
	if err := checkValue(body, 7, "policy"); err != nil {
		t.Fatalf("through the aggregator: %v", err)
	}

	// The adapter's own metrics.
	metrics := getBody(t, direct, adapterURL+"/metrics")
	for _, want := range []string{`kis_adapter_desired_replicas{target="serving.llm"} 7`, `kis_adapter_decision_source{source="policy",target="serving.llm"} 1`, `kis_adapter_slo_seconds{target="serving.llm"} 2`} {
		if !contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// Load: 200 requests/s for 10 s, straight to the adapter over TLS.
	lat := loadTest(t, direct, adapterURL+externalMetricPath+query, 200, 10*time.Second)
	t.Logf("direct (TLS, delegated authn/z): %s", lat)
	agg := cp.AdminHTTPClient(t)
	lat = loadTest(t, agg, cp.APIServerURL+externalMetricPath+query, 200, 5*time.Second)
	t.Logf("through kube-apiserver's aggregator: %s", lat)
}

type latencies []time.Duration

func (l latencies) String() string {
	s := slices.Clone(l)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return fmt.Sprintf("%d requests, p50 %v, p99 %v, max %v", len(s), q(0.5).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond), s[len(s)-1].Round(10*time.Microsecond))
}

// loadTest sends rate requests per second for d (open loop: each request
// starts on its tick, whether or not earlier ones finished) and checks
// every answer.
func loadTest(t *testing.T, c *http.Client, u string, rate int, d time.Duration) latencies {
	t.Helper()
	var (
		mu   sync.Mutex
		lat  latencies
		errs []error
		wg   sync.WaitGroup
	)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for range int(d.Seconds()) * rate {
		<-tick.C
		wg.Go(func() {
			start := time.Now()
			resp, err := c.Get(u)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			el := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			lat = append(lat, el)
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d requests failed, first: %v", len(errs), len(errs)+len(lat), errs[0])
	}
	return lat
}

func expectValue(c *http.Client, u string, want int64, source string) error {
	status, body, err := fetch(c, u)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("status %d: %s", status, body)
	}
	return checkValue(body, want, source)
}

func checkValue(body []byte, want int64, source string) error {
	var list v1beta1.ExternalMetricValueList
	if err := json.Unmarshal(body, &list); err != nil {
		return fmt.Errorf("%w: %s", err, body)
	}
	if len(list.Items) != 1 {
		return fmt.Errorf("%d items, want 1: %s", len(list.Items), body)
	}
	it := list.Items[0]
	if it.Value.Value() != want || it.MetricLabels["kis.io/decision-source"] != source {
		return fmt.Errorf("value %s from %s, want %d from %s", it.Value.String(), it.MetricLabels["kis.io/decision-source"], want, source)
	}
	return nil
}

func getBody(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	_, body, err := fetch(c, u)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// fetch GETs u and returns the status and the whole body.
func fetch(c *http.Client, u string) (int, []byte, error) {
	resp, err := c.Get(u)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

func createDeployment(ctx context.Context, t *testing.T, cp *controlplane.ControlPlane, ns, name string, replicas int32) {
	t.Helper()
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "vllm", Image: "vllm/vllm-openai:v0.11.0"}}},
			},
		},
	}
	if _, err := cp.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// runBinary runs a command to its end and returns its output.
func runBinary(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
