package traffic

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/kisproject/kis/internal/specparams"
	"github.com/kisproject/kis/sim/workload"
)

// Request is one arrival.
type Request struct {
	At     time.Duration
	Input  int32
	Output int32
}

// Source yields arrivals in time order.
type Source interface {
	// Next returns the next arrival, or false when the source is exhausted.
	Next() (Request, bool)
	// Rate is the expected arrival rate (requests/s) at t: the intensity of
	// the process, which only a clairvoyant baseline may look at.
	Rate(t time.Duration) float64
	// End is when the source stops; the simulation runs until then.
	End() time.Duration
}

// Kind names a synthetic pattern.
type Kind string

const (
	Ramp     Kind = "ramp"
	Periodic Kind = "periodic"
	Random   Kind = "random"
	Spike    Kind = "spike"
)

// Kinds lists the synthetic patterns in a stable order.
var Kinds = []Kind{Ramp, Periodic, Random, Spike}

// KnownKinds is Kinds for an error message: "ramp, periodic, random, spike".
func KnownKinds() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// Pattern parameterises a synthetic load. Rates are in requests/s.
type Pattern struct {
	Kind     Kind
	Base     float64
	Peak     float64
	Duration time.Duration
	// Period is the cycle of periodic, the mean spike spacing of spike and
	// the level-change interval of random.
	Period time.Duration
	// SpikeLength is how long a spike stays at Peak.
	SpikeLength time.Duration
	// Jitter is the half-width of a multiplicative noise on the rate, redrawn
	// every 10 s: 0.1 means each bin's rate is scaled by U[0.9, 1.1].
	Jitter float64
}

// DefaultPattern returns the defaults for kind with rates in multiples of
// unit (the request rate one reference replica sustains). They are meant to
// be hard for a reactive scaler: spikes last less than a replica's cold
// start plus the metric lag, so only a scaler that keeps headroom ahead of
// them serves them.
func DefaultPattern(kind Kind, unit float64) (Pattern, error) {
	p := Pattern{Kind: kind, Base: 2 * unit, Peak: 10 * unit, Duration: time.Hour, Jitter: 0.1}
	switch kind {
	case Ramp:
	case Periodic:
		p.Period = 20 * time.Minute
	case Random:
		p.Period = 3 * time.Minute
	case Spike:
		p.Peak = 8 * unit
		p.Period = 10 * time.Minute
		p.SpikeLength = 90 * time.Second
	default:
		return Pattern{}, fmt.Errorf("unknown pattern %q (known: %s)", kind, KnownKinds())
	}
	return p, nil
}

// ParsePattern reads "kind" or "kind:key=value,..." with keys base, peak
// (requests/s), duration, period, spike (durations) and jitter. Defaults
// come from DefaultPattern.
func ParsePattern(s string, unit float64) (Pattern, error) {
	kind, args, hasArgs := strings.Cut(s, ":")
	p, err := DefaultPattern(Kind(kind), unit)
	if err != nil {
		return Pattern{}, err
	}
	if hasArgs && args == "" {
		// A scenario is named by its spec: "spike:" would be the default
		// spike under a second name.
		return Pattern{}, fmt.Errorf("pattern %q: nothing follows the colon; %q alone takes the defaults", s, kind)
	}
	known := []string{"base", "peak", "duration", "period", "spike", "jitter"}
	params, err := specparams.Split(args, known...)
	if err != nil {
		return Pattern{}, fmt.Errorf("pattern %q: %w", s, err)
	}
	for _, k := range known {
		v, set := params[k]
		if !set {
			continue
		}
		var perr error
		switch k {
		case "base":
			p.Base, perr = strconv.ParseFloat(v, 64)
		case "peak":
			p.Peak, perr = strconv.ParseFloat(v, 64)
		case "jitter":
			p.Jitter, perr = strconv.ParseFloat(v, 64)
		case "duration":
			p.Duration, perr = time.ParseDuration(v)
		case "period":
			p.Period, perr = time.ParseDuration(v)
		case "spike":
			p.SpikeLength, perr = time.ParseDuration(v)
		}
		if perr != nil {
			return Pattern{}, fmt.Errorf("pattern %q: parameter %s: %w", s, k, perr)
		}
	}
	return p, p.Validate()
}

// A pattern draws its jitter, random levels and spike times up front, one
// per 10 s bin or period, and a looped replay indexes its whole duration,
// so duration and period bound the memory a source takes: within these,
// a pattern takes under 30 MB, and kis-sim replaying the shared trace
// looped for MaxDuration 84 MB in all.
const (
	MaxDuration      = 30 * 24 * time.Hour
	MinPatternPeriod = time.Second
)

