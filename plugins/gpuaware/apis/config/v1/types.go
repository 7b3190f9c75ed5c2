package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// GPUAwareArgs are the arguments of the GPUAware plugin as written in a
// KubeSchedulerConfiguration's pluginConfig. Unset fields take the defaults
// of SetDefaults_GPUAwareArgs.
type GPUAwareArgs struct {
	metav1.TypeMeta `json:",inline"`

	// ScoringStrategy is BinPack (default) or Spread.
	ScoringStrategy *string `json:"scoringStrategy,omitempty"`
	// OccupancyWeight, LoadWeight and LocalityWeight weigh the score terms
	// (defaults 1, 1, 3). Zero disables a term.
	OccupancyWeight *int64 `json:"occupancyWeight,omitempty"`
	LoadWeight      *int64 `json:"loadWeight,omitempty"`
	LocalityWeight  *int64 `json:"localityWeight,omitempty"`
	// AllowedProducts restricts GPU pods to these nvidia.com/gpu.product
	// values; empty allows any.
	AllowedProducts []string `json:"allowedProducts,omitempty"`
	// MissingLabels is Reject (default) or Ignore.
	MissingLabels *string `json:"missingLabels,omitempty"`
	// TelemetryMaxAge is how old GPU telemetry may be before it is ignored
	// (default 1m).
	TelemetryMaxAge *metav1.Duration `json:"telemetryMaxAge,omitempty"`
	// DeletionCosts annotate each GPU pod the plugin binds with
	// controller.kubernetes.io/pod-deletion-cost by its node's
	// nvidia.com/gpu.product, so that a scale-down deletes the replicas on
	// the slower GPUs first. Products not listed, and pods that already
	// carry the annotation, are left alone. Empty (default): no annotation.
	DeletionCosts []ProductCost `json:"deletionCosts,omitempty"`
}

// ProductCost is the pod-deletion-cost of pods bound to nodes whose
// nvidia.com/gpu.product is Product.
type ProductCost struct {
	Product string `json:"product"`
	Cost    int32  `json:"cost"`
}
