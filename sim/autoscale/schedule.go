package autoscale

import (
	"fmt"
	"strconv"
	"time"

	"github.com/kisproject/kis/sim/traffic"
)

// Schedule knows when a pattern's load may jump, but not how far: the
// windows of its jumps (traffic.Pattern.Jumps), which follow from the
// pattern's parameters, and nothing that was drawn. From one lead time
// before a window opens until the jump is over it holds High replicas; in
// between it sizes the fleet for the load Prometheus shows. It is the
// causal scaler with the most foresight a pattern allows, and measures what
// knowing the pattern would be worth to a scaler that sees only the past;
// it is not one to deploy, since real traffic keeps no such schedule.
type Schedule struct {
	name     string
	env      Env
	high     int32
	headroom float64
	lead     time.Duration
	// sizes keeps the fleet between holds at the highest size it asked for
	// in the last stabilize window, so that a gauge hovering at a replica
	// boundary does not add and remove a replica every other sync. A hold
	// asks for none, so it leaves no high behind.
	sizes windowMax
	// next is the first jump not yet over; rose records that the load has
	// been seen above its Over rate.
	next int
	rose bool
}

// scheduleSettle is how long after a level change's window Schedule waits
// before sizing for the new level: one scrape, so that the outstanding
// requests it sizes by show it.
const scheduleSettle = 15 * time.Second

func newSchedule(spec, args string, env Env) (*Schedule, error) {
	if len(env.Jumps) == 0 {
		return nil, fmt.Errorf("scaler %q: the scenario has no jumps to schedule (only the spike and random patterns do)", spec)
	}
	if !(env.Capacity > 0) || env.MaxBatch < 1 {
		return nil, fmt.Errorf("scaler %q needs a replica capacity > 0 and a batch size >= 1", spec)
	}
	s := &Schedule{name: spec, env: env, headroom: 0.8, lead: env.Lead}
	usage := fmt.Errorf("scaler %q: want schedule:high=<replicas>[,headroom=<0 < f <= %g>][,lead=<duration >= 0>][,stabilize=<duration >= 0>]", spec, float64(maxHeadroom))
	params, err := scalerParams(spec, args, usage, "high", "headroom", "lead", "stabilize")
	if err != nil {
		return nil, err
	}
	v, set := params["high"]
	if !set {
		return nil, usage
	}
	high, err := strconv.Atoi(v)
	if err != nil || high < int(env.MinReplicas) || high > int(env.MaxReplicas) {
		return nil, fmt.Errorf("scaler %q: high must be a replica count in [%d, %d]", spec, env.MinReplicas, env.MaxReplicas)
	}
	s.high = int32(high)
	if v, set := params["headroom"]; set {
		var ok bool
		if s.headroom, ok = parseHeadroom(v); !ok {
			return nil, usage
		}
	}
	if v, set := params["lead"]; set {
		if s.lead, err = parseDurationArg(spec, "lead", v); err != nil {
			return nil, err
		}
	}
	if v, set := params["stabilize"]; set {
		if s.sizes.window, err = parseDurationArg(spec, "stabilize", v); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Name implements Autoscaler.
func (s *Schedule) Name() string { return s.name }

// Desired implements Autoscaler.
func (s *Schedule) Desired(in *Input) int32 {
	for s.next < len(s.env.Jumps) {
		j := s.env.Jumps[s.next]
		if in.Now < j.From-s.lead {
			break
		}
		if !s.over(j, in) {
			return s.high
		}
		s.next++
		s.rose = false
	}
	return min(s.high, s.sizes.add(in.Now, s.sized(in)))
}

// over reports whether jump j has passed: a spike once the load has risen
// above j.Over and fallen back, any jump once its window has closed.
func (s *Schedule) over(j traffic.Jump, in *Input) bool {
	if j.Over > 0 {
		if in.Obs.RequestRate > j.Over {
			s.rose = true
		} else if s.rose {
			return true
		}
	}
	return in.Now >= j.To+scheduleSettle
}

// sized is the fleet for the load as Prometheus shows it: the request rate
// over the reference capacity, scaled by headroom, or the outstanding
// requests at half a batch per replica, whichever asks more. The rate is a
// one-minute rate() of scrapes and shows a new level a minute late; the
// outstanding requests are a gauge and show it at the next scrape.
func (s *Schedule) sized(in *Input) int32 {
	byRate := ceilReplicas(s.headroom * in.Obs.RequestRate / s.env.Capacity)
	byOutstanding := ceilReplicas((in.Obs.Waiting + in.Obs.Running) / (float64(s.env.MaxBatch) / 2))
	return clamp(max(byRate, byOutstanding), s.env.MinReplicas, s.env.MaxReplicas)
}
