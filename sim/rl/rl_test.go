package rl

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kisproject/kis/policy"
	"github.com/kisproject/kis/policy/ppo"
	"github.com/kisproject/kis/policy/ppo/ppotest"
	"github.com/kisproject/kis/sim"
	"github.com/kisproject/kis/sim/autoscale"
	"github.com/kisproject/kis/sim/cluster"
	"github.com/kisproject/kis/sim/traffic"
)

func smallConfig() Config {
	cfg := DefaultConfig()
	cfg.Base = sim.DefaultConfig()
	cfg.Iterations = 3
	cfg.EpisodesPerIteration = 4
	cfg.EpisodeLength = 15 * time.Minute
	cfg.Parallel = 2
	return cfg
}

func curve(t *testing.T, cfg Config) []byte {
	t.Helper()
	m, err := ppo.NewModel(cfg.PPO)
	if err != nil {
		t.Fatal(err)
	}
	var rows []Progress
	if err := Train(context.Background(), cfg, m, nil, Hooks{Progress: func(p Progress) { rows = append(rows, p) }}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCurve(&buf, rows); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSameSeedSameLearningCurve(t *testing.T) {
	cfg := smallConfig()
	a, b := curve(t, cfg), curve(t, cfg)
	if !bytes.Equal(a, b) {
		t.Errorf("same seed, different curves:\n%s\n---\n%s", a, b)
	}
	cfg.PPO.Seed = 2
	if bytes.Equal(a, curve(t, cfg)) {
		t.Error("seeds 1 and 2 gave the same curve")
	}
	rows, err := ReadCurve(bytes.NewReader(a))
	if err != nil || len(rows) != 3 {
		t.Fatalf("ReadCurve: %v rows, %v", len(rows), err)
	}
}

// A short training run beats the untrained (near-uniform) policy on the
// same held-out episodes by a clear margin.
func TestShortTrainingBeatsRandomPolicy(t *testing.T) {
	cfg := smallConfig()
	cfg.Iterations = 25
	cfg.EpisodesPerIteration = 8
	m, err := ppo.NewModel(cfg.PPO)
	if err != nil {
		t.Fatal(err)
	}
	score := func() float64 {
		// Iteration 10_000 is never trained on: held-out episodes.
		eps, err := rollouts(context.Background(), cfg, m, 10_000, false)
		if err != nil {
			t.Fatal(err)
		}
		total := 0.0
		for _, e := range eps {
			total += e.result.Reward
		}
		return total / float64(len(eps))
	}
	before := score()
	if err := Train(context.Background(), cfg, m, nil, Hooks{}); err != nil {
		t.Fatal(err)
	}
	after := score()
	t.Logf("mean episode reward: random policy %.4f, after 25 iterations %.4f", before, after)
	if !(after > before+0.2*math.Abs(before)) {
		t.Errorf("mean reward %.4f -> %.4f: want an improvement of at least 20%%", before, after)
	}
}

func BenchmarkEpisodes(b *testing.B) {
	cfg := smallConfig()
	cfg.Parallel = 1
	cfg.EpisodeLength = 45 * time.Minute
	m, _ := ppo.NewModel(cfg.PPO)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := rollouts(context.Background(), cfg, m, n, false); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*cfg.EpisodesPerIteration)/b.Elapsed().Seconds(), "episodes/s")
}

// Episodes see clusters of many sizes, some with fewer GPUs than max
// replicas; the base spec is not touched.
func TestEpisodesResizeTheCluster(t *testing.T) {
	base := sim.DefaultConfig().Cluster
	before := fmt.Sprint(base.NodePools)
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := map[int]bool{}
	small := 0
	for range 200 {
		c := resizeCluster(rng, base, 0.25, 1.25)
		gpus := 0
		for i, p := range c.NodePools {
			lo, hi := math.Round(float64(base.NodePools[i].Count)*0.25), math.Round(float64(base.NodePools[i].Count)*1.25)
			if float64(p.Count) < lo || float64(p.Count) > hi {
				t.Fatalf("pool %s: %d nodes, want %v..%v", p.Name, p.Count, lo, hi)
			}
			gpus += p.Count * p.GPUsPerNode
		}
		if gpus == 0 {
			t.Fatal("a resized cluster has no GPU node")
		}
		sizes[gpus] = true
		if gpus < 20 {
			small++
		}
		if got := servableReplicas(c); got > float64(gpus)/2 || got > 10 {
			t.Errorf("%d GPUs: servable %v replicas", gpus, got)
		}
	}
	if len(sizes) < 8 || small == 0 {
		t.Errorf("200 draws gave %d cluster sizes, %d under 20 GPUs: want variety, including small ones", len(sizes), small)
	}
	if after := fmt.Sprint(base.NodePools); after != before {
		t.Errorf("base cluster changed: %s -> %s", before, after)
	}
	if fmt.Sprint(resizeCluster(rng, base, 1, 1).NodePools) != before {
		t.Error("scale {1, 1} changed the cluster")
	}
}

