// Package workload describes what a simulated inference server costs: the
// built-in serving profiles (LLM with continuous batching, image
// classification with dynamic batching), the GPU products they run on and
// how fast each is. docs/calibration.md gives the source of every number.
package workload
