package telemetry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"

	"github.com/kisproject/kis/internal/promurl"
	"github.com/kisproject/kis/plugins/gpuaware"
	"github.com/kisproject/kis/policy"
)

// The queries behind the cache. DCGM exporter labels each GPU's series
// with the node's name in Hostname; kis-gpu-exporter does the same.
const (
	utilQuery      = `avg by (Hostname) (` + policy.GPUUtil + `)`
	memoryQuery    = `sum by (Hostname) (` + policy.GPUFBUsed + `) / (sum by (Hostname) (` + policy.GPUFBUsed + `) + sum by (Hostname) (` + policy.GPUFBFree + `))`
	timestampQuery = `min by (Hostname) (timestamp(` + policy.GPUUtil + `))`
	modelsQuery    = `max by (Hostname, model) (` + policy.ModelCachePresent + `) > 0`
)

// Prometheus is a gpuaware.Telemetry backed by Prometheus. Refresh (or
// Run, which calls it periodically) replaces the cache; NodeTelemetry only
// reads it.
type Prometheus struct {
	api     promv1.API
	timeout time.Duration

	mu    sync.RWMutex
	nodes map[string]gpuaware.NodeTelemetry
	// healthy is the outcome of the last refresh, to log state changes once.
	healthy *bool
}

var _ gpuaware.Telemetry = (*Prometheus)(nil)

// NewPrometheus returns a source querying the Prometheus at url. timeout
// bounds each refresh.
func NewPrometheus(url string, timeout time.Duration) (*Prometheus, error) {
	if err := promurl.Check(url); err != nil {
		return nil, fmt.Errorf("prometheus URL %q: %w", url, err)
	}
	c, err := promapi.NewClient(promapi.Config{Address: url})
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %q: %w", url, err)
	}
	return &Prometheus{api: promv1.NewAPI(c), timeout: timeout, nodes: map[string]gpuaware.NodeTelemetry{}}, nil
}

// NodeTelemetry implements gpuaware.Telemetry.
func (p *Prometheus) NodeTelemetry(name string) (gpuaware.NodeTelemetry, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	t, ok := p.nodes[name]
	return t, ok
}

// Run refreshes every interval until ctx is done. A failed refresh keeps
// the previous data, which the plugin stops trusting once it is older than
// its telemetryMaxAge.
func (p *Prometheus) Run(ctx context.Context, interval time.Duration) {
	logger := klog.FromContext(ctx).WithValues("source", "prometheus")
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		err := p.Refresh(ctx)
		ok := err == nil
		if p.healthy == nil || *p.healthy != ok {
			if ok {
				logger.Info("GPU telemetry refresh succeeded")
			} else {
				logger.Error(err, "GPU telemetry refresh failed; keeping the last data")
			}
			p.healthy = &ok
		}
	}, interval)
}

// Refresh queries Prometheus once and replaces the cache. Series with a
// missing Hostname or a non-finite or out-of-range value are skipped and
// reported in the returned error; the nodes that are well-formed are still
// updated.
func (p *Prometheus) Refresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	now := time.Now()
	var problems []error
	query := func(q string) model.Vector {
		v, _, _, err := p.api.Query(ctx, q, now)
		if err != nil {
			problems = append(problems, fmt.Errorf("query %q: %w", q, err))
			return nil
		}
		vec, ok := v.(model.Vector)
		if !ok {
			problems = append(problems, fmt.Errorf("query %q: got %s, want a vector", q, v.Type()))
		}
		return vec
	}
	util, mem, stamps, models := query(utilQuery), query(memoryQuery), query(timestampQuery), query(modelsQuery)
	if len(problems) > 0 {
		return errors.Join(problems...)
	}

	next := map[string]gpuaware.NodeTelemetry{}
	for _, s := range stamps {
		host, v, err := sampleOf(s, 0, math.MaxFloat64)
		if err != nil {
			problems = append(problems, fmt.Errorf("timestamp: %w", err))
			continue
		}
		sec, frac := math.Modf(v)
		next[host] = gpuaware.NodeTelemetry{Timestamp: time.Unix(int64(sec), int64(frac*1e9))}
	}
	// Utilisation and memory count only for nodes whose samples are dated.
	apply := func(name string, vec model.Vector, hi float64, set func(*gpuaware.NodeTelemetry, float64)) {
		for _, s := range vec {
			host, v, err := sampleOf(s, 0, hi)
			if err != nil {
				problems = append(problems, fmt.Errorf("%s: %w", name, err))
				continue
			}
			if t, ok := next[host]; ok {
				set(&t, v)
				next[host] = t
			}
		}
	}
	apply("gpu utilisation", util, 100, func(t *gpuaware.NodeTelemetry, v float64) { t.GPUUtilPercent = v })
	apply("gpu memory", mem, 1, func(t *gpuaware.NodeTelemetry, v float64) { t.GPUMemoryUsedFraction = v })
	for _, s := range models {
		host, m := string(s.Metric["Hostname"]), string(s.Metric["model"])
		if host == "" || m == "" {
			problems = append(problems, fmt.Errorf("model cache: series %s lacks Hostname or model", s.Metric))
			continue
		}
		if t, ok := next[host]; ok {
			t.CachedModels = append(t.CachedModels, m)
			next[host] = t
		}
	}
	p.mu.Lock()
	p.nodes = next
	p.mu.Unlock()
	return errors.Join(problems...)
}

func sampleOf(s *model.Sample, lo, hi float64) (string, float64, error) {
	host := string(s.Metric["Hostname"])
	v := float64(s.Value)
	switch {
	case host == "":
		return "", 0, fmt.Errorf("series %s lacks the Hostname label", s.Metric)
	case math.IsNaN(v) || math.IsInf(v, 0) || v < lo || v > hi:
		return "", 0, fmt.Errorf("node %s: value %v outside [%v, %v]", host, v, lo, hi)
	}
	return host, v, nil
}
