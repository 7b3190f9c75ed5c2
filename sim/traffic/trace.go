package traffic

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kisproject/kis/sim/workload"
)

// Trace is a recorded sequence of requests.
type Trace struct {
	Name     string
	Requests []Request
	// HasTokens is false when the file had only the time column; token
	// counts are then drawn from the profile.
	HasTokens bool
}

// LoadTrace reads a CSV trace file.
func LoadTrace(path string) (*Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading trace: %w", err)
	}
	defer f.Close()
	var size int64
	if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
		size = info.Size()
	}
	return parseTrace(path, f, size, maxRequests)
}

// Trace file headers. The Azure one is the public Azure LLM inference
// traces' own (AzurePublicDataset: the 2023 code and conversation traces,
// and the 2024 week-long ones), so they replay without a conversion step.
const (
	headerTimes  = "t_seconds"
	headerTokens = "t_seconds,input_tokens,output_tokens"
	headerAzure  = "TIMESTAMP,ContextTokens,GeneratedTokens"
)

// azureTimeLayout reads both Azure forms: 2023's "2023-11-16
// 18:17:03.9799600", without a zone, and 2024's "2024-05-10
// 00:00:00.009930+00:00". Fractional seconds of any length parse after
// the seconds field without being in the layout.
const azureTimeLayout = "2006-01-02 15:04:05"

// ParseTrace reads a CSV trace, in time order, with one of the headers
//
//	t_seconds                                 arrival, seconds since the start
//	t_seconds,input_tokens,output_tokens      and the prompt and generated tokens
//	TIMESTAMP,ContextTokens,GeneratedTokens   Azure's: wall-clock arrival times
//
// An Azure trace starts at its first request. Errors name the line.
func ParseTrace(name string, r io.Reader) (*Trace, error) {
	return parseTrace(name, r, 0, maxRequests)
}

// sizingRows is how many rows parseTrace reads before it sizes the request
// slice from the file's size, when it knows it.
const sizingRows = 4096

