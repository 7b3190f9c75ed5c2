package policy

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func testModel(t *testing.T) *Model {
	t.Helper()
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
		Scales: []float64{0.8, 0.9, 1, 1.1, 1.25, 1.5}, Normalizer: *z,
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
	// A model whose checksum is right but whose schema is another build's.
	m := testModel(t)
	m.Features = append(append([]string{}, FeatureNames...), "gpu_temperature")
	var buf bytes.Buffer
	m.Write(&buf)
	if _, err := ReadModel(&buf); err == nil || !strings.Contains(err.Error(), "observation schema") {
		t.Errorf("mismatched schema: error = %v", err)
	}
	m = testModel(t)
	m.Actor.Layers[1].W = m.Actor.Layers[1].W[:3]
	buf.Reset()
	m.Write(&buf)
	if _, err := ReadModel(&buf); err == nil || !strings.Contains(err.Error(), "actor: layer 1 has 3 weights") {
		t.Errorf("mismatched shape: error = %v", err)
	}
	if _, err := LoadModelFile(filepath.Join(t.TempDir(), "missing.json")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error = %v", err)
	}
}

func BenchmarkDecision(b *testing.B) {
	m := &Model{
		Kind: ModelKind, FormatVersion: FormatVersion, Features: FeatureNames,
		Scales: []float64{0.8, 0.9, 1, 1.1, 1.25, 1.5}, Normalizer: *NewNormalizer(len(FeatureNames), 5),
	}
	rng := rand.New(rand.NewPCG(1, 1))
	m.Actor = NewMLP([]int{len(FeatureNames), 64, 64, 6}, 0.01, rng)
	p := NewPolicy(m)
	obs := Observation{RequestRate: 40, Waiting: 3, Running: 60, Ready: 6, Desired: 6, GPUUtil: 80, TimeSin: 0.5, TimeCos: 0.87}
	b.ReportAllocs()
	for b.Loop() {
		p.Desired(obs, 6, 1, 20)
	}
}
