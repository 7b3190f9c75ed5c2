package adapter

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kisproject/kis/internal/boundedio"
	"github.com/kisproject/kis/internal/promurl"
	"github.com/kisproject/kis/internal/strictyaml"
	"github.com/kisproject/kis/policy"
)

// TargetLabel is the label an HPA's external metric selector uses to pick a
// target: `kis.io/target: <id>`.
const TargetLabel = "kis.io/target"

// DefaultMetricName is the external metric the adapter serves.
const DefaultMetricName = "kis_desired_replicas"

// Config is the adapter's configuration file.
type Config struct {
	// MetricName is the external metric served (default kis_desired_replicas).
	MetricName string `json:"metricName,omitempty"`
	// Prometheus is where the Observation's signals are queried.
	Prometheus PrometheusConfig `json:"prometheus"`
	// Interval is the period of each target's reconcile loop (default 15s,
	// the HPA controller's default sync period).
	Interval metav1.Duration `json:"interval,omitempty"`
	// MaxStaleness is the oldest scrape the adapter acts on (default 1m): a
	// workload whose newest sample is older is treated as unobserved.
	MaxStaleness metav1.Duration `json:"maxStaleness,omitempty"`
	// HoldFor is how long the last good decision is served while the
	// signals are unusable (default 2m), before the fallback rule applies.
	HoldFor metav1.Duration `json:"holdFor,omitempty"`
	Targets []Target        `json:"targets"`
}

// PrometheusConfig locates the Prometheus HTTP API.
type PrometheusConfig struct {
	URL string `json:"url"`
	// Timeout bounds one query set (default 5s).
	Timeout metav1.Duration `json:"timeout,omitempty"`
}

// Target is one scaled workload.
type Target struct {
	// ID is the value of the kis.io/target label that selects this target
	// (default <namespace>.<name>; it must be a valid label value).
	ID             string         `json:"id,omitempty"`
	Namespace      string         `json:"namespace"`
	ScaleTargetRef ScaleTargetRef `json:"scaleTargetRef"`
	MinReplicas    int32          `json:"minReplicas"`
	MaxReplicas    int32          `json:"maxReplicas"`
	// SLOSeconds is the p95 latency objective. The adapter exports it next
	// to the observed p95 so that dashboards and alerts compare the two.
	SLOSeconds float64 `json:"sloSeconds"`
	// Scaler decides: "kis" (the embedded model), "kis:<model file>",
	// "queue:<outstanding requests per replica>" or "fixed:<replicas>"
	// (default kis). The baselines use the same loop and fallbacks.
	Scaler string `json:"scaler,omitempty"`
	// SLOGuard raises a kis scaler's decision, while the observed p95 is
	// over SLOSeconds and requests wait, to one replica more than are
	// Ready and to the replicas that drain the queue within the SLO
	// (policy.SLOGuard). Default true for kis scalers; the baselines are
	// served as their rules say.
	SLOGuard *bool `json:"sloGuard,omitempty"`
	// Queries produce the Observation's signals.
	Queries QueryConfig `json:"queries,omitempty"`
	// Direct makes the adapter patch the scale subresource itself, as the
	// KIS-S paper's controller does, instead of (or besides) serving the
	// HPA. Off by default; needs the extra RBAC in manifests/adapter.
	Direct bool `json:"direct,omitempty"`
}

// ScaleTargetRef names the scaled object, as an HPA's scaleTargetRef does.
type ScaleTargetRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
}

// QueryConfig selects a built-in query set and overrides single queries.
type QueryConfig struct {
	// Set is a built-in query set: "vllm" (default) or "triton".
	Set string `json:"set,omitempty"`
	// Selector is the PromQL label matchers of the workload's series
	// (default `namespace="<namespace>",pod=~"<name>-.*"`).
	Selector string `json:"selector,omitempty"`
	// Overrides replace single queries of the set, keyed by signal name
	// (see SignalNames). Queries are Go templates with << >> delimiters
	// over .Selector, .Namespace, .Name and .Window.
	Overrides map[string]string `json:"overrides,omitempty"`
}

// metricNameRE is what an external metric name may be: a Prometheus metric
// name without colons (those are reserved for recording rules).
var metricNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Defaults for the fields left empty.
const (
	DefaultInterval     = 15 * time.Second
	DefaultMaxStaleness = time.Minute
	DefaultHoldFor      = 2 * time.Minute
	DefaultTimeout      = 5 * time.Second
	DefaultScaler       = "kis"
)

