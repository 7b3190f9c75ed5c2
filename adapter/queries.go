package adapter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"text/template"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/kisproject/kis/policy"
)

// Signal names, the keys of QueryConfig.Overrides. Desired replicas is not
// among them: it is read from the scale subresource, the HPA's own source.
const (
	SignalRequestRate     = "request_rate"
	SignalRequestRatePrev = "request_rate_prev"
	SignalWaiting         = "waiting"
	SignalRunning         = "running"
	SignalP95Latency      = "p95_latency_seconds"
	SignalGPUUtil         = "gpu_util_percent"
	SignalReadyReplicas   = "ready_replicas"
	SignalPendingPods     = "pending_pods"
	// SignalLastScrape is the Unix time of the workload's newest sample; the
	// data is stale when it is older than Config.MaxStaleness.
	SignalLastScrape = "last_scrape_timestamp"
)

// SignalNames lists every query of a query set.
var SignalNames = []string{
	SignalRequestRate, SignalRequestRatePrev, SignalWaiting, SignalRunning, SignalP95Latency,
	SignalGPUUtil, SignalReadyReplicas, SignalPendingPods, SignalLastScrape,
}

func isSignal(name string) bool { return slices.Contains(SignalNames, name) }

// builtinQuerySets are written from the same policy.MetricSet names that
// KISim exposes, so the sim and a cluster are observed identically.
var builtinQuerySets = map[string]map[string]string{
	"vllm":   querySet(policy.VLLM),
	"triton": querySet(policy.Triton),
}

func querySetNames() []string {
	names := make([]string, 0, len(builtinQuerySets))
	for n := range builtinQuerySets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// querySet writes the PromQL of every signal for one serving stack. The
// sums make one number of a workload's pods, as the sim's tsdb does.
func querySet(m policy.MetricSet) map[string]string {
	const sel = `{<<.Selector>>}`
	rate := `sum(rate(` + m.RequestSuccess + sel + `[<<.Window>>]))`
	running := `sum(` + m.Running + sel + `)`
	if m.Running == "" {
		running = `vector(0)`
	}
	p95 := `histogram_quantile(0.95, sum by (le) (rate(` + m.Latency + `_bucket` + sel + `[<<.Window>>])))`
	if m.LatencyUnit != 1 {
		p95 += ` * ` + strconv.FormatFloat(m.LatencyUnit, 'g', -1, 64)
	}
	return map[string]string{
		SignalRequestRate: rate,
		// A window ago there may be no data yet (a new workload, a fresh
		// Prometheus): then the previous rate is the current one, a trend of
		// zero, rather than no decision at all.
		SignalRequestRatePrev: `sum(rate(` + m.RequestSuccess + sel + `[<<.Window>>] offset <<.Window>>)) or ` + rate,
		SignalWaiting:         `sum(` + m.Waiting + sel + `)`,
		SignalRunning:         running,
		SignalP95Latency:      p95,
		SignalGPUUtil:         `avg(` + policy.GPUUtil + sel + `)`,
		SignalReadyReplicas:   `sum(` + policy.ReadyReplicas + `{namespace="<<.Namespace>>",deployment="<<.Name>>"})`,
		SignalPendingPods:     `sum(` + policy.PodPhase + `{phase="Pending",<<.Selector>>})`,
		SignalLastScrape:      `max(timestamp(` + m.Waiting + sel + `))`,
	}
}

// Querier is the part of the Prometheus API the adapter uses; promv1.API
// implements it.
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
}

// Reason says why a reconcile could not use fresh signals. Each is counted
// in kis_adapter_fallbacks_total.
type Reason string

const (
	ReasonUnreachable      Reason = "prometheus_unreachable"
	ReasonQueryError       Reason = "query_error"
	ReasonEmpty            Reason = "empty"
	ReasonGarbage          Reason = "garbage"
	ReasonStale            Reason = "stale"
	ReasonScaleUnavailable Reason = "scale_unavailable"
)

// SignalError is a failed evaluation of a query set.
type SignalError struct {
	Reason Reason
	Signal string
	Err    error
}

func (e *SignalError) Error() string {
	if e.Signal == "" {
		return fmt.Sprintf("%s: %v", e.Reason, e.Err)
	}
	return fmt.Sprintf("%s: signal %s: %v", e.Reason, e.Signal, e.Err)
}

func (e *SignalError) Unwrap() error { return e.Err }

// ReasonOf classifies err; errors that are not SignalErrors are
// unreachable-Prometheus failures.
func ReasonOf(err error) Reason {
	var se *SignalError
	if errors.As(err, &se) {
		return se.Reason
	}
	return ReasonUnreachable
}

// Queries is a target's rendered query set.
type Queries map[string]string

