package sim_test

import (
	"testing"
	"time"

	"github.com/kisproject/kis/sim"
	"github.com/kisproject/kis/sim/workload"
)

func benchmarkRun(b *testing.B, cfg sim.Config) {
	b.Helper()
	b.ReportAllocs()
	var requests int64
	for b.Loop() {
		s, err := sim.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		r, err := s.Run(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		requests += r.Requests
	}
	b.ReportMetric(float64(requests)/b.Elapsed().Seconds(), "simreq/s")
}

// BenchmarkImageProfile measures simulated requests per CPU-second on the
// image profile: 10 simulated minutes of the periodic pattern, ~6.4M
// requests through 12 dynamically batching replicas.
func BenchmarkImageProfile(b *testing.B) {
	cfg := sim.DefaultConfig()
	cfg.Profile, _ = workload.LookupProfile("image")
	cfg.Scenario = "periodic:duration=10m"
	cfg.Scaler = "fixed:12"
	benchmarkRun(b, cfg)
}

// BenchmarkSimulatedHour is one simulated hour of the default scenario
// (LLM profile, spike pattern, default HPA): ns/op is its wall time.
func BenchmarkSimulatedHour(b *testing.B) {
	cfg := sim.DefaultConfig()
	if cfg.Duration != 0 {
		b.Fatalf("default duration %v: the benchmark assumes the pattern's own hour", cfg.Duration)
	}
	benchmarkRun(b, cfg)
}

// BenchmarkSimulatedHourLLMPeriodic is the busiest LLM pattern for an hour
// with the queue scaler, for comparison with the default scenario.
func BenchmarkSimulatedHourLLMPeriodic(b *testing.B) {
	cfg := sim.DefaultConfig()
	cfg.Scenario, cfg.Scaler, cfg.Duration = "periodic", "queue", time.Hour
	benchmarkRun(b, cfg)
}
