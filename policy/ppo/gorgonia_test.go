package ppo

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kisproject/kis/policy"
)

// ppoSamples draws n samples whose old log-probabilities sit up to 0.5
// away from the policy's own, so that the ratio is clipped on both sides
// of the range for some of them.
func ppoSamples(m *policy.Model, n int, rng *rand.Rand) []Sample {
	actor := NewActor(m)
	var samples []Sample
	for range n {
		x := make([]float64, len(policy.FeatureNames))
		for i := range x {
			x[i] = rng.NormFloat64() * 3
		}
		a, logp, v := actor.Sample(x, rng)
		samples = append(samples, Sample{Obs: x, Action: a, LogP: logp + rng.Float64() - 0.5, Value: v,
			Adv: rng.NormFloat64(), Return: rng.NormFloat64()})
	}
	return samples
}

func agree(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(a)) }

// Gorgonia's symbolic gradient of the PPO loss is the hand-written one:
// on one minibatch every parameter's gradient and every loss agree, and
// over two epochs of updates (two minibatch sizes, Adam, clipping) so do
// the weights, which also shows that the graph reads the weights Adam
// updates in place.
func TestGorgoniaGradientsMatchBackprop(t *testing.T) {
	cfg := DefaultPPOConfig()
	cfg.Minibatch, cfg.Epochs = 48, 2
	cfg.EntropyCoef = 0.05
	handModel, _ := NewModel(cfg)
	// Larger actor output weights, so the softmax is not flat.
	for i := range handModel.Actor.Layers[2].W {
		handModel.Actor.Layers[2].W[i] *= 50
	}
	samples := ppoSamples(handModel, 64, rand.New(rand.NewPCG(3, 4)))
	for _, s := range samples {
		handModel.Normalizer.Observe(s.Obs)
	}
	graphModel, err := handModel.Clone()
	if err != nil {
		t.Fatal(err)
	}
	hand, _ := NewTrainer(handModel, cfg)
	graphCfg := cfg
	graphCfg.Gorgonia = true
	graph, err := NewTrainer(graphModel, graphCfg)
	if err != nil {
		t.Fatal(err)
	}

	batch := make([]int, cfg.Minibatch)
	clipped := 0
	for i := range batch {
		batch[i] = i
	}
	hand.grads.zero()
	var want UpdateStats
	w := newWork(handModel)
	for _, k := range batch {
		s := &samples[k]
		handModel.Normalizer.Apply(w.normed, s.Obs)
		want.add(hand.accumulate(w, s, s.Adv))
		logits := handModel.Actor.Forward(w.normed, w.actorS)
		softmax(w.probs, logits)
		if r := math.Exp(math.Log(w.probs[s.Action]) - s.LogP); r < 1-cfg.ClipEpsilon || r > 1+cfg.ClipEpsilon {
			clipped++
		}
	}
	hand.grads.scale(1 / float64(len(batch)))
	want.scale(1 / float64(len(batch)))
	adv := make([]float64, len(samples))
	for i, s := range samples {
		adv[i] = s.Adv
	}
	got, err := graph.gorgoniaBatch(samples, adv, batch)
	if err != nil {
		t.Fatal(err)
	}
	if clipped < 5 || clipped > len(batch)-5 {
		t.Fatalf("%d of %d ratios outside the clip range: want both kinds", clipped, len(batch))
	}
	if !agree(got.PolicyLoss, want.PolicyLoss) || !agree(got.ValueLoss, want.ValueLoss) || !agree(got.Entropy, want.Entropy) || !agree(got.ApproxKL, want.ApproxKL) {
		t.Errorf("losses: gorgonia %+v, hand-written %+v", got, want)
	}
	var handGrads, graphGrads [][]float64
	hand.grads.each(func(v []float64) { handGrads = append(handGrads, v) })
	graph.grads.each(func(v []float64) { graphGrads = append(graphGrads, v) })
	compared := 0
	for i := range handGrads {
		for j := range handGrads[i] {
			if !agree(graphGrads[i][j], handGrads[i][j]) {
				t.Fatalf("parameter block %d, value %d: gorgonia gradient %v, hand-written %v", i, j, graphGrads[i][j], handGrads[i][j])
			}
			compared++
		}
	}
	if compared < 5000 {
		t.Fatalf("compared %d gradient values", compared)
	}

	// Fresh trainers, the same seed: the same minibatches, in the same order.
	hand, _ = NewTrainer(handModel, cfg)
	if graph, err = NewTrainer(graphModel, graphCfg); err != nil {
		t.Fatal(err)
	}
	for _, tr := range []*Trainer{hand, graph} {
		if _, err := tr.Update(samples); err != nil {
			t.Fatal(err)
		}
	}
	var handWeights, graphWeights [][]float64
	for _, l := range append(paramsOf(&handModel.Actor), paramsOf(&handModel.Critic)...) {
		handWeights = append(handWeights, l.w, l.b)
	}
	for _, l := range append(paramsOf(&graphModel.Actor), paramsOf(&graphModel.Critic)...) {
		graphWeights = append(graphWeights, l.w, l.b)
	}
	for i := range handWeights {
		for j := range handWeights[i] {
			if !agree(graphWeights[i][j], handWeights[i][j]) {
				t.Fatalf("after 2 epochs, weight block %d, value %d: gorgonia %v, hand-written %v", i, j, graphWeights[i][j], handWeights[i][j])
			}
		}
	}
	if len(graph.graphs) != 2 {
		t.Errorf("gorgonia built %d graphs, want 2 (minibatches of 48 and 16)", len(graph.graphs))
	}
}

// One PPO update over an iteration's worth of samples (16 episodes of 180
// decisions), with each way of computing the gradient.
func BenchmarkUpdate(b *testing.B) {
	for _, tc := range []struct {
		name     string
		gorgonia bool
	}{{"backprop", false}, {"gorgonia", true}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := DefaultPPOConfig()
			cfg.Gorgonia = tc.gorgonia
			m, _ := NewModel(cfg)
			samples := ppoSamples(m, 2880, rand.New(rand.NewPCG(5, 6)))
			tr, err := NewTrainer(m, cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tr.Update(samples); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
