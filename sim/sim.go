package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/kisproject/kis/policy"
	"github.com/kisproject/kis/sim/autoscale"
	"github.com/kisproject/kis/sim/engine"
	"github.com/kisproject/kis/sim/traffic"
	"github.com/kisproject/kis/sim/workload"
)

// Event kinds.
const (
	evLifecycle uint8 = iota // a pod's next start-up step
	evServer                 // a replica's engine needs attention
	evGrace                  // a draining pod's grace period ended
	evScrape
	evSync
)

type podPhase uint8

const (
	phaseUnscheduled podPhase = iota // Pending, no node yet
	phaseScheduling                  // waiting for the scheduler
	phasePulling                     // Pending: bound, pulling the image, creating the container
	phaseStarting                    // Running, loading weights, not Ready
	phaseReady
	phaseDraining // Terminating: out of the Service, finishing its requests
	phaseGone
)

type pod struct {
	id           int32
	phase        podPhase
	node         int
	created      time.Duration
	runningSince time.Duration
	readyAt      time.Duration
	srv          *server
	gen          uint32

	// What the ReplicaSet controller ranks by when it scales down, beyond
	// phase and node (sortForDeletion).
	uid          uint64
	deletionCost int32
	crashLooping bool

	// Last scraped per-pod samples, as the HPA's metrics client sees them.
	sampled     bool
	gpuUtil     float64
	hasGPUUtil  bool
	waiting     float64
	hasWaiting  bool
	lastScraped time.Duration

	// live is set in live mode, where the pod's own series are exported.
	live *livePod
}

func (p *pod) holdsGPU() bool { return p.phase >= phasePulling && p.phase < phaseGone }

// Simulation is one run. Build it with New and call Run once.
type Simulation struct {
	cfg    Config
	prof   *workload.Profile
	loop   engine.Loop
	source traffic.Source
	scaler autoscale.Autoscaler
	sched  Scheduler
	// observer is sched when it wants live node load (nil otherwise).
	observer  NodeObserver
	nodeStats []NodeStats
	lbRNG     *rand.Rand
	uidRNG    *rand.Rand
	end       time.Duration
	// next is the first arrival not yet processed; more is false once the
	// source is exhausted.
	next traffic.Request
	more bool

	nodes       []*Node
	pods        []*pod
	ready       []*pod
	spec        int32
	unscheduled []*pod

	db      *tsdb
	buckets []float64 // latency histogram, per bucket (not cumulative)
	res     Result
	all     *sketch
	window  *sketch
	iv      interval

	allocated     int
	unschedulable int // pods in phaseUnscheduled
	lastAccounted time.Duration
	gpuSeconds    float64
	readySeconds  float64
	coldStarts    time.Duration
	coldStartN    int
}

// interval accumulates one sync period's outcome for the reward and series.
type interval struct {
	start                time.Duration
	arrivals, violations int64
	gpuSeconds           float64
	// unplacedGPUSeconds are asked for by pods no node has room for.
	unplacedGPUSeconds float64
	scaleChange        int32
}

// New prepares a run with the autoscaler cfg.Scaler names. Errors name the
// bad input.
func New(cfg Config) (*Simulation, error) { return newSimulation(cfg, nil, false) }

// NewWithAutoscaler prepares a run driven by a, which cfg.Scaler then only
// names in the results (training runs a sampling policy this way).
func NewWithAutoscaler(cfg Config, a autoscale.Autoscaler) (*Simulation, error) {
	return newSimulation(cfg, a, false)
}

