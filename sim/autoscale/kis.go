package autoscale

import (
	"fmt"

	"github.com/kisproject/kis/policy"
)

// KIS is KIScaler: a trained PPO policy choosing the replica count from
// the observation, greedily.
type KIS struct {
	name string
	p    *policy.Policy
	env  Env
}

// newKIS loads kis:<model file>, or the model embedded in the build for a
// bare kis.
func newKIS(spec, path string, env Env) (*KIS, error) {
	m, err := policy.LoadModel(path)
	if err != nil {
		return nil, fmt.Errorf("scaler %q: %w", spec, err)
	}
	return &KIS{name: spec, p: policy.NewPolicy(m), env: env}, nil
}

// Name implements Autoscaler.
func (k *KIS) Name() string { return k.name }

// Desired implements Autoscaler.
func (k *KIS) Desired(in *Input) int32 {
	return k.p.Desired(in.Obs, in.SpecReplicas, k.env.MinReplicas, k.env.MaxReplicas)
}
