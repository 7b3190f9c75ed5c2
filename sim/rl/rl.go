package rl

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kisproject/kis/internal/parallel"
	"github.com/kisproject/kis/internal/specparams"
	"github.com/kisproject/kis/policy"
	"github.com/kisproject/kis/policy/ppo"
	"github.com/kisproject/kis/sim"
	"github.com/kisproject/kis/sim/autoscale"
	"github.com/kisproject/kis/sim/cluster"
	"github.com/kisproject/kis/sim/traffic"
)

// Config is a training run.
type Config struct {
	PPO ppo.PPOConfig
	// Base is the simulation every episode starts from (cluster, profile,
	// scheduler, reward weights); scenario, cluster size and seed are
	// drawn per episode.
	Base sim.Config
	// ResizedShare of the episodes run on Base's cluster with each node
	// pool resized by a factor drawn from ClusterScale (node counts
	// rounded, at least one node kept), so that one policy learns clusters
	// smaller and larger than Base's, including ones with fewer GPUs than
	// MaxReplicas. The rest run on Base's cluster as it is. Off by default:
	// measured in docs/kiscaler-experiments.md, it has not yet paid for itself.
	ResizedShare float64
	ClusterScale [2]float64
	// TraceShare of the episodes replay one of Traces (CSV paths, drawn
	// per episode), looped to the episode's length at a rate scale drawn
	// from TraceRateScale, instead of a pattern. Off by default: a trace
	// trained on is no longer a held-out test of the policy.
	Traces         []string
	TraceShare     float64
	TraceRateScale [2]float64
	// UncostedShare of the episodes scale down as on a cluster whose pods
	// carry no pod-deletion-cost (sim.Config.IgnoreDeletionCost), so that
	// the policy does not collapse where kis-scheduler's annotations are
	// missing (docs/kiscaler-experiments.md measures it).
	UncostedShare float64
	// BurstyShare of the pattern episodes swing their rate by 30-90% every
	// 10 s instead of 5-15% (Scenario).
	BurstyShare float64
	// Patterns the pattern episodes draw from: all four by default, so that
	// one policy serves any traffic; fewer trains a policy for traffic known
	// to lack the others (docs/kiscaler-experiments.md measures what that buys).
	Patterns []traffic.Kind
	// Iterations of (rollouts, update); EpisodesPerIteration episodes each.
	Iterations           int
	EpisodesPerIteration int
	// EpisodeLength is each episode's simulated time.
	EpisodeLength time.Duration
	// Parallel episodes at once.
	Parallel int
	// ValidateEvery iterations the policy, deciding as it will serve
	// (policy.Decision), is scored on
	// ValidationEpisodes held-out episodes; the best scoring model is the
	// result of training. PPO's last iterate is often not its best.
	ValidateEvery      int
	ValidationEpisodes int
	// ValidationScenarios, when set, are what the held-out episodes run,
	// in turn, with seeds training never uses; otherwise they are drawn
	// like training episodes.
	ValidationScenarios []string
	// KeepBy is how the validations choose the model training returns.
	KeepBy KeepBy
}

// KeepBy names a rule for choosing among a run's validated models.
type KeepBy string

const (
	// KeepByReward keeps the highest held-out reward.
	KeepByReward KeepBy = "reward"
	// KeepByMisses keeps the fewest held-out requests over the SLO among
	// the validations whose held-out GPU-hours are at most KeepCostSlack
	// times the fewest of the run so far (ties: the higher reward). The
	// reward prices a miss lower than the goal does, and held-out misses
	// rank a run's checkpoints by their evaluation misses better than its
	// reward does (docs/kiscaler-experiments.md); the slack keeps out the
	// early checkpoints that miss little by running twice the replicas.
	KeepByMisses KeepBy = "misses"
)

// KeepCostSlack is KeepByMisses' bound on a kept model's held-out
// GPU-hours, relative to the run's cheapest validation so far.
const KeepCostSlack = 1.2