// NewQueries renders the target's query set and overrides.
func NewQueries(t *Target) (Queries, error) {
	set, ok := builtinQuerySets[t.Queries.Set]
	if !ok {
		return nil, fmt.Errorf("unknown query set %q", t.Queries.Set)
	}
	q := Queries{}
	for _, name := range SignalNames {
		text := set[name]
		if o, ok := t.Queries.Overrides[name]; ok {
			text = o
		}
		var err error
		if q[name], err = t.renderQuery(name, text); err != nil {
			return nil, fmt.Errorf("query %s: %w", name, err)
		}
	}
	return q, nil
}

// renderQuery fills one query template with the target's names. Config
// validation renders every override through it too, so that a template
// that parses but cannot execute (<<.Nmae>>) fails there, with its field
// path, and not when the adapter starts.
func (t *Target) renderQuery(name, text string) (string, error) {
	tmpl, err := template.New(name).Delims("<<", ">>").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	err = tmpl.Execute(&b, queryData{
		Selector:  t.Queries.Selector,
		Namespace: t.Namespace,
		Name:      t.ScaleTargetRef.Name,
		Window:    model.Duration(policy.RateWindow).String(),
	})
	return b.String(), err
}

// queryData is what a query template sees.
type queryData struct {
	Selector, Namespace, Name, Window string
}

// Evaluate runs every query at ts and assembles the Signals (all but
// DesiredReplicas). Any failure is a *SignalError naming the signal.
func (q Queries) Evaluate(ctx context.Context, api Querier, ts time.Time, maxStaleness time.Duration) (policy.Signals, error) {
	vals := make(map[string]float64, len(SignalNames))
	for _, name := range SignalNames {
		v, err := queryScalar(ctx, api, q[name], ts)
		if err != nil {
			var se *SignalError
			if errors.As(err, &se) {
				se.Signal = name
				return policy.Signals{}, se
			}
			return policy.Signals{}, err
		}
		vals[name] = v
	}
	lastScrape := vals[SignalLastScrape]
	if math.IsNaN(lastScrape) || math.IsInf(lastScrape, 0) || lastScrape <= 0 {
		return policy.Signals{}, &SignalError{Reason: ReasonGarbage, Signal: SignalLastScrape,
			Err: fmt.Errorf("%v is not a Unix time", lastScrape)}
	}
	// In float seconds: a timestamp in milliseconds would overflow
	// time.Duration's nanoseconds and read as ancient.
	age := float64(ts.UnixNano())/1e9 - lastScrape
	switch {
	case age < -maxStaleness.Seconds():
		// An instant query at ts sees no sample after ts; one this far
		// ahead is a query that does not return Unix seconds, and under it
		// stale data would never be recognised as stale.
		return policy.Signals{}, &SignalError{Reason: ReasonGarbage, Signal: SignalLastScrape,
			Err: fmt.Errorf("newest sample at %.0f is more than %s after the query time %d: want Unix seconds", lastScrape, maxStaleness, ts.Unix())}
	case age > maxStaleness.Seconds():
		return policy.Signals{}, &SignalError{Reason: ReasonStale, Signal: SignalLastScrape,
			Err: fmt.Errorf("newest sample is %s old, more than %s", time.Duration(age*1e9).Round(time.Second), maxStaleness)}
	}
	return policy.Signals{
		At:                ts,
		RequestRate:       vals[SignalRequestRate],
		RequestRatePrev:   vals[SignalRequestRatePrev],
		Waiting:           vals[SignalWaiting],
		Running:           vals[SignalRunning],
		P95LatencySeconds: vals[SignalP95Latency],
		GPUUtilPercent:    vals[SignalGPUUtil],
		ReadyReplicas:     vals[SignalReadyReplicas],
		PendingPods:       vals[SignalPendingPods],
	}, nil
}

// queryScalar runs an instant query that must yield one number. The value
// is not checked here: policy.FromSignals is the one place that decides
// which numbers are garbage (it accepts a NaN latency at zero traffic).
func queryScalar(ctx context.Context, api Querier, query string, ts time.Time) (float64, error) {
	val, _, _, err := api.Query(ctx, query, ts)
	if err != nil {
		var pe *promv1.Error
		if errors.As(err, &pe) && pe.Type == promv1.ErrBadData {
			return 0, &SignalError{Reason: ReasonQueryError, Err: fmt.Errorf("query %q: %w", query, err)}
		}
		return 0, &SignalError{Reason: ReasonUnreachable, Err: err}
	}
	switch v := val.(type) {
	case model.Vector:
		switch len(v) {
		case 0:
			return 0, &SignalError{Reason: ReasonEmpty, Err: fmt.Errorf("query %q returned no series", query)}
		case 1:
			return float64(v[0].Value), nil
		}
		return 0, &SignalError{Reason: ReasonGarbage, Err: fmt.Errorf("query %q returned %d series, want one (aggregate it)", query, len(v))}
	case *model.Scalar:
		return float64(v.Value), nil
	case nil:
		return 0, &SignalError{Reason: ReasonEmpty, Err: fmt.Errorf("query %q returned nothing", query)}
	}
	return 0, &SignalError{Reason: ReasonGarbage, Err: fmt.Errorf("query %q returned a %s, want an instant vector or scalar", query, val.Type())}
}
