// Package traffic generates request arrivals: the parameterised patterns
// (ramp, periodic, random, spike) as non-homogeneous Poisson processes, and
// replay of recorded traces.
package traffic