// DefaultConfig returns the settings `kis-sim train` uses.
func DefaultConfig() Config {
	return Config{
		PPO: ppo.DefaultPPOConfig(), Base: sim.DefaultConfig(),
		ResizedShare: 0, ClusterScale: [2]float64{0.25, 1.25},
		TraceShare: 0, TraceRateScale: [2]float64{2, 5}, UncostedShare: 0.15, Patterns: slices.Clone(traffic.Kinds),
		Iterations: 60, EpisodesPerIteration: 16, EpisodeLength: 45 * time.Minute, Parallel: 2,
		ValidateEvery: 10, ValidationEpisodes: 16, KeepBy: KeepByMisses,
	}
}

// Validate reports the first unusable setting.
func (c *Config) Validate() error {
	if err := c.PPO.Validate(); err != nil {
		return err
	}
	for _, v := range []struct {
		name string
		n    int
	}{
		{"iterations", c.Iterations}, {"episodes per iteration", c.EpisodesPerIteration}, {"parallel episodes", c.Parallel},
		{"iterations between validations", c.ValidateEvery}, {"validation episodes", c.ValidationEpisodes},
	} {
		if v.n < 1 {
			return fmt.Errorf("train: %s %d: want >= 1", v.name, v.n)
		}
	}
	if c.EpisodeLength < 5*time.Minute || c.EpisodeLength > traffic.MaxDuration {
		return fmt.Errorf("train: episode length %v: want in [5m, %v]", c.EpisodeLength, traffic.MaxDuration)
	}
	if lo, hi := c.ClusterScale[0], c.ClusterScale[1]; !(lo > 0 && lo <= hi && hi <= 10) {
		return fmt.Errorf("train: cluster scale [%v, %v]: want 0 < low <= high <= 10", lo, hi)
	}
	if !(c.ResizedShare >= 0 && c.ResizedShare <= 1) {
		return fmt.Errorf("train: resized share %v: want a fraction in [0, 1]", c.ResizedShare)
	}
	if !(c.TraceShare >= 0 && c.TraceShare <= 1) {
		return fmt.Errorf("train: trace share %v: want a fraction in [0, 1]", c.TraceShare)
	}
	if !(c.BurstyShare >= 0 && c.BurstyShare <= 1) {
		return fmt.Errorf("train: bursty share %v: want a fraction in [0, 1]", c.BurstyShare)
	}
	if !(c.UncostedShare >= 0 && c.UncostedShare <= 1) {
		return fmt.Errorf("train: uncosted share %v: want a fraction in [0, 1]", c.UncostedShare)
	}
	if c.KeepBy != KeepByReward && c.KeepBy != KeepByMisses {
		return fmt.Errorf("train: keep by %q: want %s or %s", c.KeepBy, KeepByReward, KeepByMisses)
	}
	if len(c.Patterns) == 0 {
		return fmt.Errorf("train: no patterns to draw episodes from (known: %s)", traffic.KnownKinds())
	}
	for _, k := range c.Patterns {
		if !slices.Contains(traffic.Kinds, k) {
			return fmt.Errorf("train: unknown pattern %q (known: %s)", k, traffic.KnownKinds())
		}
	}
	// Episodes draw from these lists uniformly, so a name listed twice
	// would be drawn twice as often, a weighting nobody asked for.
	if k, ok := specparams.Repeated(c.Patterns); ok {
		return fmt.Errorf("train: pattern %q is listed twice", k)
	}
	if path, ok := specparams.Repeated(c.Traces); ok {
		return fmt.Errorf("train: trace %q is listed twice", path)
	}
	if sc, ok := specparams.Repeated(c.ValidationScenarios); ok {
		return fmt.Errorf("train: validation scenario %q is listed twice", sc)
	}
	if c.TraceShare > 0 && len(c.Traces) == 0 {
		return fmt.Errorf("train: trace share %v without traces to replay", c.TraceShare)
	}
	if lo, hi := c.TraceRateScale[0], c.TraceRateScale[1]; !(lo > 0 && lo <= hi && hi <= 100) {
		return fmt.Errorf("train: trace rate scale [%v, %v]: want 0 < low <= high <= 100", lo, hi)
	}
	for _, path := range c.Traces {
		// Read up front, so that a bad file fails the run now rather than
		// an episode minutes in; through Base.Traces, a cache the episodes
		// then share, when the caller gave one.
		if _, err := c.Base.Traces.Load(path); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	}
	// Built as the held-out episodes build them (a trace through the same
	// cache), so that a misspelt scenario fails now rather than at the
	// first validation.
	for _, scenario := range c.ValidationScenarios {
		sc := c.Base
		sc.Scenario = scenario
		if _, err := sim.NewSource(sc, rand.New(rand.NewPCG(0, 0))); err != nil {
			return fmt.Errorf("train: validation scenario %q: %w", scenario, err)
		}
	}
	return c.Base.Validate()
}

