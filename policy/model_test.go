package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func testModel(tb testing.TB) *Model {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	n := len(FeatureNames)
	z := NewNormalizer(n, 5)
	for range 50 {
		x := make([]float64, n)
		for i := range x {
			x[i] = rng.Float64() * float64(i+1) * 10
		}
		z.Observe(x)
	}
	return &Model{
		Kind: ModelKind, FormatVersion: FormatVersion, Features: FeatureNames,
		Scales: []float64{0.8, 0.9, 1, 1.1, 1.25, 1.5}, Decision: DecisionExpected, Normalizer: *z,
		Actor:  NewMLP([]int{n, 16, 6}, 0.01, rng),
		Critic: NewMLP([]int{n, 16, 1}, 1, rng),
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestNormalizerRoundTrip(t *testing.T) {
	z := NewNormalizer(2, 10)
	// Values 1, 2, 3 and 10, 20, 30: means 2 and 20, sample stds 1 and 10.
	for _, x := range [][]float64{{1, 10}, {2, 20}, {3, 30}} {
		z.Observe(x)
	}
	s := make([]float64, 2)
	z.Apply(s, []float64{3, 0})
	if !near(s[0], 1) || !near(s[1], -2) {
		t.Errorf("standardised = %v, want [1 -2]", s)
	}
	back := make([]float64, 2)
	z.Invert(back, s)
	if !near(back[0], 3) || !near(back[1], 0) {
		t.Errorf("round trip = %v, want [3 0]", back)
	}
}

// A clone holds the same weights in memory of its own.
func TestCloneIsADeepCopy(t *testing.T) {
	m := testModel(t)
	c, err := m.Clone()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Actor.Layers[0].W, m.Actor.Layers[0].W) || !slices.Equal(c.Critic.Layers[1].B, m.Critic.Layers[1].B) {
		t.Fatal("the clone's weights differ")
	}
	c.Actor.Layers[0].W[0]++
	if c.Actor.Layers[0].W[0] == m.Actor.Layers[0].W[0] {
		t.Error("changing the clone's weight changed the model's")
	}
}

func TestModelSaveLoadIsBitIdentical(t *testing.T) {
	m := testModel(t)
	path := filepath.Join(t.TempDir(), "model.json")
	if err := m.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadModelFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a, b := NewPolicy(m), NewPolicy(loaded)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		obs := Observation{RequestRate: rng.Float64() * 100, Waiting: rng.Float64() * 50, Ready: float64(rng.IntN(20)), GPUUtil: rng.Float64() * 100}
		x := obs.Vector(nil)
		na, nb := make([]float64, len(x)), make([]float64, len(x))
		m.Normalizer.Apply(na, x)
		loaded.Normalizer.Apply(nb, x)
		la := append([]float64(nil), m.Actor.Forward(na, m.Actor.NewScratch())...)
		lb := loaded.Actor.Forward(nb, loaded.Actor.NewScratch())
		for i := range la {
			if math.Float64bits(la[i]) != math.Float64bits(lb[i]) {
				t.Fatalf("logit %d differs after a round trip: %v vs %v", i, la[i], lb[i])
			}
		}
		if a.Desired(obs, 5, 1, 20) != b.Desired(obs, 5, 1, 20) {
			t.Fatal("decisions differ after a round trip")
		}
	}
}

