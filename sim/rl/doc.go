// Package rl trains KIScaler in KISim: it runs episodes in parallel with a
// policy that samples its actions, turns each sync interval's reward into
// PPO samples, and updates the policy (policy.Trainer).
package rl