// maxConfigBytes bounds a config file, sixteen times what a ConfigMap,
// where one usually comes from, may hold.
const maxConfigBytes = 16 << 20

// LoadConfig reads, defaults and validates a configuration file.
func LoadConfig(path string) (*Config, error) {
	data, err := boundedio.ReadFile(path, maxConfigBytes)
	if err != nil {
		return nil, fmt.Errorf("reading adapter config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("adapter config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig decodes strictly (unknown and duplicated fields are errors),
// fills in the defaults and validates.
func ParseConfig(data []byte) (*Config, error) {
	var cfg Config
	if err := strictyaml.Unmarshal(data, &cfg); err != nil {
		return nil, err
	}
	cfg.SetDefaults()
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	return &cfg, nil
}

// SetDefaults fills the empty fields.
func (c *Config) SetDefaults() {
	if c.MetricName == "" {
		c.MetricName = DefaultMetricName
	}
	setDuration(&c.Interval, DefaultInterval)
	setDuration(&c.MaxStaleness, DefaultMaxStaleness)
	setDuration(&c.HoldFor, DefaultHoldFor)
	setDuration(&c.Prometheus.Timeout, DefaultTimeout)
	for i := range c.Targets {
		t := &c.Targets[i]
		if t.ID == "" {
			t.ID = t.Namespace + "." + t.ScaleTargetRef.Name
		}
		if t.Scaler == "" {
			t.Scaler = DefaultScaler
		}
		if t.SLOGuard == nil && isKIS(t.Scaler) {
			on := true
			t.SLOGuard = &on
		}
		if t.Queries.Set == "" {
			t.Queries.Set = "vllm"
		}
		if t.Queries.Selector == "" {
			t.Queries.Selector = fmt.Sprintf(`namespace=%q,pod=~"%s-.*"`, t.Namespace, t.ScaleTargetRef.Name)
		}
	}
}

func setDuration(d *metav1.Duration, def time.Duration) {
	if d.Duration == 0 {
		d.Duration = def
	}
}

// Validate returns every problem, each with its field path.
func (c *Config) Validate() field.ErrorList {
	var errs field.ErrorList
	if !metricNameRE.MatchString(c.MetricName) {
		errs = append(errs, field.Invalid(field.NewPath("metricName"), c.MetricName, "must match "+metricNameRE.String()))
	}
	if c.Prometheus.URL == "" {
		errs = append(errs, field.Required(field.NewPath("prometheus", "url"), "the Prometheus HTTP API the signals are queried from"))
	} else if err := promurl.Check(c.Prometheus.URL); err != nil {
		errs = append(errs, field.Invalid(field.NewPath("prometheus", "url"), c.Prometheus.URL, err.Error()))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
		path *field.Path
	}{
		{"interval", c.Interval.Duration, field.NewPath("interval")},
		{"maxStaleness", c.MaxStaleness.Duration, field.NewPath("maxStaleness")},
		{"holdFor", c.HoldFor.Duration, field.NewPath("holdFor")},
		{"timeout", c.Prometheus.Timeout.Duration, field.NewPath("prometheus", "timeout")},
	} {
		if d.v < 0 {
			errs = append(errs, field.Invalid(d.path, d.v.String(), "must be positive"))
		}
	}
	if c.Prometheus.Timeout.Duration >= c.Interval.Duration {
		errs = append(errs, field.Invalid(field.NewPath("prometheus", "timeout"), c.Prometheus.Timeout.Duration.String(), "must be shorter than interval"))
	}
	if len(c.Targets) == 0 {
		errs = append(errs, field.Required(field.NewPath("targets"), "at least one target"))
	}
	type workload struct{ namespace, group, kind, name string }
	seen, scaled := map[string]int{}, map[workload]int{}
	for i := range c.Targets {
		p := field.NewPath("targets").Index(i)
		t := &c.Targets[i]
		errs = append(errs, t.validate(p)...)
		key := t.Namespace + "/" + t.ID
		if j, dup := seen[key]; dup {
			errs = append(errs, field.Duplicate(p.Child("id"), fmt.Sprintf("%s (also targets[%d]) in namespace %s", t.ID, j, t.Namespace)))
		}
		seen[key] = i
		// Several targets may serve decisions for one object, for an HPA
		// to pick one (another scaler beside it, in shadow); one that
		// scales the object itself would fight the others' HPA. The
		// object is one whatever version names it.
		ref := t.ScaleTargetRef
		w := workload{t.Namespace, ref.APIVersion, ref.Kind, ref.Name}
		if gv, err := schema.ParseGroupVersion(ref.APIVersion); err == nil {
			w.group = gv.Group
		}
		j, dup := scaled[w]
		if dup && (t.Direct || c.Targets[j].Direct) {
			errs = append(errs, field.Duplicate(p.Child("scaleTargetRef"), fmt.Sprintf("%s %s/%s (also targets[%d]): a target with direct scaling must be its object's only one", ref.Kind, t.Namespace, ref.Name, j)))
		}
		if !dup || t.Direct {
			scaled[w] = i
		}
	}
	return errs
}

func (t *Target) validate(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(t.Namespace) {
		errs = append(errs, field.Invalid(p.Child("namespace"), t.Namespace, msg))
	}
	for _, msg := range validation.IsValidLabelValue(t.ID) {
		errs = append(errs, field.Invalid(p.Child("id"), t.ID, msg))
	}
	ref := p.Child("scaleTargetRef")
	if t.ScaleTargetRef.Kind == "" {
		errs = append(errs, field.Required(ref.Child("kind"), "e.g. Deployment"))
	}
	if t.ScaleTargetRef.Name == "" {
		errs = append(errs, field.Required(ref.Child("name"), ""))
	}
	if t.ScaleTargetRef.APIVersion == "" {
		errs = append(errs, field.Required(ref.Child("apiVersion"), "e.g. apps/v1"))
	} else if _, err := schema.ParseGroupVersion(t.ScaleTargetRef.APIVersion); err != nil {
		errs = append(errs, field.Invalid(ref.Child("apiVersion"), t.ScaleTargetRef.APIVersion, err.Error()))
	}
	if t.MinReplicas < 1 {
		errs = append(errs, field.Invalid(p.Child("minReplicas"), t.MinReplicas, "must be at least 1"))
	}
	if t.MaxReplicas < t.MinReplicas {
		errs = append(errs, field.Invalid(p.Child("maxReplicas"), t.MaxReplicas, "must be at least minReplicas"))
	}
	if !(t.SLOSeconds > 0) {
		errs = append(errs, field.Invalid(p.Child("sloSeconds"), t.SLOSeconds, "must be a p95 latency objective > 0 seconds"))
	}
	if err := checkScalerSpec(t.Scaler); err != nil {
		errs = append(errs, field.Invalid(p.Child("scaler"), t.Scaler, err.Error()))
	}
	if t.SLOGuard != nil && *t.SLOGuard && !isKIS(t.Scaler) {
		errs = append(errs, field.Invalid(p.Child("sloGuard"), true, "guards kis scalers only; "+t.Scaler+" is served as its rule says"))
	}
	q := p.Child("queries")
	if _, ok := builtinQuerySets[t.Queries.Set]; !ok {
		errs = append(errs, field.NotSupported(q.Child("set"), t.Queries.Set, querySetNames()))
	}
	for name, text := range t.Queries.Overrides {
		if !isSignal(name) {
			errs = append(errs, field.NotSupported(q.Child("overrides").Key(name), name, SignalNames))
			continue
		}
		if _, err := t.renderQuery(name, text); err != nil {
			errs = append(errs, field.Invalid(q.Child("overrides").Key(name), text, err.Error()))
		}
	}
	return errs
}

// Guard is the SLO guard the target's decisions are served with (the zero
// value, off, unless SLOGuard is set).
func (t *Target) Guard() policy.SLOGuard {
	if t.SLOGuard == nil || !*t.SLOGuard {
		return policy.SLOGuard{}
	}
	return policy.SLOGuard{SLOSeconds: t.SLOSeconds}
}

func isKIS(spec string) bool { return spec == "kis" || strings.HasPrefix(spec, "kis:") }

// checkScalerSpec checks a scaler spec by building its decider, except
// for a model: a file is read (and checked) when the adapter starts, and
// the embedded model by its own tests, so decoding it here for every
// target would only cost.
func checkScalerSpec(spec string) error {
	if file, ok := strings.CutPrefix(spec, "kis:"); spec == "kis" || ok && file != "" {
		return nil
	}
	_, err := NewDecider(spec)
	return err
}