// newSimulation prepares a run; a live one starts without replicas, which
// the real cluster's pods provide.
func newSimulation(cfg Config, scaler autoscale.Autoscaler, live bool) (*Simulation, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Simulation{cfg: cfg, prof: &cfg.Profile}
	// Separate streams: arrivals are identical whatever the scaler does,
	// so every scaler is judged on the same requests.
	trafficRNG := rand.New(rand.NewPCG(cfg.Seed, 1))
	s.lbRNG = rand.New(rand.NewPCG(cfg.Seed, 2))
	s.uidRNG = rand.New(rand.NewPCG(cfg.Seed, 3))

	src, err := NewSource(cfg, trafficRNG)
	if err != nil {
		return nil, err
	}
	s.source = src
	s.end = src.End()
	if cfg.Duration > 0 {
		s.end = min(s.end, cfg.Duration)
	}
	// Read here rather than when the run starts, so that a run nothing
	// arrives in is refused before it is simulated: it has no attainment
	// to report, and a table would show one of 0%.
	if s.next, s.more = src.Next(); !s.more || s.next.At >= s.end {
		return nil, fmt.Errorf("no request arrives in the run's %v: nothing to judge", s.end)
	}

	s.nodes = NodesOf(cfg.Cluster)

	s.sched = FirstFit{}
	if cfg.NewScheduler != nil {
		if s.sched, err = cfg.NewScheduler(s.nodes, s.prof, s.loop.Clock()); err != nil {
			return nil, err
		}
	}
	s.observer, _ = s.sched.(NodeObserver)
	s.nodeStats = make([]NodeStats, len(s.nodes))

	env := autoscale.Env{
		MinReplicas: cfg.MinReplicas, MaxReplicas: cfg.MaxReplicas,
		SyncPeriod: cfg.SyncPeriod, Capacity: ReplicaCapacity(s.prof), MaxBatch: s.prof.MaxBatch,
		Lead: s.typicalColdStart(), FutureRate: src.Rate, SLOGuard: cfg.SLOGuard(),
	}
	if sched, ok := src.(traffic.Scheduled); ok {
		env.Jumps = sched.Jumps()
	}
	s.scaler = scaler
	if s.scaler == nil {
		if s.scaler, err = autoscale.Parse(cfg.Scaler, env); err != nil {
			return nil, err
		}
	}

	s.db = newTSDB(cfg.ScrapeInterval)
	s.buckets = make([]float64, len(s.prof.Metrics.LatencyBuckets)+1)
	s.all, s.window = newSketch(), newSketch()
	s.res = Result{Scenario: cfg.Scenario, Scaler: cfg.Scaler}

	if live {
		return s, nil
	}
	initial := cfg.InitialReplicas
	if initial == 0 {
		initial = initialReplicas(cfg, s.scaler, env, src)
	}
	for range initial {
		s.startWarm()
	}
	s.spec = initial
	return s, nil
}

// NewSource builds the scenario's arrivals: a pattern spec, or a path to a
// trace (anything with a path separator or a .csv suffix).
func NewSource(cfg Config, rng *rand.Rand) (traffic.Source, error) {
	prof := &cfg.Profile
	if IsTrace(cfg.Scenario) {
		tr, err := cfg.Traces.Load(cfg.Scenario)
		if err != nil {
			return nil, err
		}
		return traffic.NewReplay(tr, traffic.ReplayOptions{RateScale: cfg.RateScale, Duration: cfg.Duration, Loop: cfg.Loop}, rng, prof.InputTokens, prof.OutputTokens)
	}
	p, err := traffic.ParsePattern(cfg.Scenario, ReplicaCapacity(prof))
	if err != nil {
		return nil, err
	}
	return traffic.NewPatternSource(p, rng, prof.InputTokens, prof.OutputTokens)
}

// IsTrace reports whether a scenario names a trace file.
func IsTrace(scenario string) bool {
	return strings.HasSuffix(scenario, ".csv") || strings.ContainsRune(scenario, os.PathSeparator)
}

// ReplicaCapacity is the request rate one reference-GPU replica serves at
// three quarters of its batch: the unit baselines and pattern defaults use.
func ReplicaCapacity(p *workload.Profile) float64 { return p.Capacity(1, 0.75) }

// initialReplicas is the fleet Ready at time zero unless the config sets
// one: a static scaler's own count, else the opening load's, within bounds.
func initialReplicas(cfg Config, scaler autoscale.Autoscaler, env autoscale.Env, src traffic.Source) int32 {
	if static, ok := scaler.(autoscale.Static); ok {
		return static.Replicas()
	}
	return policy.ClampReplicas(math.Ceil(src.Rate(0)/env.Capacity), cfg.MinReplicas, cfg.MaxReplicas)
}