// maxRequests bounds the requests a source may make, or a pattern draw as
// candidates: minutes of simulation. Past it a run would look hung. The
// Azure 2024 conversation trace, a week of 27.3 million requests, looped
// for MaxDuration at 4x sends about 470 million.
const maxRequests = 1e9

// Validate reports the first unusable parameter.
func (p Pattern) Validate() error {
	switch {
	case !(p.Base >= 0) || math.IsInf(p.Base, 0):
		return fmt.Errorf("pattern %s: base must be a finite rate >= 0, got %v", p.Kind, p.Base)
	case !(p.Peak >= p.Base) || math.IsInf(p.Peak, 0):
		return fmt.Errorf("pattern %s: peak must be finite and >= base (%.6g), got %v", p.Kind, p.Base, p.Peak)
	case p.Peak == 0:
		return fmt.Errorf("pattern %s: peak must be > 0", p.Kind)
	case p.Duration <= 0 || p.Duration > MaxDuration:
		return fmt.Errorf("pattern %s: duration must be in (0, %v], got %v", p.Kind, MaxDuration, p.Duration)
	case !(p.Jitter >= 0 && p.Jitter < 1):
		return fmt.Errorf("pattern %s: jitter must be in [0, 1), got %v", p.Kind, p.Jitter)
	case p.Kind != Ramp && p.Period < MinPatternPeriod:
		return fmt.Errorf("pattern %s: period must be >= %v, got %v", p.Kind, MinPatternPeriod, p.Period)
	case p.Kind == Spike && (p.SpikeLength <= 0 || p.SpikeLength >= p.Period):
		return fmt.Errorf("pattern spike: spike length must be in (0, period), got %v", p.SpikeLength)
	case p.candidateRate()*p.Duration.Seconds() > maxRequests:
		// The candidates are the work, whatever the mean rate.
		return fmt.Errorf("pattern %s: peak %v for %v draws up to %.3g requests, more than the %.0e a run may", p.Kind, p.Peak, p.Duration, p.candidateRate()*p.Duration.Seconds(), maxRequests)
	}
	return nil
}

// candidateRate bounds the pattern's rate, jitter included: arrivals are
// drawn as candidates at it and thinned to the rate at their time.
func (p Pattern) candidateRate() float64 { return p.Peak * (1 + p.Jitter) }

const jitterBin = 10 * time.Second

// The shapes of the abrupt moves: a random level moves to the next over
// levelMove, a spike rises and falls over spikeEdge, and each spike is
// displaced from its slot by up to spikeShift of the period either way.
const (
	levelMove  = 30 * time.Second
	spikeEdge  = 15 * time.Second
	spikeShift = 0.2
)

// Jump is a window in which a pattern's load may move abruptly. It follows
// from the pattern's parameters alone, before anything is drawn: a scaler
// that knows the pattern, but not its draws, knows its jumps.
type Jump struct {
	From, To time.Duration
	// Over is a rate that splits the window's load: a spike is above it,
	// the base below, so once the load has risen above Over and fallen
	// back the spike is over. Zero for a level change, which is over at To.
	Over float64
}

// Scheduled is a Source whose load moves abruptly only inside known jumps.
type Scheduled interface {
	Jumps() []Jump
}

// Jumps lists p's jumps in time order: the window each spike falls in, or
// the moves from one random level to the next. Ramp and periodic move
// smoothly and have none.
func (p Pattern) Jumps() []Jump {
	var jumps []Jump
	switch p.Kind {
	case Random:
		for at := p.Period; at < p.Duration; at += p.Period {
			jumps = append(jumps, Jump{From: at, To: at + levelMove})
		}
	case Spike:
		shift := time.Duration(spikeShift * float64(p.Period))
		for at := p.Period / 2; at < p.Duration; at += p.Period {
			jumps = append(jumps, Jump{
				From: at - shift - spikeEdge,
				To:   at + shift + p.SpikeLength + spikeEdge,
				Over: (p.Base + p.Peak) / 2,
			})
		}
	}
	return jumps
}

