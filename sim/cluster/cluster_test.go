package cluster

import (
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
			want: `c.yaml:3: nodePools[0].count: must be > 0, got 0; c.yaml:4: nodePools[0].gpuProduct: unknown GPU product "NVIDIA-Z9"`,
		},
		{
			name: "missing bandwidth",
			yaml: "nodePools:\n- {name: a, count: 1}\nstartup:\n  imagePullMBps: 10\n  localLoadMBps: 5\n",
			want: "c.yaml:3: startup.remoteLoadMBps: must be > 0, got 0",
		},
		{
			name: "bad duration",
			yaml: "nodePools:\n- {name: a, count: 1}\nstartup:\n  containerStart: soon\n",
			want: `line 4: "soon" is not a duration`,
		},
		{name: "empty", yaml: "", want: "c.yaml: empty cluster spec"},
		{name: "not yaml", yaml: "nodePools: [\n", want: "c.yaml: yaml: line 1: did not find expected node content"},
		{
			name: "duplicate pool",
			yaml: "nodePools:\n- {name: a, count: 1}\n- {name: a, count: 1}\nstartup: {imagePullMBps: 1, remoteLoadMBps: 1, localLoadMBps: 1}\n",
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
