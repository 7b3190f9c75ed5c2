package cluster

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kisproject/kis/internal/boundedio"
	"github.com/kisproject/kis/sim/workload"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML is the embedded default spec, for printing and as an example.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// Spec is a simulated cluster.
type Spec struct {
	NodePools []NodePool `yaml:"nodePools"`
	Startup   Startup    `yaml:"startup"`
}

// NodePool is Count identical nodes.
type NodePool struct {
	Name        string `yaml:"name"`
	Count       int    `yaml:"count"`
	GPUProduct  string `yaml:"gpuProduct"`
	GPUsPerNode int    `yaml:"gpusPerNode"`
	// GPUMemoryGiB overrides the product's memory (e.g. a MIG slice).
	GPUMemoryGiB float64           `yaml:"gpuMemoryGiB"`
	CPU          float64           `yaml:"cpu"`
	MemoryGiB    float64           `yaml:"memoryGiB"`
	Labels       map[string]string `yaml:"labels"`
	Cached       Cache             `yaml:"cached"`
}

// Cache lists what every node of a pool holds on local disk.
type Cache struct {
	Images []string `yaml:"images"`
	Models []string `yaml:"models"`
}

// Startup is how long the steps of a pod's start take.
type Startup struct {
	SchedulingDelay Duration `yaml:"schedulingDelay"`
	ContainerStart  Duration `yaml:"containerStart"`
	// Bandwidths in MB/s (1 MB = 1e6 bytes): pulling the serving image from
	// a registry, loading weights from remote storage, and from local disk.
	ImagePullMBps  float64 `yaml:"imagePullMBps"`
	RemoteLoadMBps float64 `yaml:"remoteLoadMBps"`
	LocalLoadMBps  float64 `yaml:"localLoadMBps"`
	// KeepFetched makes a node keep what its replicas fetch: the serving
	// image once a replica has pulled it, the weights once a replica has
	// loaded them, as the kubelet keeps pulled images and
	// manifests/examples' hostPath volume keeps the weights. The next
	// replica on that node starts from its disk. Off, a node holds only its
	// pool's cached lists for the whole run.
	KeepFetched bool `yaml:"keepFetched"`
}

// Duration is a time.Duration written as a Go duration string ("1.5s").
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (e.g. 1.5s)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// Default returns the embedded default spec.
func Default() *Spec {
	s, err := Parse("default.yaml", defaultYAML)
	if err != nil {
		panic(fmt.Sprintf("embedded cluster spec is invalid: %v", err))
	}
	return s
}

// maxSpecBytes bounds a spec file: 5,000 nodes in pools of one each is
// under a megabyte.
const maxSpecBytes = 16 << 20

// Load reads and validates a spec file.
func Load(path string) (*Spec, error) {
	data, err := boundedio.ReadFile(path, maxSpecBytes)
	if err != nil {
		return nil, fmt.Errorf("reading cluster spec: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes a spec strictly (unknown fields are errors) and validates it.
// Errors read "name:line: field: problem".
func Parse(name string, data []byte) (*Spec, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %s", name, oneLine(err))
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("%s: empty cluster spec", name)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %s", name, oneLine(err))
	}
	errs := wholeNumberErrors(&root)
	if len(errs) == 0 {
		errs = s.validate()
	}
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = fmt.Sprintf("%s:%d: %s: %s", name, lineOf(&root, e.path), e.path, e.msg)
		}
		return nil, errors.New(strings.Join(msgs, "; "))
	}
	return &s, nil
}

// poolIntFields are NodePool's int fields, by their YAML keys.
var poolIntFields = []string{"count", "gpusPerNode"}

// decimalRE is how a whole number is written in a spec.
var decimalRE = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// wholeNumberErrors finds the pools' int fields not written as decimal
// whole numbers, which yaml.v3 would decode without a word: 2.5 as 2, and
// 010 as octal 8.
func wholeNumberErrors(root *yaml.Node) []fieldError {
	_, pools := mappingEntry(root.Content[0], "nodePools")
	if pools == nil || pools.Kind != yaml.SequenceNode {
		return nil
	}
	var errs []fieldError
	for i, pool := range pools.Content {
		for _, f := range poolIntFields {
			_, v := mappingEntry(pool, f)
			if v != nil && v.Kind == yaml.AliasNode {
				v = v.Alias
			}
			if v != nil && v.Kind == yaml.ScalarNode && !decimalRE.MatchString(v.Value) {
				errs = append(errs, fieldError{fmt.Sprintf("nodePools[%d].%s", i, f), fmt.Sprintf("must be a whole number written in decimal, got %q", v.Value)})
			}
		}
	}
	return errs
}

// oneLine flattens yaml's multi-line error lists.
func oneLine(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n")
	fields := strings.Fields(s)
	return strings.Join(fields, " ")
}

type fieldError struct{ path, msg string }