func TestBadModelFilesAreRejected(t *testing.T) {
	var good bytes.Buffer
	if err := testModel(t).Write(&good); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		data   func() []byte
		want   string
		target error
	}{
		{"truncated", func() []byte { return good.Bytes()[:good.Len()/2] }, "decoding model", nil},
		{"corrupted weight", func() []byte {
			return []byte(strings.Replace(good.String(), `"w":[`, `"w":[1.5,`, 1))
		}, "checksum", ErrChecksum},
		{"empty", func() []byte { return nil }, "decoding model", nil},
		{"unknown field", func() []byte { return []byte(strings.Replace(good.String(), `{"kind"`, `{"color":1,"kind"`, 1)) }, `unknown field "color"`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadModel(bytes.NewReader(tc.data()))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
			if tc.target != nil && !errors.Is(err, tc.target) {
				t.Errorf("error %v is not %v", err, tc.target)
			}
		})
	}
	// Models whose checksum is right but whose contents this build cannot
	// run: each must be refused, naming what is wrong.
	mutations := []struct {
		name   string
		mutate func(*Model)
		want   string
	}{
		{"another build's schema", func(m *Model) {
			m.Features = append(append([]string{}, FeatureNames...), "gpu_temperature")
		}, "observation schema"},
		{"another kind", func(m *Model) { m.Kind = "Autoscaler" }, `kind "Autoscaler"`},
		{"a future format", func(m *Model) { m.FormatVersion = FormatVersion + 1 }, fmt.Sprintf("format version %d", FormatVersion+1)},
		{"no decision", func(m *Model) { m.Decision = "" }, `decision ""`},
		{"an unknown decision", func(m *Model) { m.Decision = "softmax" }, `decision "softmax"`},
		{"no actions", func(m *Model) { m.Scales = nil }, "no actions"},
		{"a zero scale", func(m *Model) { m.Scales[2] = 0 }, "action 2: scale 0"},
		{"a short weight matrix", func(m *Model) { m.Actor.Layers[1].W = m.Actor.Layers[1].W[:3] }, "actor: layer 1 has 3 weights"},
		{"an unknown activation", func(m *Model) { m.Critic.Layers[0].Activation = "relu" }, `critic: layer 0: unknown activation "relu"`},
		{"layers that do not chain", func(m *Model) {
			l := &m.Critic.Layers[1]
			l.In++
			l.W = make([]float64, l.In*l.Out)
		}, "critic: layer 1 takes"},
		{"a normaliser for fewer features", func(m *Model) { m.Normalizer.Mean = m.Normalizer.Mean[1:] }, "normalizer has"},
		{"a negative variance", func(m *Model) { m.Normalizer.M2[3] = -1 }, "normalizer: feature 3"},
		{"no clip", func(m *Model) { m.Normalizer.Clip = 0 }, "clip 0"},
	}
	for _, tc := range mutations {
		t.Run(tc.name, func(t *testing.T) {
			m := testModel(t)
			tc.mutate(m)
			var buf bytes.Buffer
			if err := m.Write(&buf); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadModel(&buf); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := LoadModelFile(filepath.Join(t.TempDir(), "missing.json")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error = %v", err)
	}
	// A stream with no end (kis:/dev/zero) is refused at the bound, not
	// read until memory runs out.
	if _, err := ReadModel(io.LimitReader(zeros{}, 1<<40)); err == nil || !strings.Contains(err.Error(), "reading model: larger than 67108864 bytes") {
		t.Errorf("endless model: error = %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// withLogits returns the test model with an actor whose logits are
// logits whatever it sees.
func withLogits(t *testing.T, d Decision, logits ...float64) *Policy {
	t.Helper()
	m := testModel(t)
	m.Decision = d
	out := &m.Actor.Layers[len(m.Actor.Layers)-1]
	clear(out.W)
	copy(out.B, logits)
	return NewPolicy(m)
}

func TestDecisions(t *testing.T) {
	// Scales 0.8, 0.9, 1, 1.1, 1.25, 1.5 from 10 replicas lead to 8, 9, 10,
	// 11, 13 and 15 (ApplyScale); from 10 within [1, 12], to 12 for the
	// last two. A logit of -100 weighs e^-100 of a logit of 0: nothing.
	const off = -100
	ln := math.Log
	tests := []struct {
		name           string
		logits         []float64
		hi             int32
		greedy, expect int32
	}{
		{"one action", []float64{off, off, off, off, 0, off}, 20, 13, 13},
		// (8 + 15) / 2 = 11.5 rounds away from zero; greedy takes the first maximum.
		{"two extremes alike", []float64{0, off, off, off, off, 0}, 20, 8, 12},
		// (2*10 + 13) / 3 = 11: the likelier action is greedy's.
		{"two to one", []float64{off, off, ln(2), off, 0, off}, 20, 10, 11},
		// 1/6 each: (8+9+10+11+13+15) / 6 = 11.
		{"uniform", []float64{0, 0, 0, 0, 0, 0}, 20, 8, 11},
		// Clamped to 12 before averaging: (8 + 12) / 2 = 10.
		{"clamped", []float64{0, off, off, off, off, 0}, 12, 8, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obs := Observation{RequestRate: 40, Ready: 10, Desired: 10}
			if got := withLogits(t, DecisionGreedy, tc.logits...).Desired(obs, 10, 1, tc.hi); got != tc.greedy {
				t.Errorf("greedy: %d replicas, want %d", got, tc.greedy)
			}
			if got := withLogits(t, DecisionExpected, tc.logits...).Desired(obs, 10, 1, tc.hi); got != tc.expect {
				t.Errorf("expected: %d replicas, want %d", got, tc.expect)
			}
		})
	}
}

// Weights near the float64 limit pass validation (they are finite) and
// overflow in the forward pass: infinite and NaN logits still give a
// count within the bounds.
func TestOverflowingLogitsStayWithinBounds(t *testing.T) {
	for _, d := range []Decision{DecisionGreedy, DecisionExpected} {
		m := testModel(t)
		m.Decision = d
		for _, l := range m.Actor.Layers {
			for i := range l.W {
				l.W[i] = math.MaxFloat64 * float64(1-2*(i%2))
			}
		}
		p := NewPolicy(m)
		rng := rand.New(rand.NewPCG(5, 6))
		for range 100 {
			obs := Observation{RequestRate: rng.Float64() * 100, Waiting: rng.Float64() * 50, Ready: 6, Desired: 6}
			if got := p.Desired(obs, 6, 1, 20); got < 1 || got > 20 {
				t.Fatalf("%s: %d replicas, want within [1, 20]", d, got)
			}
		}
	}
}

// A version-1 file predates Decision: it reads as the greedy model it was
// validated as, and is saved as version 2.
func TestVersion1FileDecidesGreedily(t *testing.T) {
	m := testModel(t)
	m.FormatVersion, m.Decision = 1, ""
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), `"decision"`) {
		t.Fatalf("a version-1 file has no decision field: %s", buf.String()[:200])
	}
	loaded, err := ReadModel(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.FormatVersion != FormatVersion || loaded.Decision != DecisionGreedy {
		t.Errorf("read as version %d deciding %q, want %d deciding %q", loaded.FormatVersion, loaded.Decision, FormatVersion, DecisionGreedy)
	}
}

func BenchmarkDecision(b *testing.B) {
	for _, d := range []Decision{DecisionGreedy, DecisionExpected} {
		b.Run(string(d), func(b *testing.B) {
			m := &Model{
				Kind: ModelKind, FormatVersion: FormatVersion, Features: FeatureNames,
				Scales: []float64{0.8, 0.9, 1, 1.1, 1.25, 1.5}, Decision: d, Normalizer: *NewNormalizer(len(FeatureNames), 5),
			}
			rng := rand.New(rand.NewPCG(1, 1))
			m.Actor = NewMLP([]int{len(FeatureNames), 64, 64, 6}, 0.01, rng)
			p := NewPolicy(m)
			obs := Observation{RequestRate: 40, Waiting: 3, Running: 60, Ready: 6, Desired: 6, GPUUtil: 80, TimeSin: 0.5, TimeCos: 0.87}
			b.ReportAllocs()
			for b.Loop() {
				p.Desired(obs, 6, 1, 20)
			}
		})
	}
}

// FuzzReadModel feeds mutated model files to ReadModel: it returns a model
// or an error, never panics, and any model it accepts decides replica
// counts within the bounds it is given. Each input is tried as it is and
// re-checksummed, so that mutations reach the schema checks and inference
// instead of stopping at the checksum.
func FuzzReadModel(f *testing.F) {
	var small bytes.Buffer
	if err := testModel(f).Write(&small); err != nil {
		f.Fatal(err)
	}
	f.Add(small.Bytes())
	f.Add([]byte(`{"kind":"kis.io/kiscaler-ppo","formatVersion":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if m, err := ReadModel(bytes.NewReader(data)); err == nil {
			decideWithinBounds(t, m)
		}
		var m Model
		if json.Unmarshal(data, &m) != nil {
			return
		}
		var resummed bytes.Buffer
		if err := m.Write(&resummed); err != nil {
			return // a non-finite number cannot be encoded, so cannot be read either
		}
		if loaded, err := ReadModel(&resummed); err == nil {
			decideWithinBounds(t, loaded)
		}
	})
}

func decideWithinBounds(t *testing.T, m *Model) {
	t.Helper()
	p := NewPolicy(m)
	for _, obs := range []Observation{
		{},
		{RequestRate: 120, RateTrend: 30, Waiting: 40, Running: 60, P95Latency: 4, GPUUtil: 85, Ready: 6, Desired: 7, Pending: 1, TimeCos: 1},
		{RequestRate: 1e12, Waiting: 1e12, Running: 1e12, P95Latency: 1e6, GPUUtil: 100, Ready: 1e4, Desired: 1e4},
	} {
		for _, b := range [][3]int32{{1, 1, 1}, {5, 1, 20}, {1, 1, 20}, {20, 1, 20}, {500, 2, 1000}} {
			current, lo, hi := b[0], b[1], b[2]
			if got := p.Desired(obs, current, lo, hi); got < lo || got > hi {
				t.Fatalf("%d replicas from %d, want within [%d, %d] (scales %v, decision %s)", got, current, lo, hi, m.Scales, m.Decision)
			}
		}
	}
}

// FuzzModelFields edits a valid model's shapes and numbers where byte
// mutations of its JSON rarely reach: layer sizes, weight and bias counts,
// an action's scale, the normaliser. Whatever validation accepts must
// decide within bounds without panicking.
func FuzzModelFields(f *testing.F) {
	f.Add(uint8(0), int16(16), int8(0), int8(0), 1.25, 5.0, 50.0, 0.5)
	f.Add(uint8(1), int16(8), int8(-1), int8(0), 0.0, 0.0, -1.0, math.MaxFloat64)
	f.Fuzz(func(t *testing.T, layer uint8, hidden int16, extraWeights, extraBiases int8, scale, clip, count, weight float64) {
		m := testModel(t)
		// Resize the hidden layer, within what a test can allocate.
		if hidden < 0 || hidden > 32 {
			return
		}
		h := int(hidden)
		in, out := &m.Actor.Layers[0], &m.Actor.Layers[1]
		in.Out, out.In = h, h
		in.W, in.B = make([]float64, max(0, in.In*h+int(extraWeights))), make([]float64, max(0, h+int(extraBiases)))
		out.W = make([]float64, out.Out*h)
		l := &m.Actor.Layers[int(layer)%2]
		if len(l.W) > 0 {
			l.W[int(layer)%len(l.W)] = weight
		}
		m.Scales[int(layer)%len(m.Scales)] = scale
		m.Normalizer.Clip, m.Normalizer.Count = clip, count
		var buf bytes.Buffer
		if err := m.Write(&buf); err != nil {
			return // a non-finite number cannot be encoded
		}
		loaded, err := ReadModel(&buf)
		if err != nil {
			return
		}
		decideWithinBounds(t, loaded)
	})
}

func TestApplyScale(t *testing.T) {
	for _, tc := range []struct {
		current int32
		scale   float64
		want    int32
	}{
		{10, 1, 10},
		{10, 1.25, 13},  // ceil(12.5)
		{10, 0.75, 7},   // floor(7.5)
		{3, 1.1, 4},     // ceil(3.3) = 4
		{3, 1.01, 4},    // ceil(3.03) = 4: at least one replica up
		{3, 0.99, 2},    // floor(2.97) = 2: at least one down
		{19, 1.5, 20},   // clamped to hi
		{2, 0.5, 1},     // clamped to lo
		{10, 1e10, 20},  // past the int32 range: still hi
		{10, 1e-300, 1}, // to lo
		{0, 1.5, 1},     // from nothing, at least one
		{25, 1, 20},     // a count above hi is clamped even unscaled
	} {
		if got := ApplyScale(tc.current, tc.scale, 1, 20); got != tc.want {
			t.Errorf("ApplyScale(%d, %v, 1, 20) = %d, want %d", tc.current, tc.scale, got, tc.want)
		}
	}
}
