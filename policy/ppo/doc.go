// Package ppo trains KIScaler's policy.Model with proximal policy
// optimisation: GAE, the clipped surrogate, Adam. The loss gradient is
// backpropagated by hand or, on request, taken from gorgonia's symbolic
// differentiation of the same loss; both write the model's own weights.
// Only training imports this package: inference needs nothing but
// package policy.
package ppo