// Progress is one iteration's learning-curve row. Every number is measured.
type Progress struct {
	Iteration  int
	Episodes   int // total so far
	MeanReward float64
	MovingAvg  float64 // of MeanReward over the last 10 iterations
	SLO        float64 // mean SLO attainment of the iteration's episodes
	GPUHours   float64 // mean per episode
	Stats      ppo.UpdateStats
	// Validation is the served policy's held-out outcome; its fields are
	// NaN on iterations without validation.
	Validation  Validation
	WallSeconds float64
}

// Validation is the served policy's outcome on the held-out episodes.
type Validation struct {
	Reward   float64 // mean per episode
	OverSLO  float64 // requests over the SLO or failed, summed
	GPUHours float64 // mean per episode
}

// Validated reports whether v is a validation's outcome, not the NaNs of an
// iteration without one.
func (v Validation) Validated() bool { return !math.IsNaN(v.Reward) }

var noValidation = Validation{Reward: math.NaN(), OverSLO: math.NaN(), GPUHours: math.NaN()}

// CurveHeader is the learning curve CSV's header.
var CurveHeader = []string{"iteration", "episodes", "mean_reward", "moving_avg", "slo_attainment", "gpu_hours", "policy_loss", "value_loss", "entropy", "approx_kl",
	"validation_reward", "validation_over_slo", "validation_gpu_hours"}

// Record returns the row's CSV fields (wall time is left out so that the
// same seed gives the same file).
func (p Progress) Record() []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 10, 64) }
	return []string{strconv.Itoa(p.Iteration), strconv.Itoa(p.Episodes), f(p.MeanReward), f(p.MovingAvg), f(p.SLO), f(p.GPUHours),
		f(p.Stats.PolicyLoss), f(p.Stats.ValueLoss), f(p.Stats.Entropy), f(p.Stats.ApproxKL),
		f(p.Validation.Reward), f(p.Validation.OverSLO), f(p.Validation.GPUHours)}
}

// Resume is where a resumed run left off.
type Resume struct {
	// Iterations done before.
	Iterations int
	// Validations are the earlier iterations' outcomes, in order (rows
	// without a validation are skipped).
	Validations []Validation
	// Kept says whether the model the earlier validations chose was saved;
	// if not, the next validation the rule admits at all (KeepByMisses:
	// within the cost bound) is kept, however it scores.
	Kept bool
}

// keeper applies a KeepBy rule to a run's validations, in order.
type keeper struct {
	by       KeepBy
	best     Validation
	kept     bool
	cheapest float64
}

func newKeeper(by KeepBy) *keeper { return &keeper{by: by, cheapest: math.Inf(1)} }

// offer reports whether v's model is to be kept in place of the current one.
func (k *keeper) offer(v Validation) bool {
	better := false
	switch k.by {
	case KeepByMisses:
		k.cheapest = min(k.cheapest, v.GPUHours)
		affordable := func(x Validation) bool { return x.GPUHours <= KeepCostSlack*k.cheapest }
		better = affordable(v) && (!k.kept || !affordable(k.best) || v.OverSLO < k.best.OverSLO ||
			v.OverSLO == k.best.OverSLO && v.Reward > k.best.Reward)
	default:
		better = !k.kept || v.Reward > k.best.Reward
	}
	if better {
		k.best, k.kept = v, true
	}
	return better
}

