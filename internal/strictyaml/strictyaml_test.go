package strictyaml

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type spec struct {
	Name    string   `json:"name"`
	SLO     float64  `json:"slo"`
	Targets []target `json:"targets"`
}

type target struct {
	Weight float64 `json:"weight"`
}

func TestUnmarshalDecodes(t *testing.T) {
	var s spec
	if err := Unmarshal([]byte("name: a\nslo: 2.5\ntargets:\n- weight: 1e3\n- weight: -0.5\n"), &s); err != nil {
		t.Fatal(err)
	}
	if s.Name != "a" || s.SLO != 2.5 || len(s.Targets) != 2 || s.Targets[0].Weight != 1000 || s.Targets[1].Weight != -0.5 {
		t.Errorf("decoded %+v", s)
	}
}

// Each problem is named by its path and line; before this package the
// duplicates were silently the last value and .inf an error naming neither.
func TestUnmarshalNamesEveryProblem(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"unknown field", "name: a\nsl0: 2\n", []string{`unknown field "sl0"`}},
		{"duplicate field", "name: a\nslo: 2\nslo: 3\n", []string{`line 3: duplicate field "slo" (first set on line 2)`}},
		{"nested duplicate", "targets:\n- weight: 1\n  weight: 2\n", []string{`line 3: duplicate field "targets[0].weight" (first set on line 2)`}},
		{"infinity", "name: a\ntargets:\n- weight: 1\n- weight: .inf\n", []string{`line 4: targets[1].weight: Invalid value: ".inf": must be a finite number`}},
		{"negative infinity", "slo: -.Inf\n", []string{`line 1: slo: Invalid value: "-.Inf": must be a finite number`}},
		{"NaN", "slo: .nan\n", []string{`slo: Invalid value: ".nan"`}},
		{"all at once", "slo: .inf\nname: a\nname: b\n", []string{`slo: Invalid value: ".inf"`, `duplicate field "name"`}},
		{"not YAML", "name: [a\n", []string{"yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s spec
			err := Unmarshal([]byte(tc.doc), &s)
			if err == nil {
				t.Fatalf("decoded %+v, want an error", s)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

// A quoted ".inf" is a string, and an alias is checked where its anchor is
// defined, not again at each use.
func TestUnmarshalLeavesStringsAndAliases(t *testing.T) {
	var s spec
	if err := Unmarshal([]byte("name: \".inf\"\nslo: &s 2\ntargets:\n- weight: *s\n- weight: *s\n"), &s); err != nil {
		t.Fatal(err)
	}
	if s.Name != ".inf" || s.Targets[1].Weight != 2 {
		t.Errorf("decoded %+v", s)
	}
	err := Unmarshal([]byte("slo: &s .inf\ntargets:\n- weight: *s\n"), &s)
	if err == nil || strings.Count(err.Error(), "finite") != 1 {
		t.Errorf("error %v, want one non-finite number, at its anchor", err)
	}
}

// A file's problems are named with the file; a missing file is the
// operating system's error, which names it too.
func TestUnmarshalFile(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.yaml"), filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte("name: a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("name: a\nnmae: b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var s spec
	if err := UnmarshalFile(good, &s); err != nil || s.Name != "a" {
		t.Errorf("good file: %v, %+v", err, s)
	}
	if err := UnmarshalFile(bad, &s); err == nil || !strings.HasPrefix(err.Error(), bad+": ") || !strings.Contains(err.Error(), "nmae") {
		t.Errorf("bad file: %v", err)
	}
	if err := UnmarshalFile(filepath.Join(dir, "absent.yaml"), &s); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "absent.yaml") {
		t.Errorf("absent file: %v", err)
	}
}
