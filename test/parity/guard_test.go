package parity

import (
	"testing"

	"github.com/kisproject/kis/adapter"
	"github.com/kisproject/kis/sim"
)

// The shipped adapter config guards the example workload at the SLO KISim
// trains, validates and judges the policy with, so that the guard acts in
// a cluster where it acts in the simulator.
func TestShippedSLOGuardIsKISims(t *testing.T) {
	cfg, err := adapter.LoadConfig("../../manifests/adapter/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := sim.DefaultConfig()
	if got, want := cfg.Targets[0].Guard(), d.SLOGuard(); got != want {
		t.Errorf("manifests/adapter/config.yaml guards at %+v, KISim's %s profile at %+v", got, d.Profile.Name, want)
	}
}