// Hooks are what Train reports to; any may be nil.
type Hooks struct {
	// Progress is called after each iteration.
	Progress func(Progress)
	// Checkpoint is called after Progress with the updated model.
	Checkpoint func(*policy.Model) error
	// Best is called with a copy of the model whenever Config.KeepBy
	// chooses its validation over the one kept so far.
	Best func(*policy.Model) error
}

// Train runs PPO from model: a new one (resume nil) or one resumed from a
// checkpoint, which keeps a better model from before the interruption.
func Train(ctx context.Context, cfg Config, model *policy.Model, resume *Resume, hooks Hooks) error {
	// Before Validate, so that the traces it reads are the episodes' copies.
	cfg = sharingTraces(cfg)
	if err := cfg.Validate(); err != nil {
		return err
	}
	trainer, err := ppo.NewTrainer(model, cfg.PPO)
	if err != nil {
		return err
	}
	var recent []float64
	startIteration, keep := 0, newKeeper(cfg.KeepBy)
	if resume != nil {
		startIteration = resume.Iterations
		for _, v := range resume.Validations {
			keep.offer(v)
		}
		keep.kept = keep.kept && resume.Kept
	}
	for it := startIteration; it < startIteration+cfg.Iterations; it++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := time.Now()
		eps, err := rollouts(ctx, cfg, model, it, false)
		if err != nil {
			return err
		}
		var samples []ppo.Sample
		p := Progress{Iteration: it + 1, Episodes: (it + 1) * cfg.EpisodesPerIteration}
		for _, e := range eps {
			samples = append(samples, e.samples...)
			p.MeanReward += e.result.Reward / float64(len(eps))
			p.SLO += e.result.SLOAttainment / float64(len(eps))
			p.GPUHours += e.result.GPUHours / float64(len(eps))
		}
		if len(samples) == 0 {
			return fmt.Errorf("iteration %d produced no decisions", it+1)
		}
		if p.Stats, err = trainer.Update(samples); err != nil {
			return err
		}
		// New normalisation statistics take effect from the next rollouts,
		// so each update sees the features exactly as its rollouts did.
		for _, s := range samples {
			model.Normalizer.Observe(s.Obs)
		}
		recent = append(recent, p.MeanReward)
		if len(recent) > 10 {
			recent = recent[1:]
		}
		for _, r := range recent {
			p.MovingAvg += r / float64(len(recent))
		}
		p.Validation = noValidation
		if (it+1)%cfg.ValidateEvery == 0 || it+1 == startIteration+cfg.Iterations {
			if p.Validation, err = Validate(ctx, cfg, model); err != nil {
				return err
			}
			if keep.offer(p.Validation) && hooks.Best != nil {
				snapshot, err := model.Clone()
				if err != nil {
					return err
				}
				if err := hooks.Best(snapshot); err != nil {
					return err
				}
			}
		}
		p.WallSeconds = time.Since(start).Seconds()
		if hooks.Progress != nil {
			hooks.Progress(p)
		}
		if hooks.Checkpoint != nil {
			if err := hooks.Checkpoint(model); err != nil {
				return err
			}
		}
	}
	return nil
}

// Validate scores the served policy on cfg.ValidationEpisodes episodes
// that training never sees, run through the example HPA as deployed
// (scale-down window included) and the SLO guard, as kis-sim eval runs a
// model.
func Validate(ctx context.Context, cfg Config, model *policy.Model) (Validation, error) {
	v := sharingTraces(cfg)
	v.EpisodesPerIteration = cfg.ValidationEpisodes
	eps, err := rollouts(ctx, v, model, validationIteration, true)
	if err != nil {
		return Validation{}, err
	}
	var out Validation
	n := float64(len(eps))
	for _, e := range eps {
		out.Reward += e.result.Reward / n
		out.OverSLO += float64(e.result.Requests - e.result.SLOMet)
		out.GPUHours += e.result.GPUHours / n
	}
	return out, nil
}