// typicalColdStart is the start-up time of a replica on the first pool a
// fresh pod fits, plus a scrape and a sync: the lead time a proactive
// scaler must look ahead.
func (s *Simulation) typicalColdStart() time.Duration {
	req := ReplicaRequest(s.prof, 0)
	for _, n := range s.nodes {
		if n.GPUs > 0 && n.Pool.GPUMemory() >= req.GPUMemoryGiB {
			return s.startupTime(n) + s.cfg.ScrapeInterval + s.cfg.SyncPeriod
		}
	}
	return s.cfg.ScrapeInterval + s.cfg.SyncPeriod
}

// ReplicaRequest is what replica id of a Deployment serving prof asks of
// the scheduler: one GPU with the profile's memory, its CPU and memory,
// and its image and model, as manifests/examples/deployment.yaml asks.
func ReplicaRequest(prof *workload.Profile, id int32) *PodRequest {
	return &PodRequest{
		Name: fmt.Sprintf("%s-%d", prof.Name, id), GPUs: 1,
		GPUMemoryGiB: prof.GPUMemoryGiB, CPU: prof.CPU, MemoryGiB: prof.MemoryGiB,
		Model: prof.Model, Image: prof.ServingImage,
	}
}

const mb = 1e6

func (s *Simulation) pullTime(n *Node) time.Duration {
	if n.CachesImage(s.prof.ServingImage) {
		return 0
	}
	return seconds(s.prof.ImageGiB * (1 << 30) / mb / s.cfg.Cluster.Startup.ImagePullMBps)
}

func (s *Simulation) loadTime(n *Node) time.Duration {
	bw := s.cfg.Cluster.Startup.RemoteLoadMBps
	if n.CachesModel(s.prof.Model) {
		bw = s.cfg.Cluster.Startup.LocalLoadMBps
	}
	return seconds(s.prof.ModelGiB*(1<<30)/mb/bw) + s.prof.EngineInit
}

func (s *Simulation) startupTime(n *Node) time.Duration {
	st := s.cfg.Cluster.Startup
	return time.Duration(st.SchedulingDelay) + s.pullTime(n) + time.Duration(st.ContainerStart) + s.loadTime(n)
}

func seconds(v float64) time.Duration { return time.Duration(v * float64(time.Second)) }

// Run simulates until the scenario ends, drains, and returns the outcome,
// or ctx's error if ctx ends first: most runs take under a second, but a
// billion-request one takes minutes.
func (s *Simulation) Run(ctx context.Context) (Result, error) {
	s.start()
	// Autoscalers start once the metrics pipeline holds a full rate window,
	// as in a cluster where Prometheus has been running all along; acting on
	// an empty window would read as zero load.
	s.loop.Schedule(policy.RateWindow+s.cfg.SyncPeriod/2, evSync, 0, 0)
	if !s.advance(s.end, ctx.Done()) {
		return Result{}, ctx.Err()
	}
	s.drain()
	return s.finish(), nil
}

// drain serves the requests still in flight at the end for one more SLO,
// with no new arrivals, the metrics pipeline and autoscaler stopped and the
// fleet as it was, so that every request is judged: one that arrived a
// second before the end has not missed the SLO, and one still unfinished
// after the drain has.
func (s *Simulation) drain() {
	until := s.end + s.prof.SLO
	for {
		at, ok := s.loop.Peek()
		if !ok || at > until {
			return
		}
		ev, _ := s.loop.Pop()
		if ev.Kind == evScrape || ev.Kind == evSync {
			continue
		}
		s.dispatch(ev)
	}
}

// start schedules the first scrape.
func (s *Simulation) start() {
	s.loop.Schedule(0, evScrape, 0, 0)
}

// stepsPerCancelCheck is how many arrivals and events advance handles
// between looks at its done channel: a few milliseconds' work, so a
// cancelled run stops at once, and the look costs nothing measurable.
const stepsPerCancelCheck = 1 << 14

