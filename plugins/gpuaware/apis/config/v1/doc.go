// Package v1 is the versioned, user-facing form of the GPUAware plugin's
// arguments (kubescheduler.config.k8s.io pluginConfig args), with defaults
// and conversion to the internal form.
package v1
