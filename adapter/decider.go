package adapter

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/kisproject/kis/policy"
)

// Decider turns an Observation into a replica count in [lo, hi]. Not safe
// for concurrent use: each target owns one.
type Decider interface {
	Desired(obs policy.Observation, current, lo, hi int32) int32
}

// NewDecider builds the decider a target's scaler spec names: the embedded
// KIScaler model, a model file, or a baseline rule.
func NewDecider(spec string) (Decider, error) {
	kind, arg, hasArgs := strings.Cut(spec, ":")
	switch kind {
	case "kis":
		if hasArgs && arg == "" {
			return nil, fmt.Errorf("scaler %q: nothing follows the colon; want kis:<model file>, or kis for the embedded model", spec)
		}
		m, err := policy.LoadModel(arg)
		if err != nil {
			return nil, fmt.Errorf("scaler %q: %w", spec, err)
		}
		return policy.NewPolicy(m), nil
	case "queue":
		// The rule stands for an HPA with this AverageValue target, which
		// the HPA holds in milli-units: below one it is 0, as in KISim's
		// queue baseline, which refuses it too.
		f, err := strconv.ParseFloat(arg, 64)
		if err != nil || !(f >= minQueueTarget) || math.IsInf(f, 1) {
			return nil, fmt.Errorf("scaler %q: want queue:<outstanding requests per replica, finite and >= %g>", spec, minQueueTarget)
		}
		return queueRule{perReplica: f}, nil
	case "fixed":
		n, err := strconv.ParseInt(arg, 10, 32)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("scaler %q: want fixed:<replicas >= 1>", spec)
		}
		return fixedRule(int32(n)), nil
	}
	return nil, fmt.Errorf("scaler %q: unknown; want kis[:<model file>], queue:<n> or fixed:<n>", spec)
}

// minQueueTarget is the smallest target an HPA can hold: one milli-unit.
const minQueueTarget = 0.001

// queueRule is KISim's "queue" baseline (a KEDA Prometheus scaler):
// ceil(outstanding / perReplica). Served with AverageValue 1 and tolerance 0
// the HPA then computes what an HPA with AverageValue perReplica on the
// outstanding requests would.
type queueRule struct{ perReplica float64 }

func (q queueRule) Desired(obs policy.Observation, _, lo, hi int32) int32 {
	return policy.ClampReplicas(math.Ceil((obs.Waiting+obs.Running)/q.perReplica), lo, hi)
}

type fixedRule int32

func (f fixedRule) Desired(_ policy.Observation, _, lo, hi int32) int32 {
	return min(max(int32(f), lo), hi)
}
