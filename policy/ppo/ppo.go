package ppo

import "math"

// GAE computes generalised advantage estimates (Schulman et al. 2016) for
// one trajectory of T steps: rewards[t], values[t] = V(s_t), done[t] when
// the episode ended after step t, and last = V(s_T) to bootstrap from.
//
//	delta_t = r_t + gamma * V(s_{t+1}) * (1 - done_t) - V(s_t)
//	A_t     = delta_t + gamma * lambda * (1 - done_t) * A_{t+1}
//
// It writes the advantages and the value targets A_t + V(s_t) into adv and
// ret, which must have length T.
func GAE(rewards, values []float64, done []bool, last, gamma, lambda float64, adv, ret []float64) {
	next, nextValue := 0.0, last
	for t := len(rewards) - 1; t >= 0; t-- {
		notDone := 1.0
		if done[t] {
			notDone = 0
		}
		delta := rewards[t] + gamma*nextValue*notDone - values[t]
		next = delta + gamma*lambda*notDone*next
		adv[t] = next
		ret[t] = next + values[t]
		nextValue = values[t]
	}
}

// ClippedSurrogate is PPO's clipped objective for one sample (to be
// maximised), and its derivative with respect to the new log-probability:
//
//	ratio = exp(logp - oldLogp)
//	L     = min(ratio * A, clip(ratio, 1-eps, 1+eps) * A)
//	dL/dlogp = ratio * A where the unclipped term is the minimum, else 0
func ClippedSurrogate(logp, oldLogp, advantage, eps float64) (objective, grad float64) {
	ratio := math.Exp(logp - oldLogp)
	unclipped := ratio * advantage
	clipped := math.Max(1-eps, math.Min(1+eps, ratio)) * advantage
	if unclipped <= clipped {
		return unclipped, unclipped
	}
	return clipped, 0
}
