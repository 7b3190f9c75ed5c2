package policy

import (
	"bytes"
	_ "embed"
	"fmt"
)

// defaultModel is the model `make train` produces, embedded so that kis-sim
// and kis-adapter work without a model file.
//
//go:embed models/default.json
var defaultModel []byte

// DefaultModel decodes the embedded model.
func DefaultModel() (*Model, error) {
	m, err := ReadModel(bytes.NewReader(defaultModel))
	if err != nil {
		return nil, fmt.Errorf("embedded default model: %w", err)
	}
	return m, nil
}

// LoadModel returns the model in the file at path, or the embedded default
// for an empty path: the kis and kis:<file> scaler specs.
func LoadModel(path string) (*Model, error) {
	if path == "" {
		return DefaultModel()
	}
	return LoadModelFile(path)
}
