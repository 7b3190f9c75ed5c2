package workload

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/kisproject/kis/policy"
)

// Kind selects the serving model a profile uses.
type Kind string

const (
	// LLM is token-level continuous batching (vLLM): a request is prefilled,
	// then decodes one token per engine step alongside the others in the batch.
	LLM Kind = "llm"
	// Image is request-level dynamic batching (Triton): queued requests are
	// gathered into one batch whose execution time grows with its size.
	Image Kind = "image"
)

// GPU is one GPU product. Speed is relative to the A100, the reference the
// profiles' timings were measured on; a replica on a GPU with speed s takes
// 1/s times as long for the same work.
type GPU struct {
	Product   string
	MemoryGiB float64
	Speed     float64
}

// GPUs is the catalogue of products a cluster spec may name. Speed is the
// memory bandwidth ratio to the A100 80GB (2.0 TB/s), because LLM decode,
// which dominates serving time, is bandwidth-bound; the H100 uses the
// measured ~2x of vLLM benchmarks instead (docs/calibration.md).
var GPUs = map[string]GPU{
	"NVIDIA-T4":             {Product: "NVIDIA-T4", MemoryGiB: 16, Speed: 320.0 / 2000},
	"NVIDIA-L4":             {Product: "NVIDIA-L4", MemoryGiB: 24, Speed: 300.0 / 2000},
	"NVIDIA-A100-SXM4-80GB": {Product: "NVIDIA-A100-SXM4-80GB", MemoryGiB: 80, Speed: 1},
	"NVIDIA-H100-80GB-HBM3": {Product: "NVIDIA-H100-80GB-HBM3", MemoryGiB: 80, Speed: 2},
}

// LookupGPU returns the catalogue entry for product or an error listing the
// known ones.
func LookupGPU(product string) (GPU, error) {
	g, ok := GPUs[product]
	if !ok {
		known := make([]string, 0, len(GPUs))
		for k := range GPUs {
			known = append(known, k)
		}
		sort.Strings(known)
		return GPU{}, fmt.Errorf("unknown GPU product %q (known: %s)", product, strings.Join(known, ", "))
	}
	return g, nil
}

// TokenDist is a log-normal token count, clamped to [Min, Max].
type TokenDist struct {
	Median float64
	Sigma  float64
	Min    int32
	Max    int32
}

// Sample draws one count.
func (d TokenDist) Sample(rng *rand.Rand) int32 {
	v := int32(math.Round(d.Median * math.Exp(d.Sigma*rng.NormFloat64())))
	return min(max(v, d.Min), d.Max)
}

// Profile is a served model and the cost model of its server. Durations are
// on the reference GPU (speed 1).
type Profile struct {
	Name    string
	Kind    Kind
	Metrics policy.MetricSet

	// Model and ServingImage name what a node can have cached.
	Model        string
	ServingImage string
	// ModelGiB is the weights' size, ImageGiB the container image's,
	// GPUMemoryGiB what one replica needs on its GPU (weights + cache).
	ModelGiB     float64
	ImageGiB     float64
	GPUMemoryGiB float64
	// CPU and MemoryGiB are the pod's CPU and memory requests.
	CPU       float64
	MemoryGiB float64
	// EngineInit is the time from weights-in-GPU to serving (CUDA graph
	// capture, warm-up).
	EngineInit time.Duration

	// MaxBatch is the most requests a replica serves at once.
	MaxBatch int

	// Image kind: a batch of n takes BatchBase + n*BatchPerItem.
	BatchBase    time.Duration
	BatchPerItem time.Duration

	// LLM kind: a request's prompt takes PrefillPerToken per input token (the
	// batch stalls meanwhile); each decode step of a batch of n takes
	// DecodeBase + (n-1)*DecodePerSeq and yields one token per request.
	PrefillPerToken time.Duration
	DecodeBase      time.Duration
	DecodePerSeq    time.Duration
	// InputTokens and OutputTokens shape synthetic requests (a trace brings
	// its own).
	InputTokens  TokenDist
	OutputTokens TokenDist

	// SLO is the end-to-end latency a request must meet; Timeout is how long
	// it may wait in a queue before the client gives up.
	SLO     time.Duration
	Timeout time.Duration
}

// Profiles returns the built-in profiles by name. It returns fresh values:
// callers may modify them.
func Profiles() map[string]Profile {
	return map[string]Profile{
		"llm": {
			Name:            "llm",
			Kind:            LLM,
			Metrics:         policy.VLLM,
			Model:           "meta-llama/Llama-3.1-8B-Instruct",
			ServingImage:    "vllm/vllm-openai:v0.8.5",
			ModelGiB:        16,
			ImageGiB:        8,
			GPUMemoryGiB:    22,
			CPU:             8,
			MemoryGiB:       64,
			EngineInit:      64 * time.Second,
			MaxBatch:        32,
			PrefillPerToken: 100 * time.Microsecond,
			DecodeBase:      13300 * time.Microsecond,
			DecodePerSeq:    410 * time.Microsecond,
			InputTokens:     TokenDist{Median: 512, Sigma: 0.6, Min: 16, Max: 4096},
			OutputTokens:    TokenDist{Median: 128, Sigma: 0.5, Min: 8, Max: 400},
			SLO:             10 * time.Second,
			Timeout:         60 * time.Second,
		},
		"image": {
			Name:         "image",
			Kind:         Image,
			Metrics:      policy.Triton,
			Model:        "resnet50-trt-fp16",
			ServingImage: "nvcr.io/nvidia/tritonserver:24.08-py3",
			ModelGiB:     0.1,
			ImageGiB:     6,
			GPUMemoryGiB: 2,
			CPU:          4,
			MemoryGiB:    8,
			EngineInit:   5 * time.Second,
			MaxBatch:     32,
			BatchBase:    1500 * time.Microsecond,
			BatchPerItem: 500 * time.Microsecond,
			SLO:          100 * time.Millisecond,
			Timeout:      2 * time.Second,
		},
	}
}

// LookupProfile returns the built-in profile name.
func LookupProfile(name string) (Profile, error) {
	p, ok := Profiles()[name]
	if !ok {
		return Profile{}, fmt.Errorf("unknown profile %q (known: image, llm)", name)
	}
	return p, nil
}

// DecodeStep is the time of one decode step with n requests in the batch.
func (p *Profile) DecodeStep(n int) time.Duration {
	return p.DecodeBase + time.Duration(n-1)*p.DecodePerSeq
}

// Capacity is the request rate one replica on a GPU of the given speed
// sustains when its batch holds fill of MaxBatch requests, for requests of
// the profile's median size. Baselines use it to turn a forecast rate into
// replicas; 0 < fill <= 1.
func (p *Profile) Capacity(speed, fill float64) float64 {
	n := max(1, int(math.Round(fill*float64(p.MaxBatch))))
	switch p.Kind {
	case Image:
		batch := p.BatchBase + time.Duration(n)*p.BatchPerItem
		return float64(n) / batch.Seconds() * speed
	default:
		// Each request holds a slot for its prefill and OutputTokens steps.
		perRequest := time.Duration(p.InputTokens.Median)*p.PrefillPerToken +
			time.Duration(p.OutputTokens.Median)*p.DecodeStep(n)
		return float64(n) / perRequest.Seconds() * speed
	}
}
