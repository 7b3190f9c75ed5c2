// Package config holds the internal (unversioned) arguments of the GPUAware
// scheduler plugin. Users write the versioned form in package v1.
package config
