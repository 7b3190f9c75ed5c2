package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kisproject/kis/plugins/gpuaware"
)

// fakePrometheus answers /api/v1/query with a canned vector per query.
type fakePrometheus struct {
	mu      sync.Mutex
	vectors map[string]string
	down    atomic.Bool
}

func (f *fakePrometheus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.down.Load() {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	result, ok := f.vectors[r.Form.Get("query")]
	f.mu.Unlock()
	if !ok {
		result = "[]"
	}
	fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":%s}}`, result)
}

func series(labels, value string) string {
	return fmt.Sprintf(`{"metric":{%s},"value":[1767268800,%q]}`, labels, value)
}

func vector(s ...string) string { return "[" + strings.Join(s, ",") + "]" }

func TestRefresh(t *testing.T) {
	fake := &fakePrometheus{vectors: map[string]string{
		timestampQuery: vector(series(`"Hostname":"gpu-a"`, "1767268790.5"), series(`"Hostname":"gpu-b"`, "1767268795"), series(`"Hostname":"gpu-c"`, "1767268795")),
		utilQuery:      vector(series(`"Hostname":"gpu-a"`, "42.5"), series(`"Hostname":"gpu-b"`, "NaN"), series(`"Hostname":"gpu-c"`, "10")),
		memoryQuery:    vector(series(`"Hostname":"gpu-a"`, "0.25"), series(`"Hostname":"gpu-c"`, "1.5"), series(`"Hostname":"ghost"`, "0.1")),
		modelsQuery:    vector(series(`"Hostname":"gpu-a","model":"llama"`, "1"), series(`"Hostname":"gpu-a"`, "1")),
	}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	p, err := NewPrometheus(srv.URL, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Refresh(context.Background())
	// Garbage is reported, per series, and does not stop the good data.
	for _, want := range []string{"gpu utilisation: node gpu-b: value NaN outside [0, 100]", "gpu memory: node gpu-c: value 1.5 outside [0, 1]", "lacks Hostname or model"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Refresh error %v: want it to contain %q", err, want)
		}
	}
	got, ok := p.NodeTelemetry("gpu-a")
	want := gpuaware.NodeTelemetry{GPUUtilPercent: 42.5, GPUMemoryUsedFraction: 0.25, CachedModels: []string{"llama"}, Timestamp: time.Unix(1767268790, 5e8)}
	if !ok {
		t.Fatal("no telemetry for gpu-a")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("gpu-a (-want,+got):\n%s", diff)
	}
	// gpu-b's utilisation was NaN: it keeps the zero value, not garbage.
	if b, _ := p.NodeTelemetry("gpu-b"); b.GPUUtilPercent != 0 {
		t.Errorf("gpu-b utilisation = %v, want 0 (NaN dropped)", b.GPUUtilPercent)
	}
	// A node with memory but no dated samples is not invented.
	if _, ok := p.NodeTelemetry("ghost"); ok {
		t.Error("telemetry for a node without GPU_UTIL samples")
	}

	// Prometheus down: the refresh fails and the last data stays.
	fake.down.Store(true)
	if err := p.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh succeeded against a failing Prometheus")
	}
	if _, ok := p.NodeTelemetry("gpu-a"); !ok {
		t.Error("a failed refresh dropped the last good data")
	}
}

// Run refreshes in its own goroutine while the plugin reads: the race
// detector checks the cache's locking (make test runs this under -race).
func TestRunWhileReading(t *testing.T) {
	fake := &fakePrometheus{vectors: map[string]string{
		timestampQuery: vector(series(`"Hostname":"n"`, "1767268790")),
		utilQuery:      vector(series(`"Hostname":"n"`, "50")),
	}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	p, _ := NewPrometheus(srv.URL, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		p.Run(ctx, time.Millisecond)
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got, ok := p.NodeTelemetry("n"); ok && got.GPUUtilPercent == 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run never filled the cache")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
}

func TestNewPrometheusRefusesAnAddressThatIsNotAURL(t *testing.T) {
	for _, url := range []string{"prometheus:9090", "http:///api", "ftp://p:21"} {
		if _, err := NewPrometheus(url, time.Second); err == nil || !strings.Contains(err.Error(), "must be an http or https URL with a host") {
			t.Errorf("NewPrometheus(%q) error = %v", url, err)
		}
	}
}
