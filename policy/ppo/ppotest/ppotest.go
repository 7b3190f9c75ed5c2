// Package ppotest builds KIScaler models for tests.
package ppotest

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/kisproject/kis/policy"
	"github.com/kisproject/kis/policy/ppo"
)

// HoldingModel returns a model whose actor puts all but e^-50 of its
// probability on scale 1, a policy that holds whatever it sees under
// either decision rule (as a learned policy can in a state it rarely met
// in training), and the file it is saved in.
func HoldingModel(t testing.TB) (*policy.Model, string) {
	t.Helper()
	m, err := ppo.NewModel(ppo.DefaultPPOConfig())
	if err != nil {
		t.Fatal(err)
	}
	out := &m.Actor.Layers[len(m.Actor.Layers)-1]
	clear(out.W)
	clear(out.B)
	out.B[slices.Index(m.Scales, 1)] = 50
	path := filepath.Join(t.TempDir(), "hold.json")
	if err := m.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	return m, path
}
