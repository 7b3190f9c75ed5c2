package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/kisproject/kis/internal/atomicfile"
	"github.com/kisproject/kis/internal/boundedio"
)

// ModelKind and FormatVersion identify a KIScaler model file. Version 2
// added Decision; a version-1 file reads as version 2 deciding greedily,
// the only rule there was.
const (
	ModelKind     = "kis.io/kiscaler-ppo"
	FormatVersion = 2
)

// MaxModelBytes bounds a model file: the embedded one is ~200 KB, and a
// network sixteen times as wide would still fit.
const MaxModelBytes = 64 << 20

// Decision is how a model turns its action distribution into one replica
// count when it serves. It belongs to the model, not to whoever loads it:
// training keeps the checkpoint that validated best under its rule, and
// the same weights decide differently under another
// (docs/kiscaler-experiments.md, "The expected replica count").
type Decision string

const (
	// DecisionGreedy applies the most likely action.
	DecisionGreedy Decision = "greedy"
	// DecisionExpected is the replica count each action leads to,
	// averaged over the action probabilities and rounded. Where two
	// actions are nearly tied it moves between them smoothly, where a
	// small update flips a greedy policy's count.
	DecisionExpected Decision = "expected"
)

// Validate reports an unknown rule.
func (d Decision) Validate() error {
	if d != DecisionGreedy && d != DecisionExpected {
		return fmt.Errorf("decision %q: want %s or %s", d, DecisionGreedy, DecisionExpected)
	}
	return nil
}

// ErrChecksum is returned when a model file's contents do not match its
// checksum: it was truncated, edited or corrupted.
var ErrChecksum = errors.New("model checksum mismatch")

// Model is a trained KIScaler policy: everything inference needs, and the
// training configuration that produced it, in one self-describing file.
type Model struct {
	Kind          string `json:"kind"`
	FormatVersion int    `json:"formatVersion"`
	// Features is the observation schema: FeatureNames at training time.
	Features []string `json:"features"`
	// Scales are the actions: action i multiplies the replica count by
	// Scales[i] (see ApplyScale), so one policy works at 2 replicas and at 200.
	Scales []float64 `json:"scales"`
	// Decision turns the actions' probabilities into a replica count.
	// Empty only in a version-1 file (omitted, so that file's checksum
	// still holds).
	Decision   Decision   `json:"decision,omitempty"`
	Normalizer Normalizer `json:"normalizer"`
	// Actor maps normalised features to one logit per action; Critic to a
	// state value.
	Actor  MLP `json:"actor"`
	Critic MLP `json:"critic"`
	// Training is the configuration that produced the model, for
	// reproduction; inference does not read it.
	Training json.RawMessage `json:"training,omitempty"`
	// Checksum is the SHA-256 of the file with this field empty.
	Checksum string `json:"checksum"`
}

// Validate checks the model against the running code's schema.
func (m *Model) Validate() error {
	switch {
	case m.Kind != ModelKind:
		return fmt.Errorf("kind %q, want %q", m.Kind, ModelKind)
	case m.FormatVersion != FormatVersion:
		return fmt.Errorf("format version %d, this build reads %d", m.FormatVersion, FormatVersion)
	case !slices.Equal(m.Features, FeatureNames):
		return fmt.Errorf("observation schema %v does not match this build's %v", m.Features, FeatureNames)
	case len(m.Scales) == 0:
		return errors.New("no actions")
	}
	if err := m.Decision.Validate(); err != nil {
		return err
	}
	for i, sc := range m.Scales {
		if !(sc > 0) || !finite(sc) {
			return fmt.Errorf("action %d: scale %v must be a finite number > 0", i, sc)
		}
	}
	n := len(FeatureNames)
	if err := m.Normalizer.validate(n); err != nil {
		return err
	}
	if err := m.Actor.validate("actor", n, len(m.Scales)); err != nil {
		return err
	}
	return m.Critic.validate("critic", n, 1)
}

