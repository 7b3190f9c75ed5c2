package gpuexporter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/kisproject/kis/gpuexporter/gpuexportertest"
)

// A cache holding Hugging Face hub repositories, complete and still
// downloading, beside a plain directory: each model is reported by the name
// a pod's gpu.kis.io/model annotation gives it, and only once complete.
func TestModelCacheLayouts(t *testing.T) {
	cache := t.TempDir()
	for _, path := range []string{
		"models--meta-llama--Llama-3.1-8B-Instruct/snapshots/0e9e39f249a16976918f6564b8830bc894c89659/",
		"models--meta-llama--Llama-3.1-8B-Instruct/blobs/d0ae06bf",
		"models--meta-llama--Llama-3.1-8B-Instruct/refs/main",
		"models--gpt2/snapshots/607a30d783dfa663caf39e06633721c8d4cfcd7e/",
		// A shard still downloading.
		"models--mistralai--Mistral-7B-v0.1/snapshots/26bca36bde8333b5d7f72e9ed20ccda6a618af24/",
		"models--mistralai--Mistral-7B-v0.1/blobs/9a3c5e.incomplete",
		// Resolved, nothing downloaded yet.
		"models--Qwen--Qwen2-7B/refs/main",
		"datasets--glue/snapshots/fd8e86499fa5c264fcaad392a8f49ddf58bf4037/",
		".locks/models--mistralai--Mistral-7B-v0.1/9a3c5e.lock",
		"resnet50-trt-fp16/1/",
		"version.txt",
	} {
		full := filepath.Join(cache, path)
		if strings.HasSuffix(path, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := New(gpuexportertest.Lib(nvml.SUCCESS), "n", cache, nil)
	if err := e.Init(); err != nil {
		t.Fatal(err)
	}
	var models []string
	for _, line := range strings.Split(exposition(t, e), "\n") {
		if strings.HasPrefix(line, MetricModelInfo+"{") {
			models = append(models, line)
		}
	}
	want := []string{
		MetricModelInfo + `{Hostname="n",model="gpt2"} 1`,
		MetricModelInfo + `{Hostname="n",model="meta-llama/Llama-3.1-8B-Instruct"} 1`,
		MetricModelInfo + `{Hostname="n",model="resnet50-trt-fp16"} 1`,
	}
	if strings.Join(models, "\n") != strings.Join(want, "\n") {
		t.Errorf("models reported:\n%s\nwant:\n%s", strings.Join(models, "\n"), strings.Join(want, "\n"))
	}
}
