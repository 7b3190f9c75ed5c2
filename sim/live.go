package sim

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/clock"

	"github.com/kisproject/kis/policy"
)

// Live runs KISim's serving model on the replicas a real cluster runs: a
// watcher reports which of a Deployment's pods run on which nodes, and the
// simulator serves the scenario's requests on them in wall-clock time. It
// exports what the real stack would: the serving engine's families per pod,
// DCGM exporter's per GPU, kube-state-metrics' Deployment and pod phase
// series, and kis-gpu-exporter's model cache gauge. So Prometheus, the
// adapter, the HPA and the scheduler are real; only the GPUs and the
// requests are simulated.
//
// Node names are the cluster spec's (<pool>-<index>, as NodesOf names
// them), so the spec that creates the fake nodes also gives their GPUs'
// speed and cache contents.
type Live struct {
	mu                    sync.Mutex
	s                     *Simulation
	clock                 clock.PassiveClock
	origin                time.Time
	namespace, deployment string

	engine    engineDescs
	nodeIndex map[string]int
	byName    map[string]*pod
	// gpus[node][i] is the pod holding GPU i of the node, or nil.
	gpus    [][]*pod
	pending []string
}

type livePod struct {
	name                  string
	completed, latencySum float64
	buckets               []float64
}

// LivePod is one pod of the watched Deployment as the API server has it.
type LivePod struct {
	Name string
	// Node is spec.nodeName, empty while unscheduled.
	Node string
	// Running is true once the pod's containers run (status.phase Running),
	// from when the serving process loads the model.
	Running bool
}

// NewLive prepares a live run whose time zero is now on clk (the wall
// clock in kis-sim live). cfg.Scaler is not used: the real HPA scales.
func NewLive(cfg Config, namespace, deployment string, clk clock.PassiveClock) (*Live, error) {
	if cfg.Scaler == "" {
		cfg.Scaler = "fixed:1"
	}
	s, err := newSimulation(cfg, nil, true)
	if err != nil {
		return nil, err
	}
	l := &Live{s: s, clock: clk, origin: clk.Now(), namespace: namespace, deployment: deployment,
		engine: newEngineDescs(&s.prof.Metrics), nodeIndex: map[string]int{}, byName: map[string]*pod{}}
	for i, n := range s.nodes {
		l.nodeIndex[n.Name] = i
		l.gpus = append(l.gpus, make([]*pod, n.GPUs))
	}
	s.start()
	return l, nil
}

// End is the wall-clock time the scenario ends.
func (l *Live) End() time.Time { return l.origin.Add(l.s.end) }

func (l *Live) advance() {
	if d := l.clock.Since(l.origin); d > l.s.loop.Now() {
		// Live follows the wall clock in small steps; its caller's context
		// ends it between them.
		l.s.advance(d, nil)
	}
}

// Sync brings the simulated replicas in line with the Deployment's pods:
// new running pods start loading the model on their
// node, vanished ones drain. It returns the pods on nodes the cluster spec
// does not know, which cannot be simulated.
func (l *Live) Sync(pods []LivePod, specReplicas int32) (unknownNodes []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advance()
	s := l.s
	s.spec = specReplicas
	seen := make(map[string]bool, len(pods))
	l.pending = l.pending[:0]
	for _, lp := range pods {
		seen[lp.Name] = true
		if _, known := l.byName[lp.Name]; known {
			continue
		}
		if lp.Node == "" || !lp.Running {
			l.pending = append(l.pending, lp.Name)
			continue
		}
		idx, ok := l.nodeIndex[lp.Node]
		if !ok {
			unknownNodes = append(unknownNodes, lp.Name+" on "+lp.Node)
			continue
		}
		l.start(lp.Name, idx)
	}
	for name, p := range l.byName {
		if !seen[name] {
			delete(l.byName, name)
			if p.phase < phaseDraining {
				s.terminate(p)
			}
		}
	}
	return unknownNodes
}

// start begins a replica's life at the point KWOK reports it Running: the
// serving process loads the weights (from local disk where the node caches
// them), or crash-loops if they do not fit in the GPU.
func (l *Live) start(name string, node int) {
	s := l.s
	p := s.newPod()
	slot := -1
	for i, held := range l.gpus[node] {
		if held == nil || held.phase == phaseGone {
			slot = i
			break
		}
	}
	p.live = &livePod{name: name, buckets: make([]float64, len(s.buckets))}
	if slot >= 0 {
		l.gpus[node][slot] = p
	}
	s.assign(p, node)
	s.loop.Schedule(0, evLifecycle, p.id, p.gen)
	l.byName[name] = p
}