func (m *Model) checksum() (string, error) {
	c := *m
	c.Checksum = ""
	data, err := json.Marshal(&c)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// Write encodes the model with a fresh checksum.
func (m *Model) Write(w io.Writer) error {
	sum, err := m.checksum()
	if err != nil {
		return err
	}
	m.Checksum = sum
	enc := json.NewEncoder(w)
	return enc.Encode(m)
}

// SaveFile writes the model atomically (atomicfile.Write), so a reader
// never sees half a model and a crash never leaves one.
func (m *Model) SaveFile(path string) error {
	if err := atomicfile.Write(path, m.Write); err != nil {
		return fmt.Errorf("saving model: %w", err)
	}
	return nil
}

// Clone returns a deep copy through the file format, so the copy is what
// saving and loading the model would give.
func (m *Model) Clone() (*Model, error) {
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		return nil, err
	}
	return ReadModel(&buf)
}

// ReadModel decodes and checks a model: strict JSON, checksum, schema.
func ReadModel(r io.Reader) (*Model, error) {
	data, err := boundedio.ReadAll(r, MaxModelBytes)
	if err != nil {
		return nil, fmt.Errorf("reading model: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Model
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decoding model: %w", err)
	}
	want, err := m.checksum()
	if err != nil {
		return nil, err
	}
	if m.Checksum != want {
		return nil, fmt.Errorf("%w: file says %.12s, contents hash to %.12s", ErrChecksum, m.Checksum, want)
	}
	if m.FormatVersion == 1 && m.Decision == "" {
		m.FormatVersion, m.Decision = FormatVersion, DecisionGreedy
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	return &m, nil
}

// LoadModelFile reads a model file.
func LoadModelFile(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("loading model: %w", err)
	}
	defer f.Close()
	m, err := ReadModel(f)
	if err != nil {
		return nil, fmt.Errorf("loading model %s: %w", path, err)
	}
	return m, nil
}

// Policy runs a model's actor for decisions. It keeps scratch buffers, so
// a decision allocates nothing; use one Policy per goroutine.
type Policy struct {
	m       *Model
	raw     []float64
	normed  []float64
	scratch Scratch
}

// NewPolicy prepares a validated model for inference.
func NewPolicy(m *Model) *Policy {
	n := len(m.Features)
	return &Policy{m: m, raw: make([]float64, 0, n), normed: make([]float64, n), scratch: m.Actor.NewScratch()}
}

// Desired is the replica count the policy chooses for obs by the model's
// Decision (sampling is for training), from the current count and within
// [lo, hi].
func (p *Policy) Desired(obs Observation, current, lo, hi int32) int32 {
	p.raw = obs.Vector(p.raw[:0])
	p.m.Normalizer.Apply(p.normed, p.raw)
	logits := p.m.Actor.Forward(p.normed, p.scratch)
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	if p.m.Decision == DecisionExpected {
		// NaN only where the logits overflowed (finite weights near the
		// float64 limit, which validation cannot rule out); the most likely
		// action still gives a count within bounds.
		if mean := p.expectedCount(logits, best, current, lo, hi); !math.IsNaN(mean) {
			return int32(math.Round(mean))
		}
	}
	return ApplyScale(current, p.m.Scales[best], lo, hi)
}

// expectedCount averages the count each action leads to over the softmax
// of logits, weighted relative to the largest, logits[best], so that no
// weight overflows.
func (p *Policy) expectedCount(logits []float64, best int, current, lo, hi int32) float64 {
	var sum, weighted float64
	for i, v := range logits {
		w := math.Exp(v - logits[best])
		sum += w
		weighted += w * float64(ApplyScale(current, p.m.Scales[i], lo, hi))
	}
	return weighted / sum
}

// ClampReplicas converts a replica count computed in float64, clamped to
// [lo, hi] first: a value past the int32 range has no defined conversion
// (on amd64 it gives math.MinInt32).
func ClampReplicas(v float64, lo, hi int32) int32 {
	return int32(math.Min(math.Max(v, float64(lo)), float64(hi)))
}

// ApplyScale multiplies a replica count by scale, moving at least one
// replica when scale is not 1 (so 1.1 at 3 replicas still scales up), and
// clamps to [lo, hi].
func ApplyScale(current int32, scale float64, lo, hi int32) int32 {
	// In float64 until ClampReplicas: a scale of 1e10 must reach hi.
	c := float64(current)
	next := c
	switch {
	case scale > 1:
		next = math.Max(c+1, math.Ceil(c*scale))
	case scale < 1:
		next = math.Min(c-1, math.Floor(c*scale))
	}
	return ClampReplicas(next, lo, hi)
}
