package ppo

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/kisproject/kis/policy"
)

// ppoGraph is the PPO loss of one minibatch size as a gorgonia expression
// graph, differentiated symbolically. Its weight nodes are backed by the
// model's own weight slices, so the MLPs stay the one source of truth:
// Adam updates them in place and the next run reads them.
type ppoGraph struct {
	g  *G.ExprGraph
	vm G.VM
	// x, onehot, oldLogp, adv and ret back the graph's input nodes: a
	// minibatch is loaded by writing them.
	x, onehot, oldLogp, adv, ret []float64
	// params are actor then critic layers, W then b each; grads match.
	params, grads                            G.Nodes
	policyLoss, valueLoss, entropy, approxKL *G.Node
}

// newPPOGraph builds the graph for a validated model: shapes that do not
// chain would leave nil nodes for the next op to trip over.
func newPPOGraph(m *policy.Model, cfg PPOConfig, batch int) (*ppoGraph, error) {
	p := &ppoGraph{g: G.NewGraph()}
	n, actions := len(m.Features), len(m.Scales)
	input := func(name string, backing *[]float64, shape ...int) *G.Node {
		size := 1
		for _, s := range shape {
			size *= s
		}
		*backing = make([]float64, size)
		t := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(*backing))
		if len(shape) == 1 {
			return G.NewVector(p.g, tensor.Float64, G.WithShape(shape...), G.WithName(name), G.WithValue(t))
		}
		return G.NewMatrix(p.g, tensor.Float64, G.WithShape(shape...), G.WithName(name), G.WithValue(t))
	}
	x := input("x", &p.x, batch, n)
	onehot := input("onehot", &p.onehot, batch, actions)
	oldLogp := input("oldLogp", &p.oldLogp, batch)
	adv := input("adv", &p.adv, batch)
	ret := input("ret", &p.ret, batch)

	var err error
	must := func(n *G.Node, e error) *G.Node {
		if err == nil && e != nil {
			err = e
		}
		return n
	}
	forward := func(name string, mlp *policy.MLP) *G.Node {
		h := x
		for i := range mlp.Layers {
			l := &mlp.Layers[i]
			w := G.NewMatrix(p.g, tensor.Float64, G.WithShape(l.Out, l.In), G.WithName(fmt.Sprintf("%s.%d.w", name, i)),
				G.WithValue(tensor.New(tensor.WithShape(l.Out, l.In), tensor.WithBacking(l.W))))
			b := G.NewVector(p.g, tensor.Float64, G.WithShape(l.Out), G.WithName(fmt.Sprintf("%s.%d.b", name, i)),
				G.WithValue(tensor.New(tensor.WithShape(l.Out), tensor.WithBacking(l.B))))
			p.params = append(p.params, w, b)
			h = must(G.BroadcastAdd(must(G.Mul(h, must(G.Transpose(w)))), b, nil, []byte{0}))
			if l.Activation == policy.Tanh {
				h = must(G.Tanh(h))
			}
		}
		return h
	}
	scalar := func(v float64) *G.Node { return G.NewConstant(v) }

	// The loss Trainer.accumulate differentiates by hand, averaged over the
	// minibatch: -clippedSurrogate - entropyCoef*H + valueCoef*(V-R)^2/2.
	logpAll := must(G.LogSoftMax(forward("actor", &m.Actor), 1))
	logp := must(G.Sum(must(G.HadamardProd(onehot, logpAll)), 1))
	ratio := must(G.Exp(must(G.Sub(logp, oldLogp))))
	// clip(r, lo, hi) = lo + relu(r-lo) - relu(r-hi); min(a, b) = a - relu(a-b).
	lo, hi := scalar(1-cfg.ClipEpsilon), scalar(1+cfg.ClipEpsilon)
	clipped := must(G.Sub(must(G.Add(must(G.Rectify(must(G.Sub(ratio, lo)))), lo)), must(G.Rectify(must(G.Sub(ratio, hi))))))
	unclippedObj := must(G.HadamardProd(ratio, adv))
	clippedObj := must(G.HadamardProd(clipped, adv))
	objective := must(G.Sub(unclippedObj, must(G.Rectify(must(G.Sub(unclippedObj, clippedObj))))))
	p.policyLoss = must(G.Neg(must(G.Mean(objective))))
	perSampleEntropy := must(G.Neg(must(G.Sum(must(G.HadamardProd(must(G.Exp(logpAll)), logpAll)), 1))))
	p.entropy = must(G.Mean(perSampleEntropy))
	value := must(G.Reshape(forward("critic", &m.Critic), tensor.Shape{batch}))
	p.valueLoss = must(G.Mul(scalar(0.5), must(G.Mean(must(G.Square(must(G.Sub(value, ret))))))))
	p.approxKL = must(G.Mean(must(G.Sub(oldLogp, logp))))
	cost := must(G.Add(must(G.Sub(p.policyLoss, must(G.Mul(scalar(cfg.EntropyCoef), p.entropy)))),
		must(G.Mul(scalar(cfg.ValueCoef), p.valueLoss))))
	if err != nil {
		return nil, fmt.Errorf("gorgonia PPO graph: %w", err)
	}
	if p.grads, err = G.Grad(cost, p.params...); err != nil {
		return nil, fmt.Errorf("gorgonia PPO gradients: %w", err)
	}
	p.vm = G.NewTapeMachine(p.g)
	return p, nil
}

// run evaluates the loss and its gradient for the inputs in p's slices,
// writing the gradient (the minibatch mean) into g and returning the
// minibatch's mean losses.
func (p *ppoGraph) run(g *gradients) (UpdateStats, error) {
	defer p.vm.Reset()
	if err := p.vm.RunAll(); err != nil {
		return UpdateStats{}, fmt.Errorf("gorgonia PPO step: %w", err)
	}
	i := 0
	for _, set := range [][]layerGrad{g.actor, g.critic} {
		for _, l := range set {
			for _, dst := range [][]float64{l.w, l.b} {
				src, ok := p.grads[i].Value().Data().([]float64)
				if !ok || len(src) != len(dst) {
					return UpdateStats{}, fmt.Errorf("gorgonia PPO step: gradient of %s has %d values, want %d", p.params[i].Name(), len(src), len(dst))
				}
				copy(dst, src)
				i++
			}
		}
	}
	value := func(n *G.Node) float64 { return n.Value().Data().(float64) }
	return UpdateStats{PolicyLoss: value(p.policyLoss), ValueLoss: value(p.valueLoss), Entropy: value(p.entropy), ApproxKL: value(p.approxKL)}, nil
}