var (
	podLabels = []string{"namespace", "pod"}
	gpuLabels = []string{"gpu", "modelName", "Hostname", "namespace", "pod"}

	descPhase    = prometheus.NewDesc(policy.PodPhase, "The pod's current phase.", append([]string{"phase"}, podLabels...), nil)
	descReady    = prometheus.NewDesc(policy.ReadyReplicas, "Ready replicas of the Deployment.", []string{"namespace", "deployment"}, nil)
	descGPUUtil  = prometheus.NewDesc(policy.GPUUtil, "GPU utilization (in %).", gpuLabels, nil)
	descFBUsed   = prometheus.NewDesc(policy.GPUFBUsed, "Framebuffer memory used (in MiB).", gpuLabels, nil)
	descFBFree   = prometheus.NewDesc(policy.GPUFBFree, "Framebuffer memory free (in MiB).", gpuLabels, nil)
	descModelHit = prometheus.NewDesc(policy.ModelCachePresent, "Model weights in the node-local cache.", []string{"Hostname", "model"}, nil)
)

// engineDescs are the serving engine's families, named by the workload's
// metric set; built once per run, not per scrape.
type engineDescs struct {
	waiting, running, success, latency *prometheus.Desc
}

func newEngineDescs(m *policy.MetricSet) engineDescs {
	d := engineDescs{
		waiting: prometheus.NewDesc(m.Waiting, "Requests waiting.", podLabels, nil),
		success: prometheus.NewDesc(m.RequestSuccess, "Requests that completed.", podLabels, nil),
		latency: prometheus.NewDesc(m.Latency, "End-to-end request latency.", podLabels, nil),
	}
	if m.Running != "" {
		d.running = prometheus.NewDesc(m.Running, "Requests running.", podLabels, nil)
	}
	return d
}

// Describe implements prometheus.Collector: the families depend on the
// workload's metric set, so Live is an unchecked collector.
func (l *Live) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (l *Live) Collect(ch chan<- prometheus.Metric) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advance()
	s := l.s
	m := &s.prof.Metrics
	gauge := func(d *prometheus.Desc, v float64, values ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, values...)
	}
	ready := 0
	for _, p := range s.pods {
		if p.live == nil || p.phase == phaseGone {
			continue
		}
		phaseGauges(gauge, l.namespace, p.live.name, "Running")
		if p.phase == phaseReady {
			ready++
		}
		if p.srv == nil {
			continue // the serving process is still loading the model
		}
		lp := p.live
		gauge(l.engine.waiting, float64(p.srv.queue.len()), l.namespace, lp.name)
		if l.engine.running != nil {
			gauge(l.engine.running, float64(p.srv.inService()), l.namespace, lp.name)
		}
		ch <- prometheus.MustNewConstMetric(l.engine.success, prometheus.CounterValue, lp.completed, l.namespace, lp.name)
		cum := make(map[float64]uint64, len(m.LatencyBuckets))
		c := 0.0
		for i, le := range m.LatencyBuckets {
			c += lp.buckets[i]
			cum[le] = uint64(c)
		}
		ch <- prometheus.MustNewConstHistogram(l.engine.latency, uint64(lp.completed), lp.latencySum/m.LatencyUnit, cum, l.namespace, lp.name)
	}
	for _, name := range l.pending {
		phaseGauges(gauge, l.namespace, name, "Pending")
	}
	gauge(descReady, float64(ready), l.namespace, l.deployment)

	for ni, n := range s.nodes {
		totalMiB := n.Pool.GPUMemory() * 1024
		for gi, p := range l.gpus[ni] {
			util, ns, podName := 0.0, "", ""
			usedMiB := 0.0
			if p != nil && p.phase != phaseGone {
				util, ns, podName = p.gpuUtil, l.namespace, p.live.name
				usedMiB = s.prof.GPUMemoryGiB * 1024
			}
			labels := []string{strconv.Itoa(gi), n.Pool.GPUProduct, n.Name, ns, podName}
			gauge(descGPUUtil, util, labels...)
			gauge(descFBUsed, min(usedMiB, totalMiB), labels...)
			gauge(descFBFree, max(0, totalMiB-usedMiB), labels...)
		}
		for _, model := range n.Cached().Models {
			gauge(descModelHit, 1, n.Name, model)
		}
	}
}

// phaseGauges writes kube_pod_status_phase as kube-state-metrics does: one
// series per phase, 1 for the pod's phase and 0 for the others, so a sum
// over Pending is 0, not empty, when nothing is pending.
func phaseGauges(gauge func(d *prometheus.Desc, v float64, values ...string), namespace, pod, phase string) {
	for _, ph := range []string{"Pending", "Running"} {
		v := 0.0
		if ph == phase {
			v = 1
		}
		gauge(descPhase, v, ph, namespace, pod)
	}
}

// Stats reports the run so far.
func (l *Live) Stats() (requests, completed, failed, sloMet int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.s.res
	return r.Requests, r.Completed, r.Failed, r.SLOMet
}
