package autoscale

import (
	"fmt"
	"sync"

	"github.com/kisproject/kis/manifests/examples"
	"github.com/kisproject/kis/policy"
)

// KIS is KIScaler's policy choosing the replica count from the
// observation, greedily. Parse wraps it in ThroughHPA, as a cluster runs it.
type KIS struct {
	name   string
	p      *policy.Policy
	env    Env
	raises int
}

// newKIS loads kis:<model file>, or the model embedded in the build for a
// bare kis.
func newKIS(spec, path string, env Env) (Autoscaler, error) {
	m, err := policy.LoadModel(path)
	if err != nil {
		return nil, fmt.Errorf("scaler %q: %w", spec, err)
	}
	return ThroughHPA(NewKIS(spec, policy.NewPolicy(m), env), env)
}

// NewKIS decides with p, within env's replica bounds, served with env's
// SLO guard.
func NewKIS(name string, p *policy.Policy, env Env) *KIS {
	return &KIS{name: name, p: p, env: env}
}

// Name implements Autoscaler.
func (k *KIS) Name() string { return k.name }

// Desired implements Autoscaler.
func (k *KIS) Desired(in *Input) int32 {
	d, raised := k.env.SLOGuard.Apply(in.Obs, k.p.Desired(in.Obs, in.SpecReplicas, k.env.MinReplicas, k.env.MaxReplicas), k.env.MaxReplicas)
	if raised {
		k.raises++
	}
	return d
}

// GuardRaises implements Guarded.
func (k *KIS) GuardRaises() int { return k.raises }

// exampleHPA is manifests/examples/hpa.yaml as the model's config.
var exampleHPA = sync.OnceValues(func() (HPAConfig, error) {
	obj, err := ParseHPAObject(examples.HPA)
	if err != nil {
		return HPAConfig{}, err
	}
	cfg, err := HPAConfigFrom(obj)
	if err != nil {
		return HPAConfig{}, err
	}
	if len(cfg.Metrics) != 1 || cfg.Metrics[0].Kind != ExternalMetric || cfg.Metrics[0].AverageValue != 1 {
		return HPAConfig{}, fmt.Errorf("example HPA: want one External metric with averageValue 1, got %+v", cfg.Metrics)
	}
	return cfg, nil
})

// ThroughHPA serves decider's replica count as the external metric of the
// example HPA (manifests/examples/hpa.yaml) and lets the HPA controller's
// model realise it, with that HPA's behavior (stabilisation windows, rate
// limits, tolerance). That is how kis-adapter's decision reaches
// a Deployment, so KISim scores, and trains, the policy in the loop it
// runs in. The replica bounds are env's (the adapter's and the HPA's are
// kept equal).
func ThroughHPA(decider Autoscaler, env Env) (Autoscaler, error) {
	return ThroughHPAWith(decider, env, nil)
}

// ThroughHPAWith is ThroughHPA with the example HPA's config changed by
// adjust (nil: unchanged). adjust gets a copy: its Behavior is the
// caller's to replace, not to write through.
func ThroughHPAWith(decider Autoscaler, env Env, adjust func(*HPAConfig)) (Autoscaler, error) {
	cfg, err := exampleHPA()
	if err != nil {
		return nil, err
	}
	if adjust != nil {
		adjust(&cfg)
	}
	cfg.MinReplicas, cfg.MaxReplicas = env.MinReplicas, env.MaxReplicas
	h, err := NewHPA(decider.Name(), cfg)
	if err != nil {
		return nil, err
	}
	metric := cfg.Metrics[0].Name
	return &throughHPA{decider: decider, hpa: h, external: map[string]float64{metric: 0}, metric: metric}, nil
}

type throughHPA struct {
	decider  Autoscaler
	hpa      *HPA
	metric   string
	external map[string]float64
}

func (t *throughHPA) Name() string { return t.decider.Name() }

// GuardRaises implements Guarded for a guarded decider (0 otherwise).
func (t *throughHPA) GuardRaises() int {
	if g, ok := t.decider.(Guarded); ok {
		return g.GuardRaises()
	}
	return 0
}

func (t *throughHPA) Desired(in *Input) int32 {
	served := *in
	t.external[t.metric] = float64(t.decider.Desired(in))
	served.External = t.external
	return t.hpa.Desired(&served)
}