// advance processes arrivals and events in time order up to until, and
// leaves the clock there. It returns false, with the clock short of until,
// if done is closed first (nil: never).
func (s *Simulation) advance(until time.Duration, done <-chan struct{}) bool {
	until = min(until, s.end)
	for steps := 1; ; steps++ {
		if steps%stepsPerCancelCheck == 0 {
			select {
			case <-done:
				return false
			default:
			}
		}
		evAt, haveEv := s.loop.Peek()
		if s.more && s.next.At < until && (!haveEv || s.next.At <= evAt) {
			s.loop.AdvanceTo(s.next.At)
			s.arrive(s.next)
			s.next, s.more = s.source.Next()
			continue
		}
		if !haveEv || evAt >= until {
			break
		}
		ev, _ := s.loop.Pop()
		s.dispatch(ev)
	}
	s.loop.AdvanceTo(max(s.loop.Now(), until))
	return true
}

func (s *Simulation) dispatch(ev engine.Event) {
	switch ev.Kind {
	case evScrape:
		s.scrape()
		s.loop.Schedule(s.cfg.ScrapeInterval, evScrape, 0, 0)
	case evSync:
		s.sync()
		s.loop.Schedule(s.cfg.SyncPeriod, evSync, 0, 0)
	case evLifecycle:
		if p := s.pods[ev.Target]; p.gen == ev.Gen {
			s.stepLifecycle(p)
		}
	case evServer:
		if p := s.pods[ev.Target]; p.srv != nil && p.srv.gen == ev.Gen {
			s.wake(p)
		}
	case evGrace:
		if p := s.pods[ev.Target]; p.phase == phaseDraining && p.gen == ev.Gen {
			s.killRemaining(p)
		}
	}
}

// account integrates GPU and Ready-replica time up to now. The drain after
// the scenario's end (see Run) is not charged.
func (s *Simulation) account() {
	now := min(s.loop.Now(), s.end)
	dt := (now - s.lastAccounted).Seconds()
	s.gpuSeconds += float64(s.allocated) * dt
	s.iv.gpuSeconds += float64(s.allocated) * dt
	s.iv.unplacedGPUSeconds += float64(s.unschedulable) * dt
	s.readySeconds += float64(len(s.ready)) * dt
	s.lastAccounted = now
}

func (s *Simulation) newPod() *pod {
	p := &pod{id: int32(len(s.pods)), node: -1, created: s.loop.Now(), uid: s.uidRNG.Uint64()}
	s.pods = append(s.pods, p)
	return p
}

// startWarm places a replica that is Ready at time zero.
func (s *Simulation) startWarm() {
	p := s.newPod()
	p.phase = phaseScheduling
	if !s.bind(p) {
		s.unscheduled = append(s.unscheduled, p)
		return
	}
	// It fetched the image and the weights before time zero.
	n := s.nodes[p.node]
	n.pulled(s.prof.ServingImage)
	n.loaded(s.prof.Model)
	s.becomeReady(p)
}

// createPod adds a replica that goes through the whole start-up.
func (s *Simulation) createPod() {
	p := s.newPod()
	p.phase = phaseScheduling
	s.loop.Schedule(time.Duration(s.cfg.Cluster.Startup.SchedulingDelay), evLifecycle, p.id, p.gen)
}

func (s *Simulation) bind(p *pod) bool {
	i, err := s.sched.Schedule(ReplicaRequest(s.prof, p.id), s.nodes)
	if err != nil {
		if !errors.Is(err, ErrUnschedulable) {
			// A scheduler failure is a bug in the profile or the simulator,
			// not a full cluster; do not let it pass as one.
			panic(fmt.Sprintf("sim: scheduling pod %d: %v", p.id, err))
		}
		if p.phase != phaseUnscheduled {
			s.account()
			s.unschedulable++
		}
		p.phase = phaseUnscheduled
		return false
	}
	s.assign(p, i)
	return true
}

// assign binds p to node: it holds one of the node's GPUs from now on.
func (s *Simulation) assign(p *pod, node int) {
	s.account()
	s.nodes[node].GPUsUsed++
	s.allocated++
	p.node = node
	p.phase = phasePulling
	if dc, ok := s.sched.(DeletionCoster); ok && !s.cfg.IgnoreDeletionCost {
		p.deletionCost = dc.DeletionCost(node)
	}
}

