// Package strictyaml decodes a YAML file into an API-style struct as the
// kube-apiserver's strict field validation does: an unknown field, or a
// key set twice in one mapping, is an error naming its path, never a value
// silently dropped. It also names the path of a .inf or .nan, which JSON,
// the step between YAML and the struct, cannot carry.
package strictyaml

import (
	"fmt"
	"math"
	"os"

	yamlv3 "go.yaml.in/yaml/v3"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Unmarshal decodes data's first document into v. The error holds every
// problem found, each with its field path.
func Unmarshal(data []byte, v any) error {
	// sigs.k8s.io/yaml keeps the last of a duplicated key and refuses a
	// .inf naming neither field nor line; the document's nodes have both.
	var doc yamlv3.Node
	if yamlv3.Unmarshal(data, &doc) == nil && len(doc.Content) > 0 {
		if errs := check(doc.Content[0], nil); len(errs) > 0 {
			return utilerrors.NewAggregate(errs)
		}
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return err
	}
	strictErrs, err := sigsjson.UnmarshalStrict(js, v)
	if err != nil {
		return err
	}
	return utilerrors.NewAggregate(strictErrs)
}

// UnmarshalFile decodes the YAML file at path into v, as Unmarshal does;
// a decoding error names the file.
func UnmarshalFile(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// check walks n, at path p (nil at the document's root). Aliases are not
// followed: their anchor is checked where it is defined, and following
// them would let a small document expand without bound.
func check(n *yamlv3.Node, p *field.Path) []error {
	var errs []error
	switch n.Kind {
	case yamlv3.ScalarNode:
		var f float64
		if p != nil && n.ShortTag() == "!!float" && n.Decode(&f) == nil && (math.IsInf(f, 0) || math.IsNaN(f)) {
			errs = append(errs, fmt.Errorf("line %d: %w", n.Line, field.Invalid(p, n.Value, "must be a finite number")))
		}
	case yamlv3.MappingNode:
		line := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i]
			child := field.NewPath(key.Value)
			if p != nil {
				child = p.Child(key.Value)
			}
			if first, dup := line[key.Value]; dup {
				errs = append(errs, fmt.Errorf("line %d: duplicate field %q (first set on line %d)", key.Line, child, first))
			} else {
				line[key.Value] = key.Line
			}
			errs = append(errs, check(n.Content[i+1], child)...)
		}
	case yamlv3.SequenceNode:
		for i, item := range n.Content {
			errs = append(errs, check(item, p.Index(i))...)
		}
	}
	return errs
}
