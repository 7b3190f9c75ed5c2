package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kisproject/kis/plugins/gpuaware/apis/config"
)

// Defaults, in one place.
const (
	DefaultOccupancyWeight int64 = 1
	DefaultLoadWeight      int64 = 1
	// Locality weighs most: a replica on a node that holds its weights is
	// Ready in about half the time (docs/calibration.md), which matters more
	// during a scale-up than packing or load.
	DefaultLocalityWeight  int64 = 3
	DefaultTelemetryMaxAge       = time.Minute
)

// SetDefaults_GPUAwareArgs fills unset fields.
func SetDefaults_GPUAwareArgs(args *GPUAwareArgs) { //nolint:revive // the Kubernetes defaulter naming convention
	if args.ScoringStrategy == nil {
		args.ScoringStrategy = ptr.To(string(config.BinPack))
	}
	if args.OccupancyWeight == nil {
		args.OccupancyWeight = ptr.To(DefaultOccupancyWeight)
	}
	if args.LoadWeight == nil {
		args.LoadWeight = ptr.To(DefaultLoadWeight)
	}
	if args.LocalityWeight == nil {
		args.LocalityWeight = ptr.To(DefaultLocalityWeight)
	}
	if args.MissingLabels == nil {
		args.MissingLabels = ptr.To(string(config.Reject))
	}
	if args.TelemetryMaxAge == nil {
		args.TelemetryMaxAge = &metav1.Duration{Duration: DefaultTelemetryMaxAge}
	}
}

// Convert_v1_GPUAwareArgs_To_config_GPUAwareArgs converts defaulted args.
func Convert_v1_GPUAwareArgs_To_config_GPUAwareArgs(in *GPUAwareArgs, out *config.GPUAwareArgs) { //nolint:revive // the Kubernetes conversion naming convention
	*out = config.GPUAwareArgs{
		ScoringStrategy: config.ScoringStrategyType(ptr.Deref(in.ScoringStrategy, "")),
		OccupancyWeight: ptr.Deref(in.OccupancyWeight, 0),
		LoadWeight:      ptr.Deref(in.LoadWeight, 0),
		LocalityWeight:  ptr.Deref(in.LocalityWeight, 0),
		AllowedProducts: append([]string(nil), in.AllowedProducts...),
		MissingLabels:   config.MissingLabelsPolicy(ptr.Deref(in.MissingLabels, "")),
	}
	if in.TelemetryMaxAge != nil {
		out.TelemetryMaxAge = in.TelemetryMaxAge.Duration
	}
	for _, c := range in.DeletionCosts {
		out.DeletionCosts = append(out.DeletionCosts, config.ProductCost{Product: c.Product, Cost: c.Cost})
	}
}