func (s *Simulation) stepLifecycle(p *pod) {
	switch p.phase {
	case phaseScheduling, phaseUnscheduled:
		if !s.bind(p) {
			s.unscheduled = append(s.unscheduled, p)
			return
		}
		n := s.nodes[p.node]
		s.loop.Schedule(s.pullTime(n)+time.Duration(s.cfg.Cluster.Startup.ContainerStart), evLifecycle, p.id, p.gen)
	case phasePulling:
		p.phase = phaseStarting
		p.runningSince = s.loop.Now()
		s.nodes[p.node].pulled(s.prof.ServingImage)
		if s.nodes[p.node].Pool.GPUMemory() < s.prof.GPUMemoryGiB {
			// The model does not fit in this GPU's memory: the server runs
			// out of memory at load and the pod crash-loops, holding its GPU
			// and never becoming Ready (a placement only a GPU-memory-aware
			// scheduler avoids).
			s.res.CrashLooping++
			p.crashLooping = true
			return
		}
		s.loop.Schedule(s.loadTime(s.nodes[p.node]), evLifecycle, p.id, p.gen)
	case phaseStarting:
		s.coldStarts += s.loop.Now() - p.created
		s.coldStartN++
		s.nodes[p.node].loaded(s.prof.Model)
		s.becomeReady(p)
	}
}

func (s *Simulation) becomeReady(p *pod) {
	s.account()
	now := s.loop.Now()
	p.phase = phaseReady
	p.readyAt = now
	if p.runningSince == 0 {
		p.runningSince = now
	}
	p.srv = newServer(s.prof, s.nodes[p.node].Pool.GPUSpeed(), now)
	s.ready = append(s.ready, p)
}

// releaseGPU frees the pod's GPU and retries pods waiting for one.
func (s *Simulation) releaseGPU(p *pod) {
	s.account()
	if p.holdsGPU() {
		s.nodes[p.node].GPUsUsed--
		s.allocated--
		s.sched.Unbind(ReplicaRequest(s.prof, p.id), p.node)
	}
	if p.phase == phaseUnscheduled {
		s.unschedulable--
	}
	p.phase = phaseGone
	p.gen++
	p.srv = nil
	s.retryUnscheduled()
}

func (s *Simulation) retryUnscheduled() {
	waiting := s.unscheduled
	s.unscheduled = nil
	for _, p := range waiting {
		if p.phase != phaseUnscheduled {
			continue
		}
		s.account()
		s.unschedulable--
		p.phase = phaseScheduling
		s.stepLifecycle(p)
	}
}

func (s *Simulation) removeReady(p *pod) {
	s.account()
	for i, r := range s.ready {
		if r == p {
			s.ready = append(s.ready[:i], s.ready[i+1:]...)
			return
		}
	}
}

// scaleTo realises a new spec.replicas the way the ReplicaSet controller
// does: create pods, or delete them in the controller's order
// (sortForDeletion).
func (s *Simulation) scaleTo(desired int32) {
	var live []*pod
	for _, p := range s.pods {
		if p.phase < phaseDraining {
			live = append(live, p)
		}
	}
	switch n := int(desired) - len(live); {
	case n > 0:
		for range n {
			s.createPod()
		}
	case n < 0:
		sortForDeletion(live, len(s.nodes), s.loop.Now())
		for _, p := range live[:-n] {
			s.terminate(p)
		}
	}
}

func (s *Simulation) terminate(p *pod) {
	if p.phase != phaseReady {
		s.releaseGPU(p)
		return
	}
	s.removeReady(p)
	p.phase = phaseDraining
	p.gen++
	if p.srv.idle() {
		s.releaseGPU(p)
		return
	}
	s.loop.Schedule(s.cfg.GracePeriod, evGrace, p.id, p.gen)
}

// killRemaining ends a drain at the grace period: what is left fails.
func (s *Simulation) killRemaining(p *pod) {
	srv := p.srv
	n := srv.queue.len() + srv.inService()
	for range n {
		s.fail()
	}
	s.releaseGPU(p)
}

