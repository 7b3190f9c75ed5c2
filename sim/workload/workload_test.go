package workload

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestCapacity(t *testing.T) {
	llm, _ := LookupProfile("llm")
	// Fill 0.75 of 32 = 24 requests. Decode step 13.3 + 23*0.41 = 22.73 ms.
	// A median request holds a slot for 512*0.1 ms of prefill plus
	// 128*22.73 ms of decode = 2960.64 ms, so 24 slots serve 24/2.96064 req/s.
	if got, want := llm.Capacity(1, 0.75), 24/2.96064; math.Abs(got-want) > 1e-9 {
		t.Errorf("LLM capacity = %v, want %v", got, want)
	}
	// On a GPU twice as fast, twice the rate.
	if got, want := llm.Capacity(2, 0.75), 2*24/2.96064; math.Abs(got-want) > 1e-9 {
		t.Errorf("LLM capacity at speed 2 = %v, want %v", got, want)
	}
	img, _ := LookupProfile("image")
	// Batch of 24: 1.5 + 24*0.5 = 13.5 ms, so 24/0.0135 = 1777.8 req/s.
	if got, want := img.Capacity(1, 0.75), 24/0.0135; math.Abs(got-want) > 1e-6 {
		t.Errorf("image capacity = %v, want %v", got, want)
	}
}

func TestTokenDistIsClamped(t *testing.T) {
	d := TokenDist{Median: 100, Sigma: 3, Min: 10, Max: 200}
	rng := rand.New(rand.NewPCG(1, 1))
	for range 10000 {
		if v := d.Sample(rng); v < 10 || v > 200 {
			t.Fatalf("sample %d outside [10, 200]", v)
		}
	}
}

func TestLookupErrorsListKnownNames(t *testing.T) {
	if _, err := LookupGPU("NVIDIA-Z9"); err == nil || !strings.Contains(err.Error(), "NVIDIA-L4") {
		t.Errorf("LookupGPU error = %v, want the known products listed", err)
	}
	if _, err := LookupProfile("video"); err == nil || !strings.Contains(err.Error(), "image, llm") {
		t.Errorf("LookupProfile error = %v", err)
	}
}
