package cluster

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestDefaultSpecIsValid(t *testing.T) {
	s := Default()
	if len(s.NodePools) != 3 {
		t.Fatalf("default spec has %d pools, want 3", len(s.NodePools))
	}
	if got := s.NodePools[0].GPUMemory(); got != 80 {
		t.Errorf("H100 GPU memory = %v, want 80 (from the catalogue)", got)
	}
}

func TestParseErrorsNameFileLineAndField(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{
			name: "unknown field",
			yaml: "nodePools:\n- name: a\n  count: 1\n  gpuProdcut: NVIDIA-L4\n",
			want: "c.yaml: line 4: field gpuProdcut not found",
		},
		{
			name: "wrong type",
			yaml: "nodePools:\n- name: a\n  count: many\n",
			want: "c.yaml: line 3: cannot unmarshal !!str `many` into int",
		},
		{
			name: "bad count and product",
			yaml: "nodePools:\n- name: a\n  count: 0\n  gpuProduct: NVIDIA-Z9\n  gpusPerNode: 2\nstartup: {imagePullMBps: 1, remoteLoadMBps: 1, localLoadMBps: 1}\n",
			want: `c.yaml:3: nodePools[0].count: must be in [1, 5000], got 0; c.yaml:4: nodePools[0].gpuProduct: unknown GPU product "NVIDIA-Z9"`,
		},
		{
			name: "missing bandwidth",
			yaml: "nodePools:\n- {name: a, count: 1, gpuProduct: NVIDIA-L4, gpusPerNode: 1}\nstartup:\n  imagePullMBps: 10\n  localLoadMBps: 5\n",
			want: "c.yaml:3: startup.remoteLoadMBps: must be in [1, 1e+07] MB/s, got 0",
		},
		{
			name: "bad duration",
			yaml: "nodePools:\n- {name: a, count: 1}\nstartup:\n  containerStart: soon\n",
			want: `line 4: "soon" is not a duration`,
		},
		{name: "empty", yaml: "", want: "c.yaml: empty cluster spec"},
		// A node could not carry these labels, or gets them from the pool.
		{name: "a label key with a space", yaml: "nodePools:\n- {name: a, count: 1, gpuProduct: NVIDIA-L4, gpusPerNode: 1, labels: {\"bad key\": x}}\nstartup: {imagePullMBps: 1, remoteLoadMBps: 1, localLoadMBps: 1}\n", want: `c.yaml:2: nodePools[0].labels: key "bad key": name part must consist of alphanumeric characters`},
		{name: "a label value with a slash", yaml: "nodePools:\n- {name: a, count: 1, gpuProduct: NVIDIA-L4, gpusPerNode: 1, labels: {zone: a/b}}\nstartup: {imagePullMBps: 1, remoteLoadMBps: 1, localLoadMBps: 1}\n", want: `nodePools[0].labels: zone: value "a/b": a valid label must be`},
		{name: "a label the pool sets", yaml: "nodePools:\n- {name: a, count: 1, gpuProduct: NVIDIA-L4, gpusPerNode: 1, labels: {nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3}}\nstartup: {imagePullMBps: 1, remoteLoadMBps: 1, localLoadMBps: 1}\n", want: "nodePools[0].labels: nvidia.com/gpu.product is set on every node from the pool's name and GPUs"},
		{name: "an empty cached model", yaml: "nodePools:\n- {name: a, count: 1, gpuProduct: NVIDIA-L4, gpusPerNode: 1, cached: {models: [m, \"\"]}}\nstartup: {imagePullMBps: 1, remoteLoadMBps: 1, localLoadMBps: 1}\n", want: "nodePools[0].cached.models: entry 1 is empty"},
		// Before the bounds, each of these ran: .inf CPU overflowed the
		// scheduler's milli-CPUs and left every pod Pending, a NaN
		// bandwidth gave NaN start-up times, and 1e8 nodes never started.
		{name: "infinite cpu", yaml: "nodePools:\n- {name: a, count: 1, gpuProduct: NVIDIA-L4, gpusPerNode: 1, cpu: .inf}\nstartup: {imagePullMBps: 1, remoteLoadMBps: 1, localLoadMBps: 1}\n", want: "c.yaml:2: nodePools[0].cpu: must be in [0, 1.048576e+06], got +Inf"},
		{name: "NaN memory", yaml: "nodePools:\n- {name: a, count: 1, gpuProduct: NVIDIA-L4, gpusPerNode: 1, memoryGiB: .nan}\nstartup: {imagePullMBps: 1, remoteLoadMBps: 1, localLoadMBps: 1}\n", want: "nodePools[0].memoryGiB: must be in [0, 1.6777216e+07], got NaN"},
		{name: "NaN bandwidth", yaml: "nodePools:\n- {name: a, count: 1, gpuProduct: NVIDIA-L4, gpusPerNode: 1}\nstartup: {imagePullMBps: .nan, remoteLoadMBps: 1, localLoadMBps: 1}\n", want: "c.yaml:3: startup.imagePullMBps: must be in [1, 1e+07] MB/s, got NaN"},
		{name: "a century to start", yaml: "nodePools:\n- {name: a, count: 1, gpuProduct: NVIDIA-L4, gpusPerNode: 1}\nstartup: {imagePullMBps: 1, remoteLoadMBps: 1, localLoadMBps: 1, containerStart: 876000h}\n", want: "startup.containerStart: must be in [0, 24h0m0s], got 876000h0m0s"},
		{name: "too many nodes", yaml: "nodePools:\n- {name: a, count: 100000000, gpuProduct: NVIDIA-L4, gpusPerNode: 1}\nstartup: {imagePullMBps: 1, remoteLoadMBps: 1, localLoadMBps: 1}\n", want: "nodePools[0].count: must be in [1, 5000], got 100000000"},
		{name: "too many nodes in all", yaml: "nodePools:\n- {name: a, count: 4000, gpuProduct: NVIDIA-L4, gpusPerNode: 1}\n- {name: b, count: 4000}\nstartup: {imagePullMBps: 1, remoteLoadMBps: 1, localLoadMBps: 1}\n", want: "c.yaml:1: nodePools: 8000 nodes in all, more than Kubernetes' 5000"},
		{name: "too many GPUs a node", yaml: "nodePools:\n- {name: a, count: 1, gpuProduct: NVIDIA-L4, gpusPerNode: 65}\nstartup: {imagePullMBps: 1, remoteLoadMBps: 1, localLoadMBps: 1}\n", want: "nodePools[0].gpusPerNode: must be in [0, 64], got 65"},
		{name: "no GPUs", yaml: "nodePools:\n- {name: a, count: 1, cpu: 8}\nstartup: {imagePullMBps: 1, remoteLoadMBps: 1, localLoadMBps: 1}\n", want: "c.yaml:1: nodePools: no pool has GPUs, so no replica could run"},
		// yaml.v3 decodes these into an int without a word: 2 and 8.
		{name: "a fraction of a node", yaml: "nodePools:\n- {name: a, count: 2.5, gpuProduct: NVIDIA-L4, gpusPerNode: 1}\n", want: `c.yaml:2: nodePools[0].count: must be a whole number written in decimal, got "2.5"`},
		{name: "an octal count of GPUs", yaml: "nodePools:\n- name: a\n  count: 1\n  gpuProduct: NVIDIA-L4\n  gpusPerNode: 010\n", want: `c.yaml:5: nodePools[0].gpusPerNode: must be a whole number written in decimal, got "010"`},
		{name: "a pool name no node can have", yaml: "nodePools:\n- {name: H100 pool, count: 2, gpuProduct: NVIDIA-L4, gpusPerNode: 1}\nstartup: {imagePullMBps: 1, remoteLoadMBps: 1, localLoadMBps: 1}\n", want: "c.yaml:2: nodePools[0].name: its nodes are named H100 pool-0 to H100 pool-1: a lowercase RFC 1123 label"},
		{name: "node names over 63 characters", yaml: "nodePools:\n- {name: " + strings.Repeat("a", 60) + ", count: 200, gpuProduct: NVIDIA-L4, gpusPerNode: 1}\nstartup: {imagePullMBps: 1, remoteLoadMBps: 1, localLoadMBps: 1}\n", want: "-199: must be no more than 63 characters"},
		{name: "not yaml", yaml: "nodePools: [\n", want: "c.yaml: yaml: line 1: did not find expected node content"},
		{
			name: "duplicate pool",
			yaml: "nodePools:\n- {name: a, count: 1, gpuProduct: NVIDIA-L4, gpusPerNode: 1}\n- {name: a, count: 1}\nstartup: {imagePullMBps: 1, remoteLoadMBps: 1, localLoadMBps: 1}\n",
			want: `c.yaml:3: nodePools[1].name: duplicate pool name "a"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

// wholeNumberErrors checks every int field of a pool.
func TestPoolIntFieldsAreListed(t *testing.T) {
	var ints []string
	pool := reflect.TypeFor[NodePool]()
	for i := range pool.NumField() {
		if f := pool.Field(i); f.Type.Kind() == reflect.Int {
			ints = append(ints, f.Tag.Get("yaml"))
		}
	}
	if !slices.Equal(ints, poolIntFields) {
		t.Errorf("NodePool's int fields are %v; poolIntFields lists %v", ints, poolIntFields)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(DefaultYAML())
	f.Add([]byte("nodePools:\n- {name: a, count: 1}\n"))
	f.Add([]byte("startup: {containerStart: 1h}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err == nil && len(s.NodePools) == 0 {
			t.Fatal("accepted a spec without node pools")
		}
	})
}

// A spec path that names something else is refused by its size, not read
// into memory.
func TestLoadRefusesAHugeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(path, DefaultYAML(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, maxSpecBytes+1); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || err.Error() != "reading cluster spec: "+path+": larger than 16777216 bytes" {
		t.Errorf("error %v, want one naming the file and the bound", err)
	}
}

// The example spec docs/results.md measures with is the embedded default
// but for keepFetched.
func TestKeepFetchedExampleIsTheDefault(t *testing.T) {
	got, err := Load(filepath.Join("examples", "default-keep-fetched.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Startup.KeepFetched {
		t.Error("keepFetched is not set")
	}
	want := Default()
	want.Startup.KeepFetched = true
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the example differs from the default spec by more than keepFetched:\n got %+v\nwant %+v", got, want)
	}
}
