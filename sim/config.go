package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/kisproject/kis/policy"
	"github.com/kisproject/kis/sim/cluster"
	"github.com/kisproject/kis/sim/traffic"
	"github.com/kisproject/kis/sim/workload"
)

// Balancer is how the Service spreads requests over Ready replicas.
type Balancer string

const (
	// LeastOutstanding sends each request to the replica with the fewest
	// queued plus running requests (what an inference gateway does).
	LeastOutstanding Balancer = "least-outstanding"
	// WeightedLeastOutstanding sends each request to the replica with the
	// most GPU speed per outstanding request, speed/(n+1): Envoy's weighted
	// least request (active_request_bias 1) with the GPUs' speeds as
	// endpoint weights, picked greedily as LeastOutstanding picks. It is a
	// gateway that knows where its endpoints run; with equal GPUs it is
	// LeastOutstanding.
	WeightedLeastOutstanding Balancer = "weighted-least-outstanding"
	// RandomBalancer picks a Ready replica uniformly (kube-proxy's iptables mode).
	RandomBalancer Balancer = "random"
)

// Balancers lists the known balancers, for help texts and errors.
const Balancers = "least-outstanding, weighted-least-outstanding, random"

// RewardWeights weigh the terms of the reward; see Reward.
type RewardWeights struct {
	SLO   float64
	Cost  float64
	Churn float64
}

// Config is one simulation run.
type Config struct {
	Cluster *cluster.Spec
	Profile workload.Profile
	// Scenario is a pattern spec ("spike", "ramp:peak=80") or a trace path.
	Scenario string
	// RateScale, Loop apply to traces; Duration cuts any scenario (0: the
	// scenario's own length).
	RateScale float64
	Loop      bool
	Duration  time.Duration
	// Scaler is an autoscale spec ("hpa:gpu=60", "fixed:4", ...).
	Scaler string
	Seed   uint64

	MinReplicas, MaxReplicas int32
	// InitialReplicas Ready at time zero; 0 sizes the start to the initial
	// load (or to N for fixed:N), so no scaler starts cold or oversized.
	InitialReplicas int32
	SyncPeriod      time.Duration
	ScrapeInterval  time.Duration
	// GracePeriod is the pod's terminationGracePeriodSeconds: requests a
	// draining replica has not finished by then fail.
	GracePeriod time.Duration
	Balancer    Balancer
	Reward      RewardWeights
	// NewScheduler builds the placement; nil uses FirstFit.
	NewScheduler SchedulerFactory
	// IgnoreDeletionCost scales down as on a cluster whose pods carry no
	// pod-deletion-cost, whatever the scheduler would annotate.
	IgnoreDeletionCost bool
	// NoSLOGuard serves KIScaler's decisions without the SLO guard the
	// adapter applies by default (policy.SLOGuard, at the profile's SLO).
	NoSLOGuard bool
	// RecordSeries keeps a per-sync time series in the Result.
	RecordSeries bool
	// Traces, if set, shares trace files among the simulations built with
	// it; nil reads the scenario's file for this simulation alone.
	Traces *TraceCache
}

// DefaultConfig returns the defaults kis-sim uses: the embedded cluster,
// the LLM profile, the spike pattern and the default HPA.
func DefaultConfig() Config {
	p, _ := workload.LookupProfile("llm")
	return Config{
		Cluster:        cluster.Default(),
		Profile:        p,
		Scenario:       "spike",
		RateScale:      1,
		Scaler:         "hpa",
		Seed:           1,
		MinReplicas:    1,
		MaxReplicas:    20,
		SyncPeriod:     15 * time.Second,
		ScrapeInterval: 15 * time.Second,
		GracePeriod:    30 * time.Second,
		Balancer:       LeastOutstanding,
		// Churn 0.6 rather than 0.3: trained with it, KIScaler answers the
		// patterns' jitter less often with a replica, which lands on a
		// slower GPU and costs attainment (docs/kiscaler-experiments.md#churn-weight).
		Reward: RewardWeights{SLO: 6, Cost: 0.3, Churn: 0.6},
	}
}

// SLOGuard is the guard KIScaler's decisions are served with: at the
// profile's SLO, as the adapter's target for the workload sets it, unless
// NoSLOGuard.
func (c *Config) SLOGuard() policy.SLOGuard {
	if c.NoSLOGuard {
		return policy.SLOGuard{}
	}
	return policy.SLOGuard{SLOSeconds: c.Profile.SLO.Seconds()}
}

// Validate reports the first unusable setting.
func (c *Config) Validate() error {
	switch {
	case c.Cluster == nil:
		return fmt.Errorf("config: no cluster spec")
	case c.Profile.MaxBatch < 1:
		return fmt.Errorf("config: profile %q: max batch must be >= 1", c.Profile.Name)
	case c.MinReplicas < 1 || c.MaxReplicas < c.MinReplicas:
		return fmt.Errorf("config: want 1 <= min replicas (%d) <= max replicas (%d)", c.MinReplicas, c.MaxReplicas)
	case c.InitialReplicas < 0 || c.InitialReplicas > c.MaxReplicas:
		return fmt.Errorf("config: initial replicas must be in [0, max replicas %d], got %d", c.MaxReplicas, c.InitialReplicas)
	case c.SyncPeriod <= 0 || c.ScrapeInterval <= 0:
		return fmt.Errorf("config: sync period and scrape interval must be > 0")
	case c.GracePeriod < 0:
		return fmt.Errorf("config: grace period must be >= 0")
	case c.Duration < 0 || c.Duration > traffic.MaxDuration:
		return fmt.Errorf("config: duration must be in [0, %v], got %v", traffic.MaxDuration, c.Duration)
	case !(c.RateScale > 0) || math.IsInf(c.RateScale, 0):
		// Checked for every scenario, not only traces: a comparison passes
		// one config to patterns and a trace alike.
		return fmt.Errorf("config: rate scale must be finite and > 0, got %v", c.RateScale)
	case c.Balancer != LeastOutstanding && c.Balancer != WeightedLeastOutstanding && c.Balancer != RandomBalancer:
		return fmt.Errorf("config: unknown balancer %q (known: %s)", c.Balancer, Balancers)
	case !(c.Reward.SLO >= 0 && c.Reward.Cost >= 0 && c.Reward.Churn >= 0) ||
		math.IsInf(c.Reward.SLO+c.Reward.Cost+c.Reward.Churn, 0):
		return fmt.Errorf("config: reward weights must be finite and >= 0, got %+v", c.Reward)
	}
	return nil
}
