package autoscale

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/kisproject/kis/internal/specparams"
	"github.com/kisproject/kis/policy"
	"github.com/kisproject/kis/sim/traffic"
)

// Autoscaler decides a workload's replica count once per sync period.
type Autoscaler interface {
	// Name is the scaler spec it was built from, e.g. "hpa:gpu=60".
	Name() string
	// Desired returns the replica count to set on the workload.
	Desired(in *Input) int32
}

// Static is an Autoscaler whose count never changes (fixed:N): a run
// starts with that many replicas Ready, as a Deployment without an
// autoscaler would have them.
type Static interface {
	Replicas() int32
}

// Guarded is an Autoscaler served with the SLO guard (KIScaler).
type Guarded interface {
	// GuardRaises counts the decisions the guard raised so far.
	GuardRaises() int
}

// Pod is one of the workload's pods as the HPA controller's pod lister and
// metrics client see it.
type Pod struct {
	// Pending pods are not yet running (unscheduled, pulling the image).
	Pending bool
	// Terminating pods have a deletion timestamp.
	Terminating bool
	// GPUUtil is the pod's last scraped DCGM_FI_DEV_GPU_UTIL (percent);
	// HasGPUUtil is false until the pod holds a running GPU container.
	GPUUtil    float64
	HasGPUUtil bool
	// Waiting is the pod's last scraped queue gauge; HasWaiting is false
	// until the serving process is up and has been scraped.
	Waiting    float64
	HasWaiting bool
}

// Input is what the autoscalers see at one sync.
type Input struct {
	// Now is the virtual time of the sync.
	Now time.Duration
	// Obs is the workload's observation, built from lagged scraped series.
	Obs policy.Observation
	// SpecReplicas is the Deployment's spec.replicas (the scale subresource).
	SpecReplicas int32
	// Pods are the pods matching the workload's selector.
	Pods []Pod
	// External are external metrics an adapter serves, by metric name
	// (e.g. kis-adapter's kis_desired_replicas).
	External map[string]float64
}

// Env is what an autoscaler may know about the workload when it is built.
type Env struct {
	MinReplicas, MaxReplicas int32
	SyncPeriod               time.Duration
	// Capacity is the request rate one replica on the reference GPU
	// sustains at a comfortable batch fill (workload.Profile.Capacity).
	Capacity float64
	// MaxBatch is the requests one replica serves at once.
	MaxBatch int
	// Lead is the expected time from a scale-up decision to a Ready replica.
	Lead time.Duration
	// FutureRate is the true arrival intensity; only the oracle may use it.
	FutureRate func(time.Duration) float64
	// Jumps are the windows in which the load may jump, known from the
	// pattern's parameters (none for traces); only Schedule uses them.
	Jumps []traffic.Jump
	// SLOGuard is the floor KIScaler's decisions are served with, as the
	// adapter serves them (the zero value is off).
	SLOGuard policy.SLOGuard
}

// Known lists the scaler specs Parse accepts, for help texts.
const Known = "hpa[:gpu=<percent>][,queue=<waiting per pod>][,tolerance=<f>][,down=<window>], fixed:<n>, queue[:<outstanding per replica>], predictive[:headroom=<f>][,stabilize=<duration>], kis[:<model file>], oracle[:headroom=<f>], schedule:high=<n>[,headroom=<f>][,lead=<duration>][,stabilize=<duration>]"

// Parse builds an autoscaler from its spec.
func Parse(spec string, env Env) (Autoscaler, error) {
	if env.MinReplicas < 1 || env.MaxReplicas < env.MinReplicas {
		return nil, fmt.Errorf("replica bounds min=%d max=%d: want 1 <= min <= max", env.MinReplicas, env.MaxReplicas)
	}
	a, err := build(spec, env)
	if kind, arg, hasArgs := strings.Cut(spec, ":"); err == nil && hasArgs && arg == "" {
		// A row is named by its spec: "hpa:" would run the defaults under
		// a second name, and a comparison would list them twice.
		return nil, fmt.Errorf("scaler %q: nothing follows the colon; %q alone takes the defaults", spec, kind)
	}
	return a, err
}

// build builds the autoscaler a spec names, with its parameters.
func build(spec string, env Env) (Autoscaler, error) {
	kind, arg, _ := strings.Cut(spec, ":")
	switch kind {
	case "hpa":
		return parseHPA(spec, arg, env)
	case "fixed":
		n, err := strconv.Atoi(arg)
		if err != nil || n < 1 || n > int(env.MaxReplicas) {
			// Bounded like every other scaler and like --initial-replicas,
			// which fixed:N sets: the cluster is sized for the max.
			return nil, fmt.Errorf("scaler %q: want fixed:<replicas in [1, max replicas %d]>", spec, env.MaxReplicas)
		}
		return fixed{name: spec, n: int32(n)}, nil
	case "queue":
		return newQueue(spec, arg, env)
	case "predictive":
		return newPredictive(spec, arg, env)
	case "kis":
		return newKIS(spec, arg, env)
	case "oracle":
		return newOracle(spec, arg, env)
	case "schedule":
		return newSchedule(spec, arg, env)
	}
	return nil, fmt.Errorf("unknown scaler %q (known: %s)", spec, Known)
}

type fixed struct {
	name string
	n    int32
}

func (f fixed) Name() string         { return f.name }
func (f fixed) Desired(*Input) int32 { return f.n }
func (f fixed) Replicas() int32      { return f.n }
func clamp(v, lo, hi int32) int32    { return min(max(v, lo), hi) }

// ceilReplicas rounds a replica demand up, ignoring float noise a hair
// above an integer (a decayed trend of 1e-9 must not cost a replica).
func ceilReplicas(v float64) int32 { return ceilToInt32(v - 1e-6) }

// ceilToInt32 is the controller's int32(math.Ceil(v)), saturating where
// v is past the int32 range and the conversion has no defined result.
func ceilToInt32(v float64) int32 { return int32(math.Min(math.Ceil(v), math.MaxInt32)) }

// scalerParams splits a scaler's key=value parameters by key, refusing an
// unknown key and a key given twice. A pair that is not key=value is
// refused with usage, the spec's form.
func scalerParams(spec, args string, usage error, known ...string) (map[string]string, error) {
	params, err := specparams.Split(args, known...)
	var malformed *specparams.NotKeyValueError
	switch {
	case errors.As(err, &malformed):
		return nil, fmt.Errorf("%w: %w", usage, err)
	case err != nil:
		return nil, fmt.Errorf("scaler %q: %w", spec, err)
	}
	return params, nil
}

// maxHeadroom bounds a headroom setting that can only be a typo beyond it.
const maxHeadroom = 10

// parseHeadroom reads a headroom setting, a number in (0, maxHeadroom].
func parseHeadroom(v string) (float64, bool) {
	f, err := parseFloatArg(v)
	return f, err == nil && f > 0 && f <= maxHeadroom
}

// parseDurationArg reads the scaler parameter key, a duration >= 0.
func parseDurationArg(spec, key, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("scaler %q: %s must be a duration >= 0", spec, key)
	}
	return d, nil
}

func parseFloatArg(v string) (float64, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a number", v)
	}
	return f, nil
}