func TestBadClusterResizingRejected(t *testing.T) {
	for _, mutate := range []func(*Config){
		func(c *Config) { c.ResizedShare = 1.5 },
		func(c *Config) { c.ResizedShare = math.NaN() },
		func(c *Config) { c.ClusterScale = [2]float64{0, 1} },
		func(c *Config) { c.ClusterScale = [2]float64{2, 1} },
	} {
		cfg := DefaultConfig()
		mutate(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "train:") {
			t.Errorf("share %v, scale %v: error %v, want a train: error", cfg.ResizedShare, cfg.ClusterScale, err)
		}
	}
}

// Held-out episodes run the configured scenarios in turn, each with its own
// seed.
func TestValidationRunsConfiguredScenarios(t *testing.T) {
	cfg := smallConfig()
	cfg.ValidationScenarios = []string{"spike:duration=10m", "ramp:duration=10m"}
	cfg.EpisodesPerIteration = 4
	m, err := ppo.NewModel(cfg.PPO)
	if err != nil {
		t.Fatal(err)
	}
	eps, err := rollouts(context.Background(), cfg, m, validationIteration, true)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range eps {
		if want := cfg.ValidationScenarios[i%2]; e.result.Scenario != want {
			t.Errorf("episode %d ran %q, want %q", i, e.result.Scenario, want)
		}
	}
	if eps[0].result.Requests == eps[2].result.Requests {
		t.Errorf("episodes 0 and 2 of spike saw the same %d requests: want different seeds", eps[0].result.Requests)
	}
	train, err := rollouts(context.Background(), cfg, m, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if s := train[0].result.Scenario; s == cfg.ValidationScenarios[0] || s == cfg.ValidationScenarios[1] {
		t.Errorf("a training episode ran the validation scenario %q", s)
	}
}

// A held-out episode scores the served policy as kis-sim eval scores a
// model: through the example HPA with its scale-down window, as a cluster
// runs it, not through training's undamped loop.
func TestValidationScoresWhatEvaluationRuns(t *testing.T) {
	cfg := smallConfig()
	cfg.ValidationScenarios = []string{"periodic:duration=20m,period=8m"}
	cfg.ValidationEpisodes = 1
	// Untrained, the actions are about equally likely: their expected
	// count only ever grows, while the most likely one also shrinks the
	// fleet, which the window damps.
	cfg.PPO.Decision = policy.DecisionGreedy
	m, err := ppo.NewModel(cfg.PPO)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Validate(context.Background(), cfg, m)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.json")
	if err := m.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	if want := evalFirstValidationEpisode(t, cfg, path); got != want {
		t.Errorf("validation %+v, want kis-sim eval's %+v for the same episode", got, want)
	}
	// The episode must be one where the window matters, or the check above
	// could not tell the two loops apart.
	sc := cfg.Base
	sc.Seed = episodeSeed(cfg, validationIteration, 0)
	sc.Scenario = cfg.ValidationScenarios[0]
	env := autoscale.Env{MinReplicas: sc.MinReplicas, MaxReplicas: sc.MaxReplicas, SLOGuard: sc.SLOGuard()}
	served := autoscale.NewKIS("agent", policy.NewPolicy(m), env)
	loop, err := autoscale.ThroughHPAWith(served, env, undamped)
	if err != nil {
		t.Fatal(err)
	}
	sc.Scaler = served.Name()
	s, err := sim.NewWithAutoscaler(sc, loop)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if r.Reward == got.Reward {
		t.Fatalf("undamped loop scores %v too: the episode does not exercise the scale-down window", r.Reward)
	}
}

// evalFirstValidationEpisode runs the model file at path on cfg's first
// held-out episode as kis-sim eval runs a model, and scores it as
// validation does.
func evalFirstValidationEpisode(t *testing.T, cfg Config, path string) Validation {
	t.Helper()
	sc := cfg.Base
	sc.Seed = episodeSeed(cfg, validationIteration, 0)
	sc.Scenario = cfg.ValidationScenarios[0]
	sc.Scaler = "kis:" + path
	s, err := sim.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return Validation{Reward: r.Reward, OverSLO: float64(r.Requests - r.SLOMet), GPUHours: r.GPUHours}
}

// Validation serves the policy with the SLO guard, as kis-sim eval
// and the adapter do, unless the configuration turns it off. A policy that
// always holds is one the guard must rescue on a ramp.
func TestValidationServesTheSLOGuard(t *testing.T) {
	cfg := smallConfig()
	cfg.ValidationScenarios = []string{"ramp:duration=20m"}
	cfg.ValidationEpisodes = 1
	m, path := ppotest.HoldingModel(t)
	validated := map[bool]float64{}
	for _, guard := range []bool{true, false} {
		c := cfg
		c.Base.NoSLOGuard = !guard
		got, err := Validate(context.Background(), c, m)
		if err != nil {
			t.Fatal(err)
		}
		if want := evalFirstValidationEpisode(t, c, path); got != want {
			t.Errorf("guard %v: validation %+v, want kis-sim eval's %+v for the same episode", guard, got, want)
		}
		validated[guard] = got.Reward
	}
	if validated[true] <= validated[false] {
		t.Errorf("a holding policy scores %v with the guard, %v without: want the guard to pay", validated[true], validated[false])
	}
}

// The keep rules, on a run's validations in order: which become the kept
// model.
func TestKeeper(t *testing.T) {
	v := func(reward, over, gpuh float64) Validation {
		return Validation{Reward: reward, OverSLO: over, GPUHours: gpuh}
	}
	run := []Validation{
		v(-0.30, 80, 16.0),   // 1: first, kept by both
		v(-0.20, 9000, 10.0), // 2: a better reward; misses: more misses, but 1 is no longer affordable (16 > 1.2 x 10)
		v(-0.15, 500, 8.0),   // 3: better on both
		v(-0.14, 900, 7.5),   // 4: better reward; more misses than 3 (8.0 <= 1.2 x 7.5: 3 stays affordable)
		v(-0.16, 400, 9.5),   // 5: fewest misses, but 9.5 > 1.2 x 7.5 = 9.0
		v(-0.17, 450, 8.9),   // 6: fewer misses than 3, affordable
		v(-0.13, 450, 6.0),   // 7: best reward; misses: as few as 6 at a better reward; 6 no longer affordable anyway (8.9 > 7.2)
		v(-0.18, 300, 7.3),   // 8: fewer misses, but 7.3 > 1.2 x 6.0
	}
	for _, tc := range []struct {
		by   KeepBy
		want []bool
	}{
		{KeepByReward, []bool{true, true, true, true, false, false, true, false}},
		{KeepByMisses, []bool{true, true, true, false, false, true, true, false}},
	} {
		k := newKeeper(tc.by)
		for i, val := range run {
			if got := k.offer(val); got != tc.want[i] {
				t.Errorf("keep by %s: validation %d %+v kept %v, want %v", tc.by, i+1, val, got, tc.want[i])
			}
		}
	}
}

// Scaling every pool down to nothing still leaves one GPU node to serve.
func TestResizeKeepsAGPUNode(t *testing.T) {
	spec := &cluster.Spec{NodePools: []cluster.NodePool{
		{Name: "cpu", Count: 1},
		{Name: "gpu", Count: 1, GPUsPerNode: 4},
	}}
	c := resizeCluster(rand.New(rand.NewPCG(1, 1)), spec, 0.1, 0.1)
	if c.NodePools[0].Count != 0 || c.NodePools[1].Count != 1 {
		t.Errorf("counts %d, %d: want 0 CPU nodes and 1 GPU node", c.NodePools[0].Count, c.NodePools[1].Count)
	}
}

// writeTrace writes a five-minute trace of 600 requests, two a second.
func writeTrace(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("t_seconds,input_tokens,output_tokens\n")
	for i := range 600 {
		fmt.Fprintf(&b, "%.3f,%d,%d\n", float64(i)*0.5, 500+i%7*100, 50+i%5*40)
	}
	path := filepath.Join(t.TempDir(), "tiny.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A share of the episodes replay the trace, looped to the episode's length
// and sped up by a drawn rate scale; the rest stay patterns.
func TestTraceEpisodesReplayTraces(t *testing.T) {
	cfg := smallConfig()
	cfg.Traces = []string{writeTrace(t)}
	cfg.TraceShare = 0.5
	cfg.EpisodesPerIteration = 8
	cfg.EpisodeLength = 10 * time.Minute
	m, err := ppo.NewModel(cfg.PPO)
	if err != nil {
		t.Fatal(err)
	}
	eps, err := rollouts(context.Background(), cfg, m, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	traces := 0
	for i, e := range eps {
		if e.result.Scenario != cfg.Traces[0] {
			continue
		}
		traces++
		// 600 requests per 5 minutes at rate scale >= 2, looped over 10
		// minutes: at least 2400 arrivals, at most 6000 (scale 5).
		if e.result.SimSeconds != 600 || e.result.Requests < 2400 || e.result.Requests > 6000 {
			t.Errorf("trace episode %d: %v s, %d requests; want 600 s and 2400-6000 requests", i, e.result.SimSeconds, e.result.Requests)
		}
		// Looped: requests still arrive in the episode's last interval,
		// long after one sped-up pass (at most 2.5 minutes) ended.
		if last := e.result.Series[len(e.result.Series)-1]; last.ArrivalRate == 0 {
			t.Errorf("trace episode %d: no arrivals at %v s: the trace was not looped", i, last.T)
		}
	}
	if traces == 0 || traces == len(eps) {
		t.Errorf("%d of %d episodes replayed the trace, want a share", traces, len(eps))
	}

	// Held-out episodes run the validation scenarios whole: no trace, and
	// no trace episode's length or looping left on them.
	cfg.TraceShare = 1
	cfg.EpisodeLength = 5 * time.Minute
	cfg.ValidationScenarios = []string{"spike:duration=10m"}
	eps, err = rollouts(context.Background(), cfg, m, validationIteration, true)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range eps {
		if e.result.Scenario != cfg.ValidationScenarios[0] || e.result.SimSeconds != 600 {
			t.Errorf("validation episode %d ran %q for %v s, want %q for 600 s", i, e.result.Scenario, e.result.SimSeconds, cfg.ValidationScenarios[0])
		}
	}
}

func TestBadEpisodeSettingsRejected(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "garbage.csv")
	if err := os.WriteFile(garbage, []byte("when,what\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mutate func(*Config)
		want   string
	}{
		{func(c *Config) { c.TraceShare = 1.5 }, "trace share 1.5"},
		{func(c *Config) { c.TraceShare = 0.5 }, "without traces"},
		{func(c *Config) {
			c.Traces, c.TraceShare, c.TraceRateScale = []string{writeTrace(t)}, 0.5, [2]float64{0, 1}
		}, "trace rate scale"},
		{func(c *Config) { c.Traces, c.TraceShare = []string{garbage}, 0.5 }, "garbage.csv:1: header"},
		{func(c *Config) { c.Traces, c.TraceShare = []string{"/nonexistent/trace.csv"}, 0.5 }, "/nonexistent/trace.csv"},
		{func(c *Config) { c.UncostedShare = -0.1 }, "uncosted share -0.1"},
		{func(c *Config) { c.BurstyShare = 1.1 }, "bursty share 1.1"},
		{func(c *Config) { c.Patterns = nil }, "no patterns"},
		{func(c *Config) { c.Patterns = []traffic.Kind{traffic.Ramp, "square"} }, `unknown pattern "square" (known: ramp, periodic, random, spike)`},
		{func(c *Config) { c.Patterns = []traffic.Kind{traffic.Ramp, traffic.Spike, traffic.Ramp} }, `pattern "ramp" is listed twice`},
		{func(c *Config) { c.ValidationScenarios = []string{"spike", "spike"} }, `validation scenario "spike" is listed twice`},
		{func(c *Config) { c.ValidationScenarios = []string{"spike", "spkie"} }, `validation scenario "spkie": unknown pattern "spkie"`},
		{func(c *Config) { c.ValidationScenarios = []string{"ramp:peak=-1"} }, `validation scenario "ramp:peak=-1": pattern ramp: peak must be`},
		{func(c *Config) { c.ValidationScenarios = []string{garbage} }, "garbage.csv:1: header"},
		{func(c *Config) { c.EpisodeLength = 4 * time.Minute }, "episode length 4m0s: want in [5m, 720h0m0s]"},
		{func(c *Config) { c.EpisodeLength = 721 * time.Hour }, "episode length 721h0m0s: want in [5m, 720h0m0s]"},
		{func(c *Config) {
			trace := writeTrace(t)
			c.Traces, c.TraceShare = []string{trace, trace}, 0.5
		}, "is listed twice"},
	} {
		cfg := DefaultConfig()
		tc.mutate(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one containing %q", err, tc.want)
		}
	}
}

// drawn counts how many of 1000 episodes drawn from cfg (training, or
// validation when heldOut) satisfy is.
func drawn(cfg Config, rng *rand.Rand, heldOut bool, is func(sim.Config) bool) int {
	n := 0
	for i := range 1000 {
		if is(episodeConfig(cfg, rng, uint64(i), heldOut, i)) {
			n++
		}
	}
	return n
}

// The uncosted share draws training episodes that ignore pod-deletion-cost
// at about its rate, never validation episodes, and draws nothing when 0
// (so runs without it keep their episodes).
func TestUncostedShareDrawsTrainingEpisodesOnly(t *testing.T) {
	cfg := DefaultConfig()
	cfg.UncostedShare = 0.3
	rng := rand.New(rand.NewPCG(1, 2))
	uncosted := func(sc sim.Config) bool { return sc.IgnoreDeletionCost }
	if n := drawn(cfg, rng, false, uncosted); n < 250 || n > 350 {
		t.Errorf("%d of 1000 training episodes uncosted, want about 300", n)
	}
	if n := drawn(cfg, rng, true, uncosted); n != 0 {
		t.Errorf("%d of 1000 validation episodes ignore deletion costs, want 0", n)
	}

	cfg.UncostedShare = 0
	c, d := rand.New(rand.NewPCG(3, 4)), rand.New(rand.NewPCG(3, 4))
	episodeConfig(cfg, c, 1, false, 0)
	Scenario(d, cfg.Patterns, cfg.EpisodeLength, sim.ReplicaCapacity(&cfg.Base.Profile), servableReplicas(cfg.Base.Cluster), false)
	if c.Uint64() != d.Uint64() {
		t.Error("with no uncosted share an episode draws more than its scenario")
	}
}

// Training episodes draw only the configured patterns, and with all four
// (the default) as many of each as chance gives.
func TestEpisodesDrawTheConfiguredPatterns(t *testing.T) {
	kindOf := func(sc sim.Config) traffic.Kind {
		p, err := traffic.ParsePattern(sc.Scenario, sim.ReplicaCapacity(&sc.Profile))
		if err != nil {
			t.Fatal(err)
		}
		return p.Kind
	}
	cfg := DefaultConfig()
	rng := rand.New(rand.NewPCG(7, 8))
	counts := map[traffic.Kind]int{}
	for i := range 1000 {
		counts[kindOf(episodeConfig(cfg, rng, uint64(i), false, i))]++
	}
	for _, k := range traffic.Kinds {
		if counts[k] < 200 || counts[k] > 300 {
			t.Errorf("default patterns: %d of 1000 episodes %s, want about 250", counts[k], k)
		}
	}

	cfg.Patterns = []traffic.Kind{traffic.Ramp, traffic.Periodic}
	ramps := drawn(cfg, rng, false, func(sc sim.Config) bool {
		switch k := kindOf(sc); k {
		case traffic.Ramp:
			return true
		case traffic.Periodic:
			return false
		default:
			t.Fatalf("patterns ramp, periodic drew a %s episode", k)
			return false
		}
	})
	if ramps < 450 || ramps > 550 {
		t.Errorf("%d of 1000 episodes ramp, want about 500", ramps)
	}
}

// Bursty episodes jitter their rate by 30-90% every 10 s, the others by
// 5-15%, and about BurstyShare of the episodes are bursty.
func TestBurstyShareWidensJitter(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BurstyShare = 0.3
	rng := rand.New(rand.NewPCG(5, 6))
	bursty := drawn(cfg, rng, false, func(sc sim.Config) bool {
		p, err := traffic.ParsePattern(sc.Scenario, sim.ReplicaCapacity(&sc.Profile))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case p.Jitter >= 0.3 && p.Jitter <= 0.9:
			return true
		case p.Jitter >= 0.05 && p.Jitter <= 0.15:
			return false
		}
		t.Fatalf("%s: jitter %v in neither range", sc.Scenario, p.Jitter)
		return false
	})
	if bursty < 250 || bursty > 350 {
		t.Errorf("%d of 1000 episodes bursty, want about 300", bursty)
	}
}