// validationIteration seeds the held-out episodes; training iterations
// never reach it.
const validationIteration = 1 << 30

type episode struct {
	samples []ppo.Sample
	result  sim.Result
}

// sharingTraces gives cfg's episodes one copy of each trace they replay,
// read once, unless it has a cache already.
func sharingTraces(cfg Config) Config {
	if cfg.Base.Traces == nil {
		cfg.Base.Traces = sim.NewTraceCache()
	}
	return cfg
}

// rollouts runs one iteration's episodes on cfg.Parallel goroutines. Each
// episode's scenario and seeds derive from (seed, iteration, index) only,
// and results are kept in index order, so the outcome does not depend on
// goroutine scheduling.
func rollouts(ctx context.Context, cfg Config, model *policy.Model, iteration int, heldOut bool) ([]episode, error) {
	eps := make([]episode, cfg.EpisodesPerIteration)
	errs := make([]error, len(eps))
	parallel.Each(ctx, len(eps), cfg.Parallel, func() func(int) {
		actor, p := ppo.NewActor(model), policy.NewPolicy(model)
		return func(i int) {
			eps[i], errs[i] = runEpisode(ctx, cfg, actor, p, heldOut, model.Scales, iteration, i)
		}
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return eps, ctx.Err()
}

// Scenario draws an episode's traffic: one of kinds, with base
// load (1-3 replicas' worth of capacity), peak (2-5x base), period and
// spike length randomised around the defaults, so one policy learns them
// all. The peak is at most maxReplicas replicas' worth: loads beyond what
// the cluster can serve would reward nothing but noise. The rate's 10 s
// jitter is 5-15%, or 30-90% when bursty (real traffic swings several-fold
// within seconds; the Azure trace does).
func Scenario(rng *rand.Rand, kinds []traffic.Kind, length time.Duration, capacity, maxReplicas float64, bursty bool) string {
	kind := kinds[rng.IntN(len(kinds))]
	peakCap := maxReplicas * capacity
	base := min(capacity*(1+2*rng.Float64()), peakCap)
	peak := min(base*(2+3*rng.Float64()), peakCap)
	jitter := 0.05 + 0.1*rng.Float64()
	if bursty {
		// The same draw, stretched: a bursty episode's other draws match
		// those of its calm twin.
		jitter = 0.3 + 6*(jitter-0.05)
	}
	s := fmt.Sprintf("%s:duration=%s,base=%.4f,peak=%.4f,jitter=%.2f", kind, length, base, peak, jitter)
	switch kind {
	case traffic.Periodic:
		s += fmt.Sprintf(",period=%s", time.Duration(10+20*rng.Float64())*time.Minute)
	case traffic.Random:
		s += fmt.Sprintf(",period=%s", time.Duration(2+4*rng.Float64())*time.Minute)
	case traffic.Spike:
		period := time.Duration(6+10*rng.Float64()) * time.Minute
		s += fmt.Sprintf(",period=%s,spike=%s", period, time.Duration(40+100*rng.Float64())*time.Second)
	}
	return s
}

// resizeCluster returns a copy of spec with each pool's node count
// multiplied by a factor drawn from [lo, hi] and rounded, keeping at least
// one GPU node (the first GPU pool's) when the spec has any.
func resizeCluster(rng *rand.Rand, spec *cluster.Spec, lo, hi float64) *cluster.Spec {
	out := *spec
	out.NodePools = slices.Clone(spec.NodePools)
	gpus := 0
	for i := range out.NodePools {
		p := &out.NodePools[i]
		p.Count = int(math.Round(float64(p.Count) * (lo + (hi-lo)*rng.Float64())))
		gpus += p.Count * p.GPUsPerNode
	}
	if gpus == 0 {
		for i := range out.NodePools {
			if out.NodePools[i].GPUsPerNode > 0 || i == len(out.NodePools)-1 {
				out.NodePools[i].Count = max(out.NodePools[i].Count, 1)
				break
			}
		}
	}
	return &out
}

// undamped removes the example HPA's scale-down stabilisation window from
// the loop training runs in. The window is state the policy cannot
// observe: trained through a 60 s window it converged worse (held-out
// reward -0.280 against -0.136) and flapped, while a policy trained
// without it and served through it holds its ground on bursty traffic
// (docs/kiscaler.md, "Action").
func undamped(c *autoscale.HPAConfig) {
	if c.Behavior == nil || c.Behavior.ScaleDown == nil {
		return
	}
	b, down := *c.Behavior, *c.Behavior.ScaleDown
	var none time.Duration
	down.StabilizationWindow = &none
	b.ScaleDown = &down
	c.Behavior = &b
}

// servableReplicas is how many replicas' worth of load an episode may
// peak at: half the cluster's GPUs, since replicas on its slower GPUs serve
// less than the reference capacity, and at most 10 (the default cluster
// with the default 20 max replicas).
func servableReplicas(spec *cluster.Spec) float64 {
	gpus := 0
	for _, p := range spec.NodePools {
		gpus += p.Count * p.GPUsPerNode
	}
	return min(float64(gpus)/2, 10)
}

// episodeConfig draws an episode's simulation from cfg: its cluster,
// scenario and scale-down costs. heldOut episodes are validation episodes.
func episodeConfig(cfg Config, rng *rand.Rand, seed uint64, heldOut bool, index int) sim.Config {
	sc := cfg.Base
	sc.Seed = seed
	sc.RecordSeries = true
	if cfg.ResizedShare > 0 && rng.Float64() < cfg.ResizedShare {
		sc.Cluster = resizeCluster(rng, cfg.Base.Cluster, cfg.ClusterScale[0], cfg.ClusterScale[1])
	}
	// Drawn only when set, so that runs without it keep their episodes.
	bursty := cfg.BurstyShare > 0 && rng.Float64() < cfg.BurstyShare
	sc.Scenario = Scenario(rng, cfg.Patterns, cfg.EpisodeLength, sim.ReplicaCapacity(&sc.Profile), servableReplicas(sc.Cluster), bursty)
	switch {
	case heldOut && len(cfg.ValidationScenarios) > 0:
		sc.Scenario = cfg.ValidationScenarios[index%len(cfg.ValidationScenarios)]
	// Drawn only when traces are configured, so that runs without them
	// keep their episodes.
	case len(cfg.Traces) > 0 && rng.Float64() < cfg.TraceShare:
		sc.Scenario = cfg.Traces[rng.IntN(len(cfg.Traces))]
		sc.RateScale = cfg.TraceRateScale[0] + (cfg.TraceRateScale[1]-cfg.TraceRateScale[0])*rng.Float64()
		sc.Loop, sc.Duration = true, cfg.EpisodeLength
	}
	// Drawn only when set, like the trace share.
	if cfg.UncostedShare > 0 && !heldOut && rng.Float64() < cfg.UncostedShare {
		sc.IgnoreDeletionCost = true
	}
	return sc
}

func runEpisode(ctx context.Context, cfg Config, actor *ppo.Actor, served *policy.Policy, heldOut bool, scales []float64, iteration, index int) (episode, error) {
	seed := episodeSeed(cfg, iteration, index)
	rng := rand.New(rand.NewPCG(seed, 0x65))
	sc := episodeConfig(cfg, rng, seed, heldOut, index)
	agent := &sampler{actor: actor, rng: rng, scales: scales, lo: sc.MinReplicas, hi: sc.MaxReplicas}
	sc.Scaler = agent.Name()
	// The policy acts through the HPA that realises its decisions in a
	// cluster, so it learns what its actions do there, except for its
	// scale-down window (undamped). Validation serves the policy by its
	// model's decision rule, not sampled, as kis-sim eval and the adapter
	// do, window and SLO guard included: it chooses the model that will be
	// served, so it scores the loop that serves it. Training's samples are the policy's own actions, unguarded.
	env := autoscale.Env{MinReplicas: sc.MinReplicas, MaxReplicas: sc.MaxReplicas}
	var decider autoscale.Autoscaler = agent
	adjust := undamped
	if heldOut {
		env.SLOGuard = sc.SLOGuard()
		decider, adjust = autoscale.NewKIS(sc.Scaler, served, env), nil
	}
	scaler, err := autoscale.ThroughHPAWith(decider, env, adjust)
	if err != nil {
		return episode{}, err
	}
	s, err := sim.NewWithAutoscaler(sc, scaler)
	if err != nil {
		if heldOut {
			return episode{}, fmt.Errorf("validation episode %d (%s): %w", index, sc.Scenario, err)
		}
		return episode{}, fmt.Errorf("episode %d.%d (%s): %w", iteration, index, sc.Scenario, err)
	}
	res, err := s.Run(ctx)
	if err != nil {
		return episode{}, err
	}
	// The action at sync i is judged by the interval that follows it, whose
	// reward closes at sync i+1; the last action has none and is dropped.
	n := min(len(agent.samples), len(res.Series)-1)
	samples := agent.samples[:n]
	rewards, values := make([]float64, n), make([]float64, n)
	done := make([]bool, n)
	for i := range samples {
		rewards[i] = res.Series[i+1].Reward
		values[i] = samples[i].Value
	}
	last := 0.0
	if n < len(agent.samples) {
		last = agent.samples[n].Value
	}
	adv, ret := make([]float64, n), make([]float64, n)
	ppo.GAE(rewards, values, done, last, cfg.PPO.Gamma, cfg.PPO.Lambda, adv, ret)
	for i := range samples {
		samples[i].Adv, samples[i].Return = adv[i], ret[i]
	}
	return episode{samples: samples, result: res}, nil
}

// episodeSeed is the simulation seed of an iteration's episode.
func episodeSeed(cfg Config, iteration, index int) uint64 {
	return cfg.PPO.Seed*1_000_003 + uint64(iteration)*1_009 + uint64(index)
}

// sampler is the training-time autoscaler: it samples the policy and
// records every decision.
type sampler struct {
	actor   *ppo.Actor
	rng     *rand.Rand
	scales  []float64
	lo, hi  int32
	samples []ppo.Sample
}

func (a *sampler) Name() string { return "agent" }

func (a *sampler) Desired(in *autoscale.Input) int32 {
	x := in.Obs.Vector(nil)
	action, logp, value := a.actor.Sample(x, a.rng)
	a.samples = append(a.samples, ppo.Sample{Obs: x, Action: action, LogP: logp, Value: value})
	return policy.ApplyScale(in.SpecReplicas, a.scales[action], a.lo, a.hi)
}

// WriteCurve writes the learning curve CSV.
func WriteCurve(w io.Writer, rows []Progress) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CurveHeader); err != nil {
		return err
	}
	for _, r := range rows {
		if err := cw.Write(r.Record()); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ReadCurve reads a learning curve written by WriteCurve, to resume.
func ReadCurve(r io.Reader) ([]Progress, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("reading learning curve: %w", err)
	}
	if len(recs) == 0 || strings.Join(recs[0], ",") != strings.Join(CurveHeader, ",") {
		return nil, fmt.Errorf("learning curve: header must be %s", strings.Join(CurveHeader, ","))
	}
	var rows []Progress
	for i, rec := range recs[1:] {
		var v [13]float64
		for j, field := range rec {
			f, err := strconv.ParseFloat(field, 64)
			if err != nil {
				return nil, fmt.Errorf("learning curve line %d, %s: %q is not a number", i+2, CurveHeader[j], field)
			}
			v[j] = f
		}
		rows = append(rows, Progress{Iteration: int(v[0]), Episodes: int(v[1]), MeanReward: v[2], MovingAvg: v[3], SLO: v[4], GPUHours: v[5],
			Stats:      ppo.UpdateStats{PolicyLoss: v[6], ValueLoss: v[7], Entropy: v[8], ApproxKL: v[9]},
			Validation: Validation{Reward: v[10], OverSLO: v[11], GPUHours: v[12]}})
	}
	return rows, nil
}
