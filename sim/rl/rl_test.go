package rl

import (
	"bytes"
	"context"
	"math"
	"testing"
	"time"

	"github.com/kisproject/kis/policy"
	"github.com/kisproject/kis/sim"
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
	m, err := policy.NewModel(cfg.PPO)
	if err != nil {
		t.Fatal(err)
	}
	var rows []Progress
	if err := Train(context.Background(), cfg, m, 0, func(p Progress) { rows = append(rows, p) }, nil, nil); err != nil {
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
	m, err := policy.NewModel(cfg.PPO)
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
	if err := Train(context.Background(), cfg, m, 0, nil, nil, nil); err != nil {
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
	m, _ := policy.NewModel(cfg.PPO)
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