// parseTrace is ParseTrace for a file of size bytes (0: unknown) and at
// most maxRows requests. A known size allocates the requests once, at
// about their number: a week of Azure's 2024 traces is 27.3 million of
// them, ~440 MB, which doubling would copy through twice that. The bound
// is a run's (maxRequests), checked as rows are read: a trace no run may
// replay is refused before it is all in memory.
func parseTrace(name string, r io.Reader, size int64, maxRows int) (*Trace, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	tr := &Trace{Name: name}
	line := 0
	var read, headerBytes int64
	var prev time.Duration
	var azureStart time.Time
	var clock azureClock
	cols, azure := 0, false
	tokenColumns := [2]string{"input_tokens", "output_tokens"}
	var fields [3][]byte
	for sc.Scan() {
		line++
		raw := sc.Bytes()
		read += int64(len(raw)) + 1
		text := bytes.TrimSuffix(raw, []byte{'\r'})
		if line == 1 {
			headerBytes = read
			// Spreadsheets save CSV with a byte-order mark.
			switch header := string(bytes.TrimPrefix(text, []byte("\ufeff"))); header {
			case headerTimes:
				cols = 1
			case headerTokens:
				cols, tr.HasTokens = 3, true
			case headerAzure:
				cols, tr.HasTokens, azure = 3, true, true
				tokenColumns = [2]string{"ContextTokens", "GeneratedTokens"}
			default:
				return nil, fmt.Errorf("%s:1: header %q: want %s, %s or %s", name, header, headerTimes, headerTokens, headerAzure)
			}
			continue
		}
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		if n := splitFields(text, fields[:cols]); n != cols {
			return nil, fmt.Errorf("%s:%d: %d fields, want %d", name, line, n, cols)
		}
		var at time.Duration
		if azure {
			ts, err := clock.parse(fields[0])
			if err != nil {
				return nil, fmt.Errorf("%s:%d: TIMESTAMP %q is not a time like 2023-11-16 18:17:03.9799600 or 2024-05-10 00:00:00.009930+00:00", name, line, fields[0])
			}
			if len(tr.Requests) == 0 {
				azureStart = ts
			}
			if at = ts.Sub(azureStart); at < prev {
				return nil, fmt.Errorf("%s:%d: TIMESTAMP %s is before the previous row's (rows must be in time order)", name, line, fields[0])
			}
			if at > maxTraceSpan {
				return nil, fmt.Errorf("%s:%d: TIMESTAMP %s is more than %v after the first request's", name, line, fields[0], maxTraceSpan)
			}
		} else {
			t, err := strconv.ParseFloat(string(bytes.TrimSpace(fields[0])), 64)
			if err != nil || math.IsNaN(t) || math.IsInf(t, 0) || t < 0 || t > maxTraceSpan.Seconds() {
				return nil, fmt.Errorf("%s:%d: t_seconds %q is not a time in seconds >= 0", name, line, fields[0])
			}
			// Rounded: "33.681" is 33.680999999... in binary and would
			// otherwise arrive a nanosecond early.
			if at = time.Duration(math.Round(t * float64(time.Second))); at < prev {
				return nil, fmt.Errorf("%s:%d: t_seconds %v is before the previous row's %v (rows must be in time order)", name, line, t, prev.Seconds())
			}
		}
		prev = at
		req := Request{At: at}
		if cols == 3 {
			for i, dst := range []*int32{&req.Input, &req.Output} {
				v, err := strconv.ParseInt(string(bytes.TrimSpace(fields[i+1])), 10, 32)
				if err != nil || v < 0 {
					return nil, fmt.Errorf("%s:%d: %s %q is not a token count >= 0", name, line, tokenColumns[i], fields[i+1])
				}
				*dst = int32(v)
			}
			// A request generates at least one token: its prefill emits it.
			req.Output = max(req.Output, 1)
		}
		if len(tr.Requests) == maxRows {
			return nil, fmt.Errorf("%s:%d: more than %.0e requests, more than a run may replay", name, line, float64(maxRows))
		}
		if len(tr.Requests) == sizingRows && size > read {
			perRow := float64(read-headerBytes) / sizingRows
			rows := min(1.02*float64(size-read)/perRow+1, float64(maxRows-len(tr.Requests)))
			tr.Requests = slices.Grow(tr.Requests, int(rows))
		}
		tr.Requests = append(tr.Requests, req)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	if line == 0 {
		return nil, fmt.Errorf("%s: empty trace (no header)", name)
	}
	if len(tr.Requests) == 0 {
		return nil, fmt.Errorf("%s: trace has a header but no requests", name)
	}
	return tr, nil
}

// splitFields splits a CSV row at its commas into fields, without
// copying, and returns how many fields the row has; fields is filled only
// if that is len(fields).
func splitFields(row []byte, fields [][]byte) int {
	n := bytes.Count(row, []byte{','}) + 1
	if n != len(fields) {
		return n
	}
	for i := range fields[:n-1] {
		j := bytes.IndexByte(row, ',')
		fields[i], row = row[:j], row[j+1:]
	}
	fields[n-1] = row
	return n
}

// maxTraceSpan bounds a trace's arrival times, about 31 years: far past
// any recording, and far from time.Duration's overflow.
const maxTraceSpan = 1e9 * time.Second

func parseAzureTime(field []byte) (time.Time, error) {
	value := string(bytes.TrimSpace(field))
	// 2024's form has a zone after the seconds and their fraction.
	if len(value) > len(azureTimeLayout) && strings.ContainsAny(value[len(azureTimeLayout):], "+-Z") {
		return time.Parse(azureTimeLayout+"Z07:00", value)
	}
	return time.Parse(azureTimeLayout, value)
}

// azureClock parses Azure timestamps as parseAzureTime does, and parses
// the whole second only when it changes: a busy trace has tens of rows
// a second that differ only in their fraction, and time.Parse was most
// of reading one.
type azureClock struct {
	// head and tail are the last parsed time's text before its fraction's
	// '.' and after its digits; second is that time without the fraction.
	head, tail []byte
	second     time.Time
	known      bool
}

// parse reads one timestamp. A time.Parse that accepted a value with a
// '.' read it as the fraction's separator, the only place a layout of
// digits, '-', ' ', ':' and a zone lets one stand; so any value with the
// same head and tail around a run of digits parses to the same second
// plus those digits, and is not parsed again.
func (c *azureClock) parse(field []byte) (time.Time, error) {
	value := bytes.TrimSpace(field)
	dot := bytes.IndexByte(value, '.')
	digitsEnd := dot + 1
	for dot >= 0 && digitsEnd < len(value) && '0' <= value[digitsEnd] && value[digitsEnd] <= '9' {
		digitsEnd++
	}
	hasFraction := dot >= 0 && digitsEnd > dot+1
	if hasFraction && c.known && bytes.Equal(value[:dot], c.head) && bytes.Equal(value[digitsEnd:], c.tail) {
		return c.second.Add(fraction(value[dot+1 : digitsEnd])), nil
	}
	t, err := parseAzureTime(value)
	if err != nil || !hasFraction {
		return t, err
	}
	c.head = append(c.head[:0], value[:dot]...)
	c.tail = append(c.tail[:0], value[digitsEnd:]...)
	c.second, c.known = t.Add(-fraction(value[dot+1:digitsEnd])), true
	return t, nil
}

// fraction is a second's decimal fraction as time.Parse reads it: the
// first nine digits, the rest dropped.
func fraction(digits []byte) time.Duration {
	var ns time.Duration
	for i := range 9 {
		ns *= 10
		if i < len(digits) {
			ns += time.Duration(digits[i] - '0')
		}
	}
	return ns
}

// Span is the time of the last request.
func (tr *Trace) Span() time.Duration { return tr.Requests[len(tr.Requests)-1].At }

// ReplayOptions shape a replay.
type ReplayOptions struct {
	// RateScale > 1 compresses time (2 doubles the rate).
	RateScale float64
	// Duration cuts the replay; with Loop the trace repeats until Duration.
	// Zero means the trace's own span (and no looping).
	Duration time.Duration
	Loop     bool
}

type traceSource struct {
	reqs    []Request
	scale   float64
	span    time.Duration // of one pass, after scaling
	end     time.Duration
	loop    bool
	i, pass int
	rng     *rand.Rand
	in, out workload.TokenDist
	tokens  bool
	rate    binnedRate
}

// NewReplay returns a Source replaying tr. Token counts missing from the
// trace are drawn from in and out.
func NewReplay(tr *Trace, o ReplayOptions, rng *rand.Rand, in, out workload.TokenDist) (Source, error) {
	if !(o.RateScale > 0) || math.IsInf(o.RateScale, 0) {
		return nil, fmt.Errorf("trace %s: rate scale must be > 0, got %v", tr.Name, o.RateScale)
	}
	if o.Duration < 0 {
		return nil, fmt.Errorf("trace %s: duration must be >= 0, got %v", tr.Name, o.Duration)
	}
	// One pass lasts until the last request plus the mean gap, so that a
	// looped trace does not put two requests at the seam.
	gap := tr.Span() / time.Duration(len(tr.Requests))
	pass := float64(tr.Span()+max(gap, time.Millisecond)) / o.RateScale
	if pass > float64(maxTraceSpan) {
		return nil, fmt.Errorf("trace %s: rate scale %v stretches its %v past %v", tr.Name, o.RateScale, tr.Span(), maxTraceSpan)
	}
	s := &traceSource{reqs: tr.Requests, scale: o.RateScale, loop: o.Loop && o.Duration > 0, rng: rng, in: in, out: out, tokens: tr.HasTokens,
		span: time.Duration(pass), end: o.Duration, rate: binnedRate{bin: 10 * time.Second}}
	if !s.loop {
		// Cut, never extended, as a pattern is: past its last request a
		// run would only idle, and count the idle fleet's GPU-hours.
		own := time.Duration(float64(tr.Span())/o.RateScale) + time.Nanosecond
		if o.Duration == 0 && own > MaxDuration {
			return nil, fmt.Errorf("trace %s: at rate scale %v it lasts %v, more than %v", tr.Name, o.RateScale, own.Round(time.Second), MaxDuration)
		}
		if s.end == 0 || own < s.end {
			s.end = own
		}
	}
	if s.loop {
		if tr.Span() == 0 {
			// A pass would last the one-millisecond minimum above: a
			// request every millisecond, which no recording meant.
			return nil, fmt.Errorf("trace %s: every request arrives at 0s, so it has no length to loop", tr.Name)
		}
		if s.span == 0 {
			return nil, fmt.Errorf("trace %s: rate scale %v compresses a pass of its %v to under a nanosecond", tr.Name, o.RateScale, tr.Span())
		}
		// Counted before any is generated: a trace compressed to
		// nanoseconds and looped for hours would otherwise run for days.
		if n := float64(s.end) / float64(s.span) * float64(len(tr.Requests)); n > maxRequests {
			return nil, fmt.Errorf("trace %s: looped at rate scale %v for %v it sends %.3g requests, more than the %.0e a run may", tr.Name, o.RateScale, s.end, n, maxRequests)
		}
	}
	for {
		at, ok := s.peekTime()
		if !ok {
			break
		}
		s.rate.add(at)
		s.advance()
	}
	s.i, s.pass = 0, 0
	return s, nil
}

func (s *traceSource) peekTime() (time.Duration, bool) {
	if s.i >= len(s.reqs) {
		if !s.loop {
			return 0, false
		}
		s.i, s.pass = 0, s.pass+1
	}
	at := time.Duration(float64(s.reqs[s.i].At)/s.scale) + time.Duration(s.pass)*s.span
	if at >= s.end {
		return 0, false
	}
	return at, true
}

func (s *traceSource) advance() { s.i++ }

func (s *traceSource) Next() (Request, bool) {
	at, ok := s.peekTime()
	if !ok {
		return Request{}, false
	}
	r := s.reqs[s.i]
	s.advance()
	r.At = at
	if !s.tokens {
		r.Input, r.Output = s.in.Sample(s.rng), s.out.Sample(s.rng)
	}
	return r, true
}

func (s *traceSource) Rate(t time.Duration) float64 { return s.rate.rate(t) }

func (s *traceSource) End() time.Duration { return s.end }
