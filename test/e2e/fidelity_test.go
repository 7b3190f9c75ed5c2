//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kisproject/kis/sim/autoscale"
)

// hpaModel builds KISim's model of the HPA controller from the example
// HPA the e2e applied, with kube-controller-manager's flag defaults.
func hpaModel(t *testing.T, path string) *autoscale.HPA {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := autoscale.ParseHPAObject(data)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := autoscale.HPAConfigFrom(obj)
	if err != nil {
		t.Fatal(err)
	}
	h, err := autoscale.NewHPA("example", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// scaleDownWindow is the example HPA's scale-down stabilisation window.
func scaleDownWindow(t *testing.T, path string) time.Duration {
	return hpaModel(t, path).ScaleDownWindow()
}

// fidelity replays the served values through KISim's HPA model, closed
// loop on the model's own replica count, at the real controller's syncs
// (every hpaSync, in the phase its status.lastScaleTime reveals), and
// compares the trajectory with the controller's spec.replicas sync by sync.
// A sync's value is the last one polled before it, so a decision that
// changed within the poll interval can be seen one sync late; agreement
// within one sync is reported beside exact agreement.
func fidelity(t *testing.T, samples []sample, start time.Time, hpaPath string) {
	t.Helper()
	h := hpaModel(t, hpaPath)
	first := -1
	phase := time.Duration(-1)
	for i, s := range samples {
		if first < 0 && s.served >= 0 {
			first = i
		}
		if phase < 0 && s.hpa.LastScaleTime != nil {
			phase = s.hpa.LastScaleTime.Sub(start) % hpaSync
		}
	}
	if first < 0 || phase < 0 {
		t.Error("fidelity: the adapter never served a value, or the HPA never scaled")
		return
	}
	served := func(at time.Duration) (float64, bool) {
		v, ok := 0.0, false
		for _, s := range samples {
			if s.at > at {
				break
			}
			if s.served >= 0 {
				v, ok = float64(s.served), true
			}
		}
		return v, ok
	}
	model := samples[first].replicas
	var trajectory []int32
	var times []time.Duration
	// lastScaleTime has whole seconds: the sync was within the second after.
	at := samples[first].at.Truncate(hpaSync) + phase + 500*time.Millisecond
	for ; at <= samples[len(samples)-1].at-2*time.Second; at += hpaSync {
		v, ok := served(at)
		in := &autoscale.Input{Now: at, SpecReplicas: model, Pods: make([]autoscale.Pod, model)}
		if ok {
			in.External = map[string]float64{"kis_desired_replicas": v}
		}
		model = h.Desired(in)
		trajectory = append(trajectory, model)
		times = append(times, at)
	}
	exact, near := 0, 0
	var diffs []string
	for i, at := range times {
		// The controller's write is seen at the next poll.
		got := replicasAt(samples, at+1500*time.Millisecond)
		switch {
		case got == trajectory[i]:
			exact++
			near++
		case (i > 0 && got == trajectory[i-1]) || (i+1 < len(times) && got == trajectory[i+1]):
			near++
			diffs = append(diffs, fmt.Sprintf("%v model %d controller %d (one sync apart)", at.Round(time.Second), trajectory[i], got))
		default:
			diffs = append(diffs, fmt.Sprintf("%v model %d controller %d", at.Round(time.Second), trajectory[i], got))
		}
	}
	if len(diffs) == 0 {
		diffs = []string{"none"}
	}
	t.Logf("sim HPA model vs kube-controller-manager: %d of %d syncs identical, %d within one sync; differences:\n  %s",
		exact, len(times), near, strings.Join(diffs, "\n  "))
	if float64(near) < 0.9*float64(len(times)) {
		t.Errorf("the sim's HPA model agrees with the real controller on only %d of %d syncs (within one sync)", near, len(times))
	}
}
