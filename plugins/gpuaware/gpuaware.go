package gpuaware

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	"k8s.io/utils/clock"

	"github.com/kisproject/kis/plugins/gpuaware/apis/config"
	v1 "github.com/kisproject/kis/plugins/gpuaware/apis/config/v1"
	"github.com/kisproject/kis/plugins/gpuaware/apis/config/validation"
)

// Name is the plugin's name in a KubeSchedulerConfiguration.
const Name = "GPUAware"

// Labels and annotations the plugin reads.
const (
	// ResourceGPU is the extended resource NVIDIA's device plugin advertises.
	ResourceGPU = "nvidia.com/gpu"
	// LabelGPUProduct and LabelGPUMemory are set by NVIDIA GPU feature
	// discovery; the memory is per GPU, in MiB.
	LabelGPUProduct = "nvidia.com/gpu.product"
	LabelGPUMemory  = "nvidia.com/gpu.memory"
	// AnnotationGPUMemory is the GPU memory one of the pod's GPUs must have,
	// as a Kubernetes quantity ("22Gi").
	AnnotationGPUMemory = "gpu.kis.io/memory"
	// AnnotationModel names the model the pod serves, for cache locality.
	AnnotationModel = "gpu.kis.io/model"
)

// GPUAware is the plugin.
type GPUAware struct {
	args          config.GPUAwareArgs
	allowed       map[string]bool
	deletionCosts map[string]int32
	telemetry     Telemetry
	clock         clock.PassiveClock
	strategy      occupancyScorer
	handle        fwk.Handle
}

var (
	_ fwk.PreFilterPlugin = &GPUAware{}
	_ fwk.FilterPlugin    = &GPUAware{}
	_ fwk.ScorePlugin     = &GPUAware{}
	_ fwk.ScoreExtensions = &GPUAware{}
	_ fwk.PostBindPlugin  = &GPUAware{}
)

// Name implements fwk.Plugin.
func (g *GPUAware) Name() string { return Name }

// New builds the plugin without live telemetry: load and cache locality
// score neutral. Use NewFactory to inject a telemetry source.
func New(ctx context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
	return NewFactory(noTelemetry{}, clock.RealClock{})(ctx, obj, h)
}

// NewFactory returns a plugin factory that reads telemetry from t and time
// from c. kis-scheduler passes a Prometheus-backed source and the real
// clock; KISim its in-memory source and its virtual clock.
func NewFactory(t Telemetry, c clock.PassiveClock) frameworkruntime.PluginFactory {
	return func(ctx context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
		args, err := ParseArgs(obj)
		if err != nil {
			return nil, err
		}
		g := &GPUAware{args: *args, telemetry: t, clock: c, strategy: occupancyScorers[args.ScoringStrategy], handle: h}
		if len(args.AllowedProducts) > 0 {
			g.allowed = make(map[string]bool, len(args.AllowedProducts))
			for _, p := range args.AllowedProducts {
				g.allowed[p] = true
			}
		}
		if len(args.DeletionCosts) > 0 {
			g.deletionCosts = make(map[string]int32, len(args.DeletionCosts))
			for _, c := range args.DeletionCosts {
				g.deletionCosts[c.Product] = c.Cost
			}
		}
		klog.FromContext(ctx).V(2).Info("GPUAware plugin initialised", "args", args)
		return g, nil
	}
}

// ParseArgs decodes (strictly: unknown fields are errors), defaults and
// validates the plugin's args. obj is what the framework passes: nil when
// the profile has no pluginConfig for GPUAware, *runtime.Unknown for the
// raw JSON or YAML of its args, or a typed *v1.GPUAwareArgs.
func ParseArgs(obj runtime.Object) (*config.GPUAwareArgs, error) {
	var versioned v1.GPUAwareArgs
	switch o := obj.(type) {
	case nil:
	case *runtime.Unknown:
		if len(o.Raw) > 0 {
			raw, err := yaml.ToJSON(o.Raw)
			if err != nil {
				return nil, fmt.Errorf("%s args: %w", Name, err)
			}
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&versioned); err != nil {
				return nil, fmt.Errorf("%s args: %w", Name, err)
			}
		}
	case *v1.GPUAwareArgs:
		versioned = *o
	default:
		return nil, fmt.Errorf("%s args: want *v1.GPUAwareArgs, got %T", Name, obj)
	}
	v1.SetDefaults_GPUAwareArgs(&versioned)
	var args config.GPUAwareArgs
	v1.Convert_v1_GPUAwareArgs_To_config_GPUAwareArgs(&versioned, &args)
	if err := validation.ValidateGPUAwareArgs(field.NewPath("pluginConfig").Key(Name).Child("args"), &args); err != nil {
		return nil, fmt.Errorf("invalid %s args: %w", Name, err)
	}
	return &args, nil
}