func (s *Simulation) arrive(r traffic.Request) {
	s.res.Requests++
	s.iv.arrivals++
	if len(s.ready) == 0 {
		// No endpoints: the Service refuses the connection.
		s.fail()
		return
	}
	p := s.pick()
	srv := p.srv
	now := s.loop.Now()
	if s.prof.Kind == workload.Image {
		if len(srv.batch) == 0 {
			srv.batch = append(srv.batch, r.At)
			srv.batchEnd = now + srv.batchDuration(1)
			s.reschedule(p)
			return
		}
		srv.queue.push(r)
		return
	}
	srv.advance(now)
	if len(srv.running) < s.prof.MaxBatch {
		srv.admit(r, now)
		s.reschedule(p)
		return
	}
	srv.queue.push(r)
}

// pick chooses the replica for a request. Least-outstanding is the
// weighted balancer with every weight 1: the most weight per outstanding
// request plus one, the first of a tie.
func (s *Simulation) pick() *pod {
	if s.cfg.Balancer == RandomBalancer {
		return s.ready[s.lbRNG.IntN(len(s.ready))]
	}
	weighted := s.cfg.Balancer == WeightedLeastOutstanding
	var best *pod
	bestW := -1.0
	for _, p := range s.ready {
		weight := 1.0
		if weighted {
			weight = p.srv.speed
		}
		if w := weight / float64(p.srv.outstanding()+1); w > bestW {
			best, bestW = p, w
		}
	}
	return best
}

func (s *Simulation) reschedule(p *pod) {
	srv := p.srv
	srv.gen++
	if at := srv.nextWake(s.loop.Now()); at >= 0 {
		s.loop.ScheduleAt(at, evServer, p.id, srv.gen)
	}
}

// wake handles a replica's engine event: finished requests leave, queued
// ones that have not timed out take their places.
func (s *Simulation) wake(p *pod) {
	srv := p.srv
	now := s.loop.Now()
	if s.prof.Kind == workload.Image {
		for _, at := range srv.batch {
			s.complete(p, at, now)
		}
		srv.busy += srv.batchDuration(len(srv.batch))
		srv.batch = srv.batch[:0]
		for len(srv.batch) < s.prof.MaxBatch && srv.queue.len() > 0 {
			if r := srv.queue.pop(); s.expired(r, now) {
				s.fail()
			} else {
				srv.batch = append(srv.batch, r.At)
			}
		}
		if len(srv.batch) > 0 {
			srv.batchEnd = now + srv.batchDuration(len(srv.batch))
		}
	} else {
		srv.advance(now)
		for len(srv.running) > 0 && srv.running[0].finish <= srv.progress+finishedEpsilon {
			s.complete(p, srv.popSlot().arrive, now)
		}
		for len(srv.running) < s.prof.MaxBatch && srv.queue.len() > 0 {
			if r := srv.queue.pop(); s.expired(r, now) {
				s.fail()
			} else {
				srv.admit(r, now)
			}
		}
	}
	if p.phase == phaseDraining && srv.idle() {
		s.releaseGPU(p)
		return
	}
	s.reschedule(p)
}

func (s *Simulation) expired(r traffic.Request, now time.Duration) bool {
	return now-r.At > s.prof.Timeout
}

func (s *Simulation) complete(p *pod, arrived, now time.Duration) {
	lat := now - arrived
	sec := lat.Seconds()
	s.all.add(sec)
	s.window.add(sec)
	s.res.Completed++
	if lat <= s.prof.SLO {
		s.res.SLOMet++
	} else {
		s.iv.violations++
	}
	v := sec / s.prof.Metrics.LatencyUnit
	bounds := s.prof.Metrics.LatencyBuckets
	i := sort.SearchFloat64s(bounds, v) // first bound >= v: Prometheus' le semantics
	s.buckets[i]++
	if p.live != nil {
		p.live.completed++
		p.live.latencySum += sec
		p.live.buckets[i]++
	}
}

func (s *Simulation) fail() {
	s.res.Failed++
	s.iv.violations++
}

