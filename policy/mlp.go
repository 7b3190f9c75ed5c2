package policy

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Activation of a layer.
type Activation string

const (
	Tanh   Activation = "tanh"
	Linear Activation = "linear"
)

// Dense is a fully connected layer: out = act(W x + b), W row-major
// (Out rows of In weights).
type Dense struct {
	In         int        `json:"in"`
	Out        int        `json:"out"`
	W          []float64  `json:"w"`
	B          []float64  `json:"b"`
	Activation Activation `json:"activation"`
}

// MLP is a stack of dense layers; these weights are the one source of
// truth for both training and inference.
type MLP struct {
	Layers []Dense `json:"layers"`
}

// NewMLP builds an MLP with the given layer sizes, tanh hidden layers, a
// linear output, and orthogonal-scale Gaussian initialisation (scale
// sqrt(2/in) hidden, outScale on the output layer, as PPO implementations
// initialise the policy head small).
func NewMLP(sizes []int, outScale float64, rng *rand.Rand) MLP {
	var m MLP
	for i := 0; i+1 < len(sizes); i++ {
		in, out := sizes[i], sizes[i+1]
		d := Dense{In: in, Out: out, W: make([]float64, in*out), B: make([]float64, out), Activation: Tanh}
		scale := math.Sqrt(2 / float64(in))
		if i+2 == len(sizes) {
			d.Activation, scale = Linear, outScale/math.Sqrt(float64(in))
		}
		for j := range d.W {
			d.W[j] = rng.NormFloat64() * scale
		}
		m.Layers = append(m.Layers, d)
	}
	return m
}

// InputSize and OutputSize are the first layer's input and the last's output.
func (m *MLP) InputSize() int  { return m.Layers[0].In }
func (m *MLP) OutputSize() int { return m.Layers[len(m.Layers)-1].Out }

// Scratch holds one buffer per layer output, so Forward allocates nothing.
type Scratch [][]float64

// NewScratch sizes buffers for m.
func (m *MLP) NewScratch() Scratch {
	s := make(Scratch, len(m.Layers))
	for i, l := range m.Layers {
		s[i] = make([]float64, l.Out)
	}
	return s
}

// Forward evaluates the network; the result aliases the last scratch
// buffer and every layer's activations stay in s for backpropagation.
func (m *MLP) Forward(x []float64, s Scratch) []float64 {
	in := x
	for li := range m.Layers {
		l := &m.Layers[li]
		out := s[li]
		for o := 0; o < l.Out; o++ {
			sum := l.B[o]
			row := l.W[o*l.In : (o+1)*l.In]
			for i, w := range row {
				sum += w * in[i]
			}
			if l.Activation == Tanh {
				sum = math.Tanh(sum)
			}
			out[o] = sum
		}
		in = out
	}
	return in
}

func (m *MLP) validate(name string, in, out int) error {
	if len(m.Layers) == 0 {
		return fmt.Errorf("%s: no layers", name)
	}
	if m.InputSize() != in || m.OutputSize() != out {
		return fmt.Errorf("%s: shape %d -> %d, want %d -> %d", name, m.InputSize(), m.OutputSize(), in, out)
	}
	for i, l := range m.Layers {
		if i > 0 && l.In != m.Layers[i-1].Out {
			return fmt.Errorf("%s: layer %d takes %d inputs but layer %d gives %d", name, i, l.In, i-1, m.Layers[i-1].Out)
		}
		if len(l.W) != l.In*l.Out || len(l.B) != l.Out {
			return fmt.Errorf("%s: layer %d has %d weights and %d biases for %dx%d", name, i, len(l.W), len(l.B), l.Out, l.In)
		}
		if l.Activation != Tanh && l.Activation != Linear {
			return fmt.Errorf("%s: layer %d: unknown activation %q", name, i, l.Activation)
		}
		for _, v := range l.W {
			if !finite(v) {
				return fmt.Errorf("%s: layer %d has a non-finite weight", name, i)
			}
		}
		for _, v := range l.B {
			if !finite(v) {
				return fmt.Errorf("%s: layer %d has a non-finite bias", name, i)
			}
		}
	}
	return nil
}