// patternSource is a non-homogeneous Poisson process sampled by thinning
// (Lewis & Shedler): candidates at the bounding rate, each kept with
// probability Rate(t)/bound. Everything random about the intensity (jitter,
// random levels, spike times) is drawn up front, so Rate is a pure function
// of t and the clairvoyant baseline sees exactly the intensity arrivals use.
type patternSource struct {
	p       Pattern
	rng     *rand.Rand
	in, out workload.TokenDist
	bound   float64
	t       float64 // seconds
	jitter  []float64
	levels  []float64
	spikes  []time.Duration
}

// NewPatternSource returns arrivals for p. Token counts are drawn from in
// and out.
func NewPatternSource(p Pattern, rng *rand.Rand, in, out workload.TokenDist) (Source, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	s := &patternSource{p: p, rng: rng, in: in, out: out, bound: p.candidateRate()}
	bins := int(p.Duration/jitterBin) + 1
	s.jitter = make([]float64, bins)
	for i := range s.jitter {
		s.jitter[i] = 1 + p.Jitter*(2*rng.Float64()-1)
	}
	switch p.Kind {
	case Random:
		s.levels = make([]float64, int(p.Duration/p.Period)+2)
		for i := range s.levels {
			s.levels[i] = p.Base + (p.Peak-p.Base)*rng.Float64()
		}
	case Spike:
		// Spikes every Period on average, each displaced by up to
		// ±spikeShift of it.
		for at := p.Period / 2; at < p.Duration; at += p.Period {
			shift := time.Duration((rng.Float64()*(2*spikeShift) - spikeShift) * float64(p.Period))
			s.spikes = append(s.spikes, at+shift)
		}
	}
	return s, nil
}

func (s *patternSource) Rate(t time.Duration) float64 {
	if t < 0 || t >= s.p.Duration {
		return 0
	}
	return s.shape(t) * s.jitter[int(t/jitterBin)]
}

// shape is the noiseless intensity.
func (s *patternSource) shape(t time.Duration) float64 {
	p := s.p
	span := p.Peak - p.Base
	x := t.Seconds()
	switch p.Kind {
	case Ramp:
		// Up over the first half, hold for a quarter, back down.
		d := p.Duration.Seconds()
		switch {
		case x < d/2:
			return p.Base + span*x/(d/2)
		case x < 3*d/4:
			return p.Peak
		default:
			return p.Peak - span*(x-3*d/4)/(d/4)
		}
	case Periodic:
		return p.Base + span*(1-math.Cos(2*math.Pi*x/p.Period.Seconds()))/2
	case Random:
		// Piecewise-constant levels joined by linear moves of levelMove.
		i := int(t / p.Period)
		into := t - time.Duration(i)*p.Period
		if i == 0 || into >= levelMove {
			return s.levels[i]
		}
		f := into.Seconds() / levelMove.Seconds()
		return s.levels[i-1] + (s.levels[i]-s.levels[i-1])*f
	default: // Spike: spikeEdge rise, SpikeLength at peak, spikeEdge fall.
		for _, at := range s.spikes {
			switch {
			case t < at-spikeEdge || t > at+p.SpikeLength+spikeEdge:
				continue
			case t < at:
				return p.Base + span*(t-at+spikeEdge).Seconds()/spikeEdge.Seconds()
			case t <= at+p.SpikeLength:
				return p.Peak
			default:
				return p.Peak - span*(t-at-p.SpikeLength).Seconds()/spikeEdge.Seconds()
			}
		}
		return p.Base
	}
}

func (s *patternSource) End() time.Duration { return s.p.Duration }

// Jumps implements Scheduled.
func (s *patternSource) Jumps() []Jump { return s.p.Jumps() }

func (s *patternSource) Next() (Request, bool) {
	end := s.p.Duration.Seconds()
	for {
		s.t += s.rng.ExpFloat64() / s.bound
		if s.t >= end {
			return Request{}, false
		}
		at := time.Duration(s.t * float64(time.Second))
		if s.rng.Float64()*s.bound <= s.Rate(at) {
			return Request{At: at, Input: s.in.Sample(s.rng), Output: s.out.Sample(s.rng)}, true
		}
	}
}

// binnedRate counts arrivals in fixed bins, as a rate function.
type binnedRate struct {
	bin    time.Duration
	counts []float64
}

func (b *binnedRate) add(t time.Duration) {
	i := int(t / b.bin)
	for len(b.counts) <= i {
		b.counts = append(b.counts, 0)
	}
	b.counts[i]++
}

func (b binnedRate) rate(t time.Duration) float64 {
	i := int(t / b.bin)
	if t < 0 || i >= len(b.counts) {
		return 0
	}
	return b.counts[i] / b.bin.Seconds()
}