// scrape is Prometheus scraping every pod and kube-state-metrics.
func (s *Simulation) scrape() {
	now := s.loop.Now()
	smp := sample{at: now, success: float64(s.res.Completed), buckets: make([]float64, len(s.buckets))}
	cum := 0.0
	for i, c := range s.buckets {
		cum += c
		smp.buckets[i] = cum
	}
	gpuPods := 0
	for _, p := range s.pods {
		switch p.phase {
		case phaseUnscheduled, phaseScheduling, phasePulling:
			smp.pending++
			continue
		case phaseGone:
			continue
		}
		// Running pods: DCGM reports their GPU; only a serving engine
		// exports queue gauges.
		p.sampled = true
		p.hasGPUUtil = true
		since := max(p.lastScraped, p.runningSince)
		p.lastScraped = now
		p.gpuUtil, p.hasWaiting, p.waiting = 0, false, 0
		if p.srv == nil {
			gpuPods++
			continue
		}
		srv := p.srv
		srv.advance(now)
		for srv.queue.len() > 0 && s.expired(*srv.queue.front(), now) {
			srv.queue.pop()
			s.fail()
		}
		busy := srv.busyUntil(now)
		if span := now - since; span > 0 {
			p.gpuUtil = min(100, 100*float64(busy-srv.busyMark)/float64(span))
		}
		srv.busyMark = busy
		p.hasWaiting, p.waiting = true, float64(srv.queue.len())
		smp.waiting += p.waiting
		smp.running += float64(srv.inService())
		smp.gpuUtil += p.gpuUtil
		gpuPods++
	}
	if gpuPods > 0 {
		smp.gpuUtil /= float64(gpuPods)
	}
	if s.observer != nil {
		s.observeNodes()
	}
	smp.ready = float64(len(s.ready))
	smp.spec = float64(s.spec)
	s.res.MaxPending = max(s.res.MaxPending, int(smp.pending))
	s.db.append(smp)
}

// observeNodes reports each node's GPU load the way a GPU exporter would:
// mean utilisation over all its GPUs (idle ones at 0) and the share of GPU
// memory the workload's replicas hold; and what each node's disk holds.
func (s *Simulation) observeNodes() {
	clear(s.nodeStats)
	for _, p := range s.pods {
		if !p.holdsGPU() {
			continue
		}
		st := &s.nodeStats[p.node]
		st.GPUUtilPercent += p.gpuUtil
		st.GPUMemoryUsedFraction += s.prof.GPUMemoryGiB
	}
	for i, n := range s.nodes {
		st := &s.nodeStats[i]
		st.Cached = n.Cached()
		if n.GPUs == 0 {
			continue
		}
		st.GPUUtilPercent /= float64(n.GPUs)
		st.GPUMemoryUsedFraction = min(1, st.GPUMemoryUsedFraction/(float64(n.GPUs)*n.Pool.GPUMemory()))
	}
	s.observer.ObserveNodes(s.nodeStats)
}

// sync is one autoscaler decision, then the interval's bookkeeping.
func (s *Simulation) sync() {
	now := s.loop.Now()
	sig := s.db.signals(now, s.loop.Clock().Now(), &s.prof.Metrics)
	obs, err := policy.FromSignals(sig)
	if err != nil {
		// The simulator's own series are never garbage; if they are, it is a bug.
		panic(fmt.Sprintf("sim: invalid signals at %v: %v", now, err))
	}
	in := autoscale.Input{Now: now, Obs: obs, SpecReplicas: s.spec, Pods: s.hpaPods()}
	desired := s.scaler.Desired(&in)
	if desired != s.spec {
		s.res.ScaleEvents++
		s.iv.scaleChange = desired - s.spec
		s.spec = desired
		s.scaleTo(desired)
	}
	s.retryUnscheduled()
	s.closeInterval(now, obs)
}

func (s *Simulation) hpaPods() []autoscale.Pod {
	out := make([]autoscale.Pod, 0, len(s.pods))
	for _, p := range s.pods {
		if p.phase == phaseGone {
			continue
		}
		hp := autoscale.Pod{
			Pending:     p.phase <= phasePulling,
			Terminating: p.phase == phaseDraining,
		}
		if p.sampled {
			hp.GPUUtil, hp.HasGPUUtil = p.gpuUtil, p.hasGPUUtil
			hp.Waiting, hp.HasWaiting = p.waiting, p.hasWaiting
		}
		out = append(out, hp)
	}
	return out
}