func (s *Spec) validate() []fieldError {
	var errs []fieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, fieldError{path, fmt.Sprintf(format, args...)})
	}
	if len(s.NodePools) == 0 {
		add("nodePools", "at least one node pool is required")
	}
	names := map[string]bool{}
	nodes, gpus := 0, 0
	for i, p := range s.NodePools {
		at := func(f string) string { return fmt.Sprintf("nodePools[%d].%s", i, f) }
		switch {
		case p.Name == "":
			add(at("name"), "required")
		case names[p.Name]:
			add(at("name"), "duplicate pool name %q", p.Name)
		default:
			// Nodes are named <pool>-<index>; the name is each node's
			// kubernetes.io/hostname label too, so it must be a label.
			last := fmt.Sprintf("%s-%d", p.Name, max(p.Count, 1)-1)
			for _, msg := range validation.IsDNS1123Label(last) {
				add(at("name"), "its nodes are named %s-0 to %s: %s", p.Name, last, msg)
			}
		}
		names[p.Name] = true
		if p.Count <= 0 || p.Count > MaxNodes {
			add(at("count"), "must be in [1, %d], got %d", MaxNodes, p.Count)
		} else {
			nodes += p.Count
		}
		if p.GPUsPerNode < 0 || p.GPUsPerNode > MaxGPUsPerNode {
			add(at("gpusPerNode"), "must be in [0, %d], got %d", MaxGPUsPerNode, p.GPUsPerNode)
		} else {
			gpus += p.GPUsPerNode
		}
		if p.GPUsPerNode > 0 {
			if _, err := workload.LookupGPU(p.GPUProduct); err != nil {
				add(at("gpuProduct"), "%v", err)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(p.Labels)) {
			for _, msg := range validation.IsQualifiedName(k) {
				add(at("labels"), "key %q: %s", k, msg)
			}
			for _, msg := range validation.IsValidLabelValue(p.Labels[k]) {
				add(at("labels"), "%s: value %q: %s", k, p.Labels[k], msg)
			}
			if slices.Contains(ReservedLabels, k) {
				add(at("labels"), "%s is set on every node from the pool's name and GPUs", k)
			}
		}
		for _, list := range []struct {
			name  string
			items []string
		}{{"cached.images", p.Cached.Images}, {"cached.models", p.Cached.Models}} {
			if i := slices.Index(list.items, ""); i >= 0 {
				add(at(list.name), "entry %d is empty", i)
			}
		}
		// Bounded so that the scheduler's quantities (milli-CPUs and bytes
		// in an int64) hold them.
		for _, f := range []struct {
			name   string
			v, max float64
		}{{"gpuMemoryGiB", p.GPUMemoryGiB, maxGPUMemoryGiB}, {"cpu", p.CPU, maxCPU}, {"memoryGiB", p.MemoryGiB, maxMemoryGiB}} {
			if !(f.v >= 0 && f.v <= f.max) {
				add(at(f.name), "must be in [0, %g], got %v", f.max, f.v)
			}
		}
	}
	if nodes > MaxNodes {
		add("nodePools", "%d nodes in all, more than Kubernetes' %d", nodes, MaxNodes)
	}
	if len(s.NodePools) > 0 && gpus == 0 {
		add("nodePools", "no pool has GPUs, so no replica could run")
	}
	st := s.Startup
	for _, f := range []struct {
		name string
		v    float64
	}{{"imagePullMBps", st.ImagePullMBps}, {"remoteLoadMBps", st.RemoteLoadMBps}, {"localLoadMBps", st.LocalLoadMBps}} {
		if !(f.v >= minMBps && f.v <= maxMBps) {
			add("startup."+f.name, "must be in [%g, %g] MB/s, got %v", minMBps, maxMBps, f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    Duration
	}{{"schedulingDelay", st.SchedulingDelay}, {"containerStart", st.ContainerStart}} {
		if f.v < 0 || time.Duration(f.v) > maxStartupStep {
			add("startup."+f.name, "must be in [0, %v], got %v", maxStartupStep, time.Duration(f.v))
		}
	}
	return errs
}

// ReservedLabels are set on every node from its pool's other fields (the
// node's name, gpuProduct and the GPU memory), as the kubelet and NVIDIA GPU
// feature discovery set them; a pool's labels may not.
var ReservedLabels = []string{"kubernetes.io/hostname", "nvidia.com/gpu.product", "nvidia.com/gpu.memory"}

// Bounds of a spec. MaxNodes is Kubernetes' supported cluster size
// (docs/calibration.md); MaxGPUsPerNode fits eight GPUs split into seven
// MIG slices each. The others are far past any node while keeping every
// derived quantity and start-up time finite and in range.
const (
	MaxNodes                = 5000
	MaxGPUsPerNode          = 64
	maxGPUMemoryGiB         = 1 << 14
	maxCPU                  = 1 << 20
	maxMemoryGiB            = 1 << 24
	minMBps         float64 = 1
	maxMBps                 = 1e7
	maxStartupStep          = 24 * time.Hour
)

// lineOf finds the line of a path like "nodePools[1].count" in the parsed
// document, falling back to the deepest ancestor that exists.
func lineOf(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, part := range strings.Split(path, ".") {
		key, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 {
			key = part[:i]
			idx, _ = strconv.Atoi(strings.TrimSuffix(part[i+1:], "]"))
		}
		keyNode, next := mappingEntry(n, key)
		if next == nil {
			return line
		}
		n, line = next, keyNode.Line
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		}
	}
	return line
}

func mappingEntry(n *yaml.Node, key string) (keyNode, value *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

// GPUMemory is the per-GPU memory of a pool's nodes.
func (p *NodePool) GPUMemory() float64 {
	if p.GPUMemoryGiB > 0 {
		return p.GPUMemoryGiB
	}
	g, _ := workload.LookupGPU(p.GPUProduct)
	return g.MemoryGiB
}

// GPUSpeed is the relative speed of a pool's GPUs (0 for GPU-less pools).
func (p *NodePool) GPUSpeed() float64 {
	g, _ := workload.LookupGPU(p.GPUProduct)
	return g.Speed
}
