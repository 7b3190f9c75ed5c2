package gpuaware

import (
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/kisproject/kis/plugins/gpuaware/apis/config"
)

// occupancyScorer scores a node whose GPUs would be `after` used of total.
type occupancyScorer func(after, total int64) int64

// occupancyScorers is the strategy table, in the manner of
// noderesources' scoring strategies.
var occupancyScorers = map[config.ScoringStrategyType]occupancyScorer{
	// BinPack fills nodes: fuller scores higher, so whole nodes stay free
	// for models that need all of a node's GPUs.
	config.BinPack: func(after, total int64) int64 {
		if total <= 0 {
			return 0
		}
		return fwk.MaxScore * min(after, total) / total
	},
	// Spread empties nodes: more free GPUs score higher, so one node's
	// failure takes fewer replicas with it.
	config.Spread: func(after, total int64) int64 {
		if total <= 0 {
			return 0
		}
		return fwk.MaxScore * max(total-after, 0) / total
	},
}
