// Package specparams checks what a command line spells as lists: the
// key=value parameters of a spec, such as the "peak=60,period=8m" of
// "spike:peak=60,period=8m" or the "queue=3,down=1m" of "hpa:queue=3,down=1m",
// and lists of specs, such as --scalers.
package specparams

import (
	"fmt"
	"slices"
	"strings"
)

// NotKeyValueError is a comma-separated pair without an "=".
type NotKeyValueError struct{ Pair string }

func (e *NotKeyValueError) Error() string { return fmt.Sprintf("%q is not key=value", e.Pair) }

// Split returns args' parameters by key ("" has none). It refuses what would
// otherwise be dropped without a word: a key not in known, and a key given
// twice, where the last would win under a spec that shows both.
func Split(args string, known ...string) (map[string]string, error) {
	params := map[string]string{}
	if args == "" {
		return params, nil
	}
	for _, kv := range strings.Split(args, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, &NotKeyValueError{Pair: kv}
		}
		if !slices.Contains(known, k) {
			return nil, fmt.Errorf("unknown parameter %q (known: %s)", k, strings.Join(known, ", "))
		}
		if _, seen := params[k]; seen {
			return nil, fmt.Errorf("parameter %q is given twice", k)
		}
		params[k] = v
	}
	return params, nil
}

// Repeated returns the first element of s that an earlier one equals. A
// list of specs is run or drawn from once per element, so a name given
// twice would be a row run twice, or a weighting nobody asked for.
func Repeated[T comparable](s []T) (T, bool) {
	for i, v := range s {
		if slices.Contains(s[:i], v) {
			return v, true
		}
	}
	var zero T
	return zero, false
}
