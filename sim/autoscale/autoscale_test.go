package autoscale

import (
	"strings"
	"testing"
	"time"

	"github.com/kisproject/kis/policy"
)

// A parameter the scaler would not use must be refused, not dropped: a
// comparison table names each row by its spec, and a row named
// "hpa:gpu=80,cpu=50" that ran gpu=80 alone would mislabel its figures.
func TestSpecsRefuseParametersTheyWouldDrop(t *testing.T) {
	env := scheduleEnv()
	env.FutureRate = func(time.Duration) float64 { return 10 }
	for spec, want := range map[string]string{
		"hpa:gpu=80,gpu=50":                `parameter "gpu" is given twice`,
		"hpa:down=1m,down=5m":              `parameter "down" is given twice`,
		"hpa:gpu=80,":                      `want hpa[:gpu=<percent>][,queue=<waiting per pod>][,tolerance=<f >= 0>][,down=<duration >= 0>]: "" is not key=value`,
		"hpa:cpu=50":                       `unknown parameter "cpu" (known: gpu, queue, tolerance, down)`,
		"predictive:headroom=1,headroom=2": `parameter "headroom" is given twice`,
		"predictive:0.8":                   `want predictive[:headroom=<0 < f <= 10>][,stabilize=<duration >= 0>]: "0.8" is not key=value`,
		"oracle:headroom=1,headroom=2":     `parameter "headroom" is given twice`,
		"oracle:lead=5":                    `unknown parameter "lead" (known: headroom)`,
		"schedule:high=7,high=8":           `parameter "high" is given twice`,
		"schedule:high=7,lead=1m,lead=2m":  `parameter "lead" is given twice`,
		"fixed:0":                          `want fixed:<replicas in [1, max replicas 20]>`,
		"fixed:21":                         `want fixed:<replicas in [1, max replicas 20]>`,
		// The bare spec's defaults under a second name.
		"hpa:":        `scaler "hpa:": nothing follows the colon; "hpa" alone takes the defaults`,
		"kis:":        `scaler "kis:": nothing follows the colon; "kis" alone takes the defaults`,
		"oracle:":     `"oracle" alone takes the defaults`,
		"predictive:": `"predictive" alone takes the defaults`,
		"queue:":      `"queue" alone takes the defaults`,
		// No defaults to take: the kind's own usage.
		"fixed:":    `want fixed:<replicas in [1, max replicas 20]>`,
		"schedule:": `scaler "schedule:"`,
		"magic:":    `unknown scaler "magic:"`,
	} {
		if _, err := Parse(spec, env); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) error = %v, want one containing %q", spec, err, want)
		}
	}
	for _, spec := range []string{"hpa:queue=3,tolerance=0.1,down=1m", "hpa:gpu=70,queue=3", "fixed:20", "predictive:stabilize=1m,headroom=2", "oracle:headroom=0.8", "schedule:lead=1m,high=7"} {
		if _, err := Parse(spec, env); err != nil {
			t.Errorf("Parse(%q): %v", spec, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, spec := range []string{"hpa", "hpa:queue=3,tolerance=0.1,down=1m", "fixed:4", "fixed:10", "hpa:gpu=70,queue=3", "queue:12", "predictive:headroom=0.8,stabilize=1m", "oracle:headroom=0.7", "schedule:high=7,lead=90s,stabilize=1m", "hpa:gpu=80,gpu=50"} {
		f.Add(spec)
	}
	env := scheduleEnv()
	env.FutureRate = func(time.Duration) float64 { return 10 }
	f.Fuzz(func(t *testing.T, spec string) {
		if strings.HasPrefix(spec, "kis") {
			return // a model file path: reading files is the policy package's to fuzz
		}
		a, err := Parse(spec, env)
		if err != nil {
			return
		}
		if a.Name() != spec {
			t.Fatalf("Parse(%q) built a scaler named %q", spec, a.Name())
		}
		busy := Pod{GPUUtil: 90, HasGPUUtil: true, Waiting: 4, HasWaiting: true}
		in := &Input{
			Now: time.Minute, SpecReplicas: 2, Pods: []Pod{busy, busy},
			Obs:      policy.Observation{RequestRate: 30, Waiting: 8, Running: 40, Ready: 2, Desired: 2},
			External: map[string]float64{MetricOutstanding: 48},
		}
		if got := a.Desired(in); got < env.MinReplicas || got > env.MaxReplicas {
			t.Fatalf("%q asks for %d replicas, outside [%d, %d]", spec, got, env.MinReplicas, env.MaxReplicas)
		}
	})
}
