package autoscale

import (
	"strings"
	"testing"
	"time"

	"github.com/kisproject/kis/manifests/examples"
)

func TestHPAConfigFromExample(t *testing.T) {
	obj, err := ParseHPAObject(examples.HPA)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := HPAConfigFrom(obj)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinReplicas != 1 || cfg.MaxReplicas != 16 {
		t.Errorf("bounds [%d, %d], want [1, 16]", cfg.MinReplicas, cfg.MaxReplicas)
	}
	if want := (Metric{Kind: ExternalMetric, Name: "kis_desired_replicas", AverageValue: 1}); len(cfg.Metrics) != 1 || cfg.Metrics[0] != want {
		t.Errorf("metrics %+v, want [%+v]", cfg.Metrics, want)
	}
	h, err := NewHPA("example", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if h.ScaleDownWindow() != time.Minute {
		t.Errorf("ScaleDownWindow() = %v, want 1m", h.ScaleDownWindow())
	}
	up, down := cfg.Behavior.ScaleUp, cfg.Behavior.ScaleDown
	if *up.StabilizationWindow != 0 || *down.StabilizationWindow != time.Minute || *up.Tolerance != 0 || *down.Tolerance != 0 {
		t.Errorf("windows %v/%v, tolerances %v/%v: want 0s/1m0s, 0/0", *up.StabilizationWindow, *down.StabilizationWindow, *up.Tolerance, *down.Tolerance)
	}
	wantUp := []ScalingPolicy{{PercentPolicy, 100, 15 * time.Second}, {PodsPolicy, 4, 15 * time.Second}}
	if up.SelectPolicy != MaxChange || len(up.Policies) != 2 || up.Policies[0] != wantUp[0] || up.Policies[1] != wantUp[1] {
		t.Errorf("scaleUp %s %+v, want Max %+v", up.SelectPolicy, up.Policies, wantUp)
	}
}

func TestHPAObjectErrorsNameTheProblem(t *testing.T) {
	const base = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: h}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: llm}
  maxReplicas: 4
`
	ext := "  metrics:\n  - type: External\n    external:\n      metric: {name: m}\n      target: {type: AverageValue, averageValue: \"1\"}\n"
	for _, tc := range []struct{ name, manifest, want string }{
		{"not YAML", "{", "hpa manifest"},
		{"unknown field", base + "  maxReplica: 3\n" + ext, `unknown field "spec.maxReplica"`},
		{"field set twice", base + "  maxReplicas: 8\n" + ext, `line 7: duplicate field "spec.maxReplicas" (first set on line 6)`},
		{"wrong kind", strings.Replace(base, "HorizontalPodAutoscaler", "Deployment", 1) + ext, "want autoscaling/v2 HorizontalPodAutoscaler"},
		{"resource metric", base + "  metrics:\n  - type: Resource\n    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}\n", `type "Resource" is not modelled`},
		{"value target", base + "  metrics:\n  - type: External\n    external:\n      metric: {name: m}\n      target: {type: Value, value: \"1\"}\n", `m: target type "Value" is not modelled`},
		{"policy type", base + ext + "  behavior:\n    scaleDown:\n      policies: [{type: Replicas, value: 1, periodSeconds: 15}]\n", `behavior.scaleDown: policies[0]: type "Replicas"`},
		{"long window", base + ext + "  behavior:\n    scaleUp: {stabilizationWindowSeconds: 7200}\n", "behavior.scaleUp: stabilizationWindowSeconds 7200"},
		{"zero period", base + ext + "  behavior:\n    scaleUp:\n      policies: [{type: Pods, value: 4, periodSeconds: 0}]\n", "periodSeconds 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := func() error {
				obj, err := ParseHPAObject([]byte(tc.manifest))
				if err != nil {
					return err
				}
				cfg, err := HPAConfigFrom(obj)
				if err != nil {
					return err
				}
				_, err = NewHPA(obj.Name, cfg)
				return err
			}()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// scripted decides the replica counts it is given, one per sync.
type scripted struct{ next []int32 }

func (s *scripted) Name() string { return "scripted" }
func (s *scripted) Desired(*Input) int32 {
	d := s.next[0]
	s.next = s.next[1:]
	return d
}

// Through the example HPA a scale-up is realised at once, within its rate
// limits and the replica bounds; a scale-down once the one-minute window
// no longer holds a higher decision.
func TestThroughHPARealisesDecisionsWithTheExampleBehavior(t *testing.T) {
	decider := &scripted{next: []int32{12, 12, 12, 5, 5, 5, 5, 5, 30, 30}}
	a, err := ThroughHPA(decider, Env{MinReplicas: 1, MaxReplicas: 20})
	if err != nil {
		t.Fatal(err)
	}
	spec := int32(2)
	for i, want := range []int32{
		// From 2: +100% is 4, +4 pods is 6; selectPolicy Max -> 6. 15 s
		// later that event has left the 15 s period (getReplicasChangePerPeriod
		// counts events after now-period): from 6 the limits are 12 and 10.
		6, 12, 12,
		// 5 from 45 s on: the window keeps the highest recommendation
		// newer than now-60s, 12, until the last 12 (30 s) leaves it at 90 s.
		12, 12, 12, 5, 5,
		// From 5 the limits are 10 and 9: 10. Then 30 is clipped to the
		// env's maxReplicas 20 (not the manifest's 16).
		10, 20,
	} {
		spec = a.Desired(&Input{Now: time.Duration(i) * 15 * time.Second, SpecReplicas: spec, Pods: missing(int(spec))})
		if spec != want {
			t.Errorf("sync %d (%v): replicas %d, want %d", i, time.Duration(i)*15*time.Second, spec, want)
		}
	}
	if a.Name() != "scripted" {
		t.Errorf("Name() = %q, want the decider's", a.Name())
	}
}
