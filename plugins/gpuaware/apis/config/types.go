package config

import "time"

// ScoringStrategyType selects how GPUAware scores GPU occupancy.
type ScoringStrategyType string

const (
	// BinPack prefers nodes whose GPUs are already in use, keeping whole
	// nodes free for models that need many GPUs.
	BinPack ScoringStrategyType = "BinPack"
	// Spread prefers nodes with the most free GPUs.
	Spread ScoringStrategyType = "Spread"
)

// MissingLabelsPolicy says what Filter does with a node that lacks the GPU
// feature discovery labels a pod's requirements need.
type MissingLabelsPolicy string

const (
	// Reject treats the node as not fitting: an unknown GPU is not assumed
	// to be big enough.
	Reject MissingLabelsPolicy = "Reject"
	// Ignore skips the requirement whose label is missing.
	Ignore MissingLabelsPolicy = "Ignore"
)

// GPUAwareArgs are the plugin's arguments, defaulted and validated.
type GPUAwareArgs struct {
	ScoringStrategy ScoringStrategyType
	// Weights of the score terms; see the plugin's Score.
	OccupancyWeight int64
	LoadWeight      int64
	LocalityWeight  int64
	// AllowedProducts, if not empty, are the only nvidia.com/gpu.product
	// values a GPU pod may land on.
	AllowedProducts []string
	MissingLabels   MissingLabelsPolicy
	// TelemetryMaxAge is how old a node's telemetry may be before it is
	// treated as unknown (a neutral load score).
	TelemetryMaxAge time.Duration
	// DeletionCosts set the controller.kubernetes.io/pod-deletion-cost
	// annotation of the GPU pods the plugin binds, by their node's
	// nvidia.com/gpu.product.
	DeletionCosts []ProductCost
}

// ProductCost is the pod-deletion-cost of pods on one GPU product.
type ProductCost struct {
	Product string
	Cost    int32
}
