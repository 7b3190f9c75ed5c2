// Package validation validates the GPUAware plugin's arguments.
package validation

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kisproject/kis/plugins/gpuaware/apis/config"
)

// MaxWeight bounds each score weight so that the weighted sum of 0..100
// terms cannot overflow and no term is given absurd dominance.
const MaxWeight = 100

// ValidateGPUAwareArgs returns every problem with args as one aggregate of
// field errors under path.
func ValidateGPUAwareArgs(path *field.Path, args *config.GPUAwareArgs) error {
	var allErrs field.ErrorList
	switch args.ScoringStrategy {
	case config.BinPack, config.Spread:
	default:
		allErrs = append(allErrs, field.NotSupported(path.Child("scoringStrategy"), args.ScoringStrategy,
			[]string{string(config.BinPack), string(config.Spread)}))
	}
	weights := []struct {
		name  string
		value int64
	}{{"occupancyWeight", args.OccupancyWeight}, {"loadWeight", args.LoadWeight}, {"localityWeight", args.LocalityWeight}}
	sum := int64(0)
	for _, w := range weights {
		if w.value < 0 || w.value > MaxWeight {
			allErrs = append(allErrs, field.Invalid(path.Child(w.name), w.value, "must be in [0, 100]"))
		}
		sum += w.value
	}
	if sum == 0 {
		allErrs = append(allErrs, field.Invalid(path.Child("localityWeight"), args.LocalityWeight, "at least one weight must be positive"))
	}
	seen := map[string]bool{}
	for i, p := range args.AllowedProducts {
		switch {
		case p == "":
			allErrs = append(allErrs, field.Required(path.Child("allowedProducts").Index(i), "an empty product matches no GPU"))
		case seen[p]:
			allErrs = append(allErrs, field.Duplicate(path.Child("allowedProducts").Index(i), p))
		}
		seen[p] = true
	}
	switch args.MissingLabels {
	case config.Reject, config.Ignore:
	default:
		allErrs = append(allErrs, field.NotSupported(path.Child("missingLabels"), args.MissingLabels,
			[]string{string(config.Reject), string(config.Ignore)}))
	}
	products := map[string]bool{}
	for i, c := range args.DeletionCosts {
		p := path.Child("deletionCosts").Index(i).Child("product")
		switch {
		case c.Product == "":
			allErrs = append(allErrs, field.Required(p, "the nvidia.com/gpu.product the cost applies to"))
		case products[c.Product]:
			allErrs = append(allErrs, field.Duplicate(p, c.Product))
		}
		products[c.Product] = true
	}
	if args.TelemetryMaxAge <= 0 {
		allErrs = append(allErrs, field.Invalid(path.Child("telemetryMaxAge"), args.TelemetryMaxAge.String(), "must be > 0"))
	}
	return allErrs.ToAggregate()
}
