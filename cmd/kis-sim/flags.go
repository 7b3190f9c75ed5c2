package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kisproject/kis/sim"
	"github.com/kisproject/kis/sim/cluster"
	"github.com/kisproject/kis/sim/kubesched"
	"github.com/kisproject/kis/sim/workload"
)

// simFlags are the settings the simulating commands share.
type simFlags struct {
	clusterPath string
	profile     string
	seed        uint64
	duration    time.Duration
	rateScale   float64
	loop        bool
	balancer    string

	// The settings of the parts KISim plays unless a real cluster does
	// (kis-sim live): registered by addScaling.
	scaling      bool
	minReplicas  int32
	maxReplicas  int32
	initial      int32
	scheduler    string
	deletionCost bool
	sloGuard     bool
}

// add registers the flags of every simulation: the cluster, its traffic
// and how the Service spreads it.
func (f *simFlags) add(fs *pflag.FlagSet) {
	d := sim.DefaultConfig()
	fs.StringVar(&f.clusterPath, "cluster", "", "cluster spec YAML (default: the embedded one, see 'kis-sim cluster')")
	fs.StringVar(&f.profile, "profile", d.Profile.Name, "serving profile: llm or image")
	fs.Uint64Var(&f.seed, "seed", d.Seed, "random seed; the same seed and inputs give identical output")
	fs.DurationVar(&f.duration, "duration", 0, "cut the scenario to this long (default: the scenario's own length); with --loop, replay a trace this long")
	fs.Float64Var(&f.rateScale, "rate-scale", d.RateScale, "trace replay: multiply the request rate (compress time)")
	fs.BoolVar(&f.loop, "loop", false, "trace replay: repeat the trace until --duration")
	fs.StringVar(&f.balancer, "balancer", string(d.Balancer), "how the Service spreads requests: "+sim.Balancers)
}

// addScaling registers the flags of the autoscaler, the scheduler and the
// ReplicaSet controller that KISim plays. kis-sim live does not take them:
// there the cluster's own do that work, and the flags would be ignored.
func (f *simFlags) addScaling(fs *pflag.FlagSet) {
	d := sim.DefaultConfig()
	f.scaling = true
	fs.Int32Var(&f.minReplicas, "min-replicas", d.MinReplicas, "the autoscalers' minimum replicas")
	fs.Int32Var(&f.maxReplicas, "max-replicas", d.MaxReplicas, "the autoscalers' maximum replicas")
	fs.Int32Var(&f.initial, "initial-replicas", 0, "replicas Ready at time zero, for every scaler (0: sized to the scenario's opening load, or N for fixed:N)")
	fs.BoolVar(&f.deletionCost, "deletion-cost", true, "honour the pod-deletion-cost the scheduler profile sets on the pods it binds (false: scale down as the ReplicaSet controller does for pods without one)")
	fs.BoolVar(&f.sloGuard, "slo-guard", true, "serve KIScaler's decisions with the adapter's SLO guard: while the observed p95 is over the profile's SLO and requests wait, at least one replica more than are Ready, and as many as serve the current rate and drain the queue within the SLO at the rate the Ready replicas complete requests (kis-sim train: in validation only)")
	fs.StringVar(&f.scheduler, "scheduler", kubesched.GPUAwareProfile, "pod placement: "+kubesched.GPUAwareProfile+" (the profile manifests/scheduler ships, through the real scheduler framework), "+kubesched.DefaultProfile+" (kube-scheduler's default profile), or "+firstFit)
}

func scenarioList(scenarios []string) string {
	if len(scenarios) == 0 {
		return "none given"
	}
	return strings.Join(scenarios, ", ")
}

const firstFit = "first-fit"

// config is the simulation the flags describe, for the scenarios the
// command will run: the trace-replay flags are refused where no scenario
// is a trace, because a pattern would run as if they were not there.
func (f *simFlags) config(scenarios ...string) (sim.Config, error) {
	cfg := sim.DefaultConfig()
	if f.clusterPath != "" {
		spec, err := cluster.Load(f.clusterPath)
		if err != nil {
			return cfg, err
		}
		cfg.Cluster = spec
	}
	p, err := workload.LookupProfile(f.profile)
	if err != nil {
		return cfg, fmt.Errorf("--profile: %w", err)
	}
	if f.loop && f.duration == 0 {
		return cfg, fmt.Errorf("--loop needs --duration")
	}
	cfg.Profile = p
	cfg.Seed = f.seed
	cfg.Duration = f.duration
	cfg.RateScale = f.rateScale
	cfg.Loop = f.loop
	cfg.Balancer = sim.Balancer(f.balancer)
	if f.scaling {
		cfg.MinReplicas, cfg.MaxReplicas = f.minReplicas, f.maxReplicas
		cfg.InitialReplicas = f.initial
		cfg.IgnoreDeletionCost = !f.deletionCost
		cfg.NoSLOGuard = !f.sloGuard
		switch f.scheduler {
		case firstFit:
		case kubesched.GPUAwareProfile, kubesched.DefaultProfile:
			if cfg.NewScheduler, err = kubesched.NewFactory(f.scheduler); err != nil {
				return cfg, fmt.Errorf("--scheduler: %w", err)
			}
		default:
			return cfg, fmt.Errorf("--scheduler: unknown placement %q (known: %s, %s, %s)", f.scheduler, kubesched.GPUAwareProfile, kubesched.DefaultProfile, firstFit)
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	if !slices.ContainsFunc(scenarios, sim.IsTrace) {
		switch {
		case f.rateScale != 1:
			return cfg, fmt.Errorf("--rate-scale %v: applies to trace replay, and no scenario is a trace (%s)", f.rateScale, scenarioList(scenarios))
		case f.loop:
			return cfg, fmt.Errorf("--loop: applies to trace replay, and no scenario is a trace (%s)", scenarioList(scenarios))
		}
	}
	return cfg, nil
}

const scenarioHelp = "ramp, periodic, random, spike (optionally with parameters, e.g. spike:peak=60,spike=2m) or a trace CSV path"

// makeOutDir creates an --out directory before the runs that fill it, so
// that an --out naming a file fails at once, not after them.
func makeOutDir(dir string) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}
