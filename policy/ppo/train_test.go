package ppo

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kisproject/kis/policy"
)

// The backpropagated gradient of the PPO loss matches central finite
// differences on every parameter of a small actor-critic.
func TestGradientsMatchFiniteDifferences(t *testing.T) {
	cfg := DefaultPPOConfig()
	cfg.Hidden = []int{5}
	cfg.EntropyCoef = 0.05
	m, err := NewModel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Larger initial actor weights, so the softmax is not flat.
	for i := range m.Actor.Layers[1].W {
		m.Actor.Layers[1].W[i] *= 50
	}
	tr, _ := NewTrainer(m, cfg)
	rng := rand.New(rand.NewPCG(9, 9))
	n := len(policy.FeatureNames)
	var samples []Sample
	w := newWork(m)
	for k := range 3 {
		x := make([]float64, n)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		m.Normalizer.Apply(w.normed, x)
		logits := m.Actor.Forward(w.normed, w.actorS)
		softmax(w.probs, logits)
		a := k % len(cfg.Scales)
		// Old log-probability near the current one keeps the ratio inside
		// the clip range, where the objective is smooth.
		samples = append(samples, Sample{Obs: x, Action: a, LogP: math.Log(w.probs[a]) + 0.05, Adv: []float64{1.5, -0.7, 0.3}[k], Return: []float64{0.4, -1, 2}[k]})
	}
	loss := func() float64 {
		total := 0.0
		for i := range samples {
			m.Normalizer.Apply(w.normed, samples[i].Obs)
			st := tr.accumulate(w, &samples[i], samples[i].Adv)
			total += st.PolicyLoss - cfg.EntropyCoef*st.Entropy + cfg.ValueCoef*st.ValueLoss
		}
		return total
	}
	tr.grads.zero()
	loss()
	analytic := newGradients(m)
	for n, set := range [][]layerGrad{tr.grads.actor, tr.grads.critic} {
		dst := [][]layerGrad{analytic.actor, analytic.critic}[n]
		for li := range set {
			copy(dst[li].w, set[li].w)
			copy(dst[li].b, set[li].b)
		}
	}
	const h = 1e-6
	checked := 0
	for n, mlp := range []*policy.MLP{&m.Actor, &m.Critic} {
		params := paramsOf(mlp)
		grads := [][]layerGrad{analytic.actor, analytic.critic}[n]
		for li := range params {
			for _, pv := range [][2][]float64{{params[li].w, grads[li].w}, {params[li].b, grads[li].b}} {
				p, g := pv[0], pv[1]
				for i := range p {
					orig := p[i]
					p[i] = orig + h
					up := loss()
					p[i] = orig - h
					down := loss()
					p[i] = orig
					numeric := (up - down) / (2 * h)
					if math.Abs(numeric-g[i]) > 1e-6*math.Max(1, math.Abs(numeric)) {
						t.Fatalf("%s layer %d param %d: backprop %v, finite difference %v", []string{"actor", "critic"}[n], li, i, g[i], numeric)
					}
					checked++
				}
			}
		}
	}
	if checked < 100 {
		t.Fatalf("checked only %d parameters", checked)
	}
}

// PPO on a one-step problem: the best action's probability must rise,
// whichever computes the gradient.
func TestUpdateLearnsTheRewardedAction(t *testing.T) {
	for _, gorgonia := range []bool{false, true} {
		cfg := DefaultPPOConfig()
		cfg.LearningRate = 3e-3
		cfg.Gorgonia = gorgonia
		m, _ := NewModel(cfg)
		tr, err := NewTrainer(m, cfg)
		if err != nil {
			t.Fatal(err)
		}
		actor := NewActor(m)
		rng := rand.New(rand.NewPCG(1, 1))
		x := make([]float64, len(policy.FeatureNames))
		prob := func(a int) float64 {
			w := newWork(m)
			m.Normalizer.Apply(w.normed, x)
			softmax(w.probs, m.Actor.Forward(w.normed, w.actorS))
			return w.probs[a]
		}
		before := prob(3)
		for range 30 {
			var batch []Sample
			for range 256 {
				a, logp, v := actor.Sample(x, rng)
				r := 0.0
				if a == 3 {
					r = 1
				}
				batch = append(batch, Sample{Obs: x, Action: a, LogP: logp, Value: v, Adv: r - v, Return: r})
			}
			if _, err := tr.Update(batch); err != nil {
				t.Fatal(err)
			}
		}
		if after := prob(3); after < 0.8 || after <= before {
			t.Errorf("gorgonia %v: P(rewarded action) %.3f -> %.3f: want it learned (> 0.8)", gorgonia, before, after)
		}
	}
}

// A model whose layers do not chain is an error from NewTrainer, naming
// the layer, before any gradient code can trip over it.
func TestTrainerRejectsBrokenShapes(t *testing.T) {
	for _, gorgonia := range []bool{false, true} {
		cfg := DefaultPPOConfig()
		cfg.Gorgonia = gorgonia
		m, _ := NewModel(cfg)
		m.Critic.Layers[1].In++
		m.Critic.Layers[1].W = append(m.Critic.Layers[1].W, make([]float64, m.Critic.Layers[1].Out)...)
		if _, err := NewTrainer(m, cfg); err == nil || !strings.Contains(err.Error(), "critic: layer 1 takes 65 inputs but layer 0 gives 64") {
			t.Errorf("gorgonia %v: %v, want an error naming the critic's layer 1", gorgonia, err)
		}
	}
}
