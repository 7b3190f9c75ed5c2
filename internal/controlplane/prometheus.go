package controlplane

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Prometheus is a real Prometheus server on loopback.
type Prometheus struct {
	// URL is http://127.0.0.1:<port>.
	URL string

	ps      *Processes
	path    string
	args    []string
	dataDir string
}

// StartPrometheus starts Prometheus (installed by hack/install-prometheus.sh)
// scraping targets (host:port) every interval, and waits until it is ready.
func StartPrometheus(t TB, ps *Processes, dir string, interval time.Duration, targets ...string) *Prometheus {
	t.Helper()
	path, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not found (hack/install-prometheus.sh installs it; make integration-test runs it): %v", err)
	}
	quoted := make([]string, len(targets))
	for i, tg := range targets {
		quoted[i] = strconv.Quote(tg)
	}
	// honor_labels keeps the pod and namespace labels the exporters set, as
	// a pod-level scrape config with relabelling would produce them.
	cfg := fmt.Sprintf(`global:
  scrape_interval: %s
  evaluation_interval: %s
scrape_configs:
- job_name: kis
  honor_labels: true
  static_configs:
  - targets: [%s]
`, interval, interval, strings.Join(quoted, ", "))
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	p := &Prometheus{
		URL: "http://127.0.0.1:" + strconv.Itoa(port), ps: ps, path: path,
		dataDir: filepath.Join(dir, "prometheus-data"),
	}
	p.args = []string{
		"--config.file=" + cfgPath, "--storage.tsdb.path=" + p.dataDir,
		"--web.listen-address=127.0.0.1:" + strconv.Itoa(port), "--log.level=warn",
	}
	p.Start(t)
	return p
}

// Start (re)starts the server on the same port and data directory.
func (p *Prometheus) Start(t TB) {
	t.Helper()
	p.ps.Start(t, "prometheus", p.path, p.args...)
	p.ps.WaitFor(t, "prometheus /-/ready", 60*time.Second, func() error { return getOK(http.DefaultClient, p.URL+"/-/ready") })
}

// Stop stops the server by PID.
func (p *Prometheus) Stop() { p.ps.Stop("prometheus") }