func (s *Simulation) closeInterval(now time.Duration, obs policy.Observation) {
	s.account()
	length := (now - s.iv.start).Seconds()
	r := Reward(s.cfg.Reward, s.iv.arrivals, s.iv.violations, (s.iv.gpuSeconds+s.iv.unplacedGPUSeconds)/length, s.iv.scaleChange, s.cfg.MaxReplicas)
	s.res.rewardSum += r
	s.res.rewardN++
	if s.cfg.RecordSeries {
		s.res.Series = append(s.res.Series, Point{
			T:           now.Seconds(),
			Interval:    length,
			ArrivalRate: float64(s.iv.arrivals) / length,
			TrueRate:    s.source.Rate(now),
			Spec:        float64(s.spec),
			Ready:       float64(len(s.ready)),
			GPUs:        float64(s.allocated),
			P95:         s.window.quantile(0.95),
			ObservedP95: obs.P95Latency,
			OverSLO:     s.iv.violations,
			Reward:      r,
		})
	}
	s.window.reset()
	s.iv = interval{start: now}
}

// Reward scores one sync interval; every scaler is scored with it.
//
//	r = -( wSLO   * violations / max(arrivals, 1)
//	     + wCost  * meanGPUs / maxReplicas
//	     + wChurn * |replica change| / maxReplicas )
//
// violations are requests that finished over the SLO or failed in the
// interval; meanGPUs is the interval's time-averaged GPUs allocated or
// asked for by pods that no node has room for (a replica the cluster cannot
// place is priced as if a cluster autoscaler bought its GPU, so that a
// policy gains nothing by asking for more than the cluster holds). The
// cost and churn terms are in [0, 1] per unit weight, and so is the SLO
// term while requests finish as fast as they arrive, so the weights read
// as prices: with the defaults (6, 0.3, 0.6) missing the SLO for every
// request costs as much as 20 times the maximum fleet, which is what makes
// a trained policy keep headroom rather than chase cost, and a change of
// the whole fleet twice as much as the fleet itself, which keeps it from
// oscillating. A miss counts when it finishes, though, not when it
// arrives: where a backlog drains after the load fell (a cold start, the
// end of a spike) an interval counts more misses than arrivals and its SLO
// term exceeds 1. Bounding it by the requests finished in the interval
// trained worse policies (docs/kiscaler-experiments.md).
func Reward(w RewardWeights, arrivals, violations int64, meanGPUs float64, change int32, maxReplicas int32) float64 {
	slo := float64(violations) / math.Max(float64(arrivals), 1)
	cost := meanGPUs / float64(maxReplicas)
	churn := math.Abs(float64(change)) / float64(maxReplicas)
	return -(w.SLO*slo + w.Cost*cost + w.Churn*churn)
}

func (s *Simulation) finish() Result {
	s.account()
	r := s.res
	r.Unfinished = r.Requests - r.Completed - r.Failed
	r.P50, r.P95, r.P99 = s.all.quantile(0.5), s.all.quantile(0.95), s.all.quantile(0.99)
	if r.Requests > 0 {
		r.SLOAttainment = float64(r.SLOMet) / float64(r.Requests)
	}
	r.GPUHours = s.gpuSeconds / 3600
	if g, ok := s.scaler.(autoscale.Guarded); ok {
		r.GuardRaises = g.GuardRaises()
	}
	r.SimSeconds = s.end.Seconds()
	if r.SimSeconds > 0 {
		r.MeanReplicas = s.readySeconds / r.SimSeconds
	}
	if r.rewardN > 0 {
		r.Reward = r.rewardSum / float64(r.rewardN)
	}
	r.ColdStarts, r.MeanColdStart = s.coldStartN, math.NaN()
	if s.coldStartN > 0 {
		r.MeanColdStart = (s.coldStarts / time.Duration(s.coldStartN)).Seconds()
	}
	return r
}
