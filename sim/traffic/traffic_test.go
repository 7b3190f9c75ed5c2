package traffic

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kisproject/kis/sim/workload"
)

var tokens = workload.TokenDist{Median: 100, Sigma: 0.5, Min: 1, Max: 1000}

func TestPatternShapes(t *testing.T) {
	tests := []struct {
		name string
		spec string
		at   time.Duration
		want float64
	}{
		// Ramp over 1h: half-way up at 15m is base + (peak-base)/2 = 10 + 90/2.
		{"ramp rising", "ramp:base=10,peak=100,jitter=0", 15 * time.Minute, 55},
		{"ramp holding", "ramp:base=10,peak=100,jitter=0", 40 * time.Minute, 100},
		// 52.5m is half-way down the last quarter: 100 - 90*7.5/15.
		{"ramp falling", "ramp:base=10,peak=100,jitter=0", 52*time.Minute + 30*time.Second, 55},
		// Periodic, period 20m: trough at 0, crest at 10m.
		{"periodic trough", "periodic:base=10,peak=100,jitter=0", 0, 10},
		{"periodic crest", "periodic:base=10,peak=100,jitter=0", 10 * time.Minute, 100},
		{"after the end", "periodic:base=10,peak=100,jitter=0", time.Hour, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePattern(tc.spec, 1)
			if err != nil {
				t.Fatal(err)
			}
			src, err := NewPatternSource(p, rand.New(rand.NewPCG(1, 2)), tokens, tokens)
			if err != nil {
				t.Fatal(err)
			}
			if got := src.Rate(tc.at); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("Rate(%v) = %v, want %v", tc.at, got, tc.want)
			}
		})
	}
}

func TestSpikePatternReachesPeakBriefly(t *testing.T) {
	p, err := ParsePattern("spike:base=10,peak=80,jitter=0", 1)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := NewPatternSource(p, rand.New(rand.NewPCG(3, 4)), tokens, tokens)
	var atPeak, atBase time.Duration
	for t0 := time.Duration(0); t0 < p.Duration; t0 += time.Second {
		switch src.Rate(t0) {
		case 80:
			atPeak += time.Second
		case 10:
			atBase += time.Second
		}
	}
	// Six spikes of ~90 s each (endpoints land on whole seconds).
	if atPeak < 6*88*time.Second || atPeak > 6*92*time.Second {
		t.Errorf("time at peak = %v, want about 6 x 90s", atPeak)
	}
	if atBase < 45*time.Minute {
		t.Errorf("time at base = %v, want most of the hour", atBase)
	}
}

// Outside its jumps a pattern's noiseless load holds still, whatever was
// drawn: a scaler that knows the jumps is surprised by nothing else. Each
// spike window holds exactly one spike, whose load is above Over while the
// base is below it; ramp and periodic move smoothly and have no jumps.
func TestJumpsHoldEveryAbruptMove(t *testing.T) {
	for _, spec := range []string{"spike", "spike:period=4m,spike=30s", "random", "random:period=1m"} {
		p, err := ParsePattern(spec, 10)
		if err != nil {
			t.Fatal(err)
		}
		jumps := p.Jumps()
		if len(jumps) == 0 {
			t.Fatalf("%s: no jumps", spec)
		}
		for seed := uint64(1); seed <= 5; seed++ {
			src, err := NewPatternSource(p, rand.New(rand.NewPCG(seed, 1)), tokens, tokens)
			if err != nil {
				t.Fatal(err)
			}
			ps := src.(*patternSource)
			inJump := func(at time.Duration) int {
				for i, j := range jumps {
					if at >= j.From && at <= j.To {
						return i
					}
				}
				return -1
			}
			prev := ps.shape(0)
			for at := time.Second; at < p.Duration; at += time.Second {
				now := ps.shape(at)
				if now != prev && inJump(at) < 0 && inJump(at-time.Second) < 0 {
					t.Fatalf("%s seed %d: the load moves from %v to %v at %v, outside every jump", spec, seed, prev, now, at)
				}
				prev = now
			}
			if p.Kind == Spike {
				if len(ps.spikes) != len(jumps) {
					t.Fatalf("%s seed %d: %d spikes in %d windows", spec, seed, len(ps.spikes), len(jumps))
				}
				for i, at := range ps.spikes {
					if j := jumps[i]; at-spikeEdge < j.From || at+p.SpikeLength+spikeEdge > j.To || !(p.Base < j.Over && j.Over < p.Peak) {
						t.Errorf("%s seed %d: spike %d at %v does not fit its window %+v", spec, seed, i, at, j)
					}
				}
			}
		}
	}
	for _, spec := range []string{"ramp", "periodic"} {
		p, err := ParsePattern(spec, 10)
		if err != nil {
			t.Fatal(err)
		}
		if jumps := p.Jumps(); len(jumps) != 0 {
			t.Errorf("%s: jumps %v, want none", spec, jumps)
		}
	}
}

// The thinning sampler must produce as many arrivals as the intensity
// integrates to: for a constant 50 req/s over 1h, 180000 +- 4 sigma.
func TestArrivalCountMatchesIntensity(t *testing.T) {
	p := Pattern{Kind: Periodic, Base: 50, Peak: 50, Duration: time.Hour, Period: time.Minute}
	src, err := NewPatternSource(p, rand.New(rand.NewPCG(5, 6)), tokens, tokens)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	var last time.Duration
	for {
		r, ok := src.Next()
		if !ok {
			break
		}
		if r.At < last {
			t.Fatalf("arrival %d at %v before previous %v", n, r.At, last)
		}
		last = r.At
		n++
	}
	if sigma := math.Sqrt(180000); math.Abs(float64(n)-180000) > 4*sigma {
		t.Errorf("arrivals = %d, want 180000 +- %.0f", n, 4*sigma)
	}
}

func TestParsePatternErrors(t *testing.T) {
	tests := []struct{ spec, want string }{
		{"burst", `unknown pattern "burst" (known: ramp, periodic, random, spike)`},
		{"ramp:peak", `"peak" is not key=value`},
		{"spike:", `pattern "spike:": nothing follows the colon; "spike" alone takes the defaults`},
		{"ramp:color=red", `unknown parameter "color"`},
		{"spike:peak=60,peak=70", `parameter "peak" is given twice`},
		{"ramp:base=x", "parameter base"},
		{"ramp:base=50,peak=10", "peak must be finite and >= base"},
		{"spike:spike=20m", "spike length must be in (0, period)"},
		{"periodic:jitter=1.5", "jitter must be in [0, 1)"},
		{"random:duration=-1s", "duration must be in (0, 720h0m0s], got -1s"},
		{"ramp:duration=100000h", "duration must be in (0, 720h0m0s], got 100000h0m0s"},
		// 1e300 requests/s would draw candidates for ever.
		{"spike:peak=1e300", "pattern spike: peak 1e+300 for 1h0m0s draws up to"},
		// 400 requests/s, jittered by up to 10%, for 720h: 1.14e9.
		{"periodic:peak=400,jitter=0.1,duration=720h", "peak 400 for 720h0m0s draws up to 1.14e+09 requests, more than the 1e+09"},
		{"random:period=1ns", "period must be >= 1s, got 1ns"},
		{"spike:period=0s", "period must be >= 1s, got 0s"},
		{"ramp:base=NaN", "base must be a finite rate"},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			_, err := ParsePattern(tc.spec, 1)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestParseTraceErrors(t *testing.T) {
	tests := []struct{ name, csv, want string }{
		{"bad header", "time,in,out\n1,2,3\n", `t.csv:1: header "time,in,out"`},
		{"short row", "t_seconds,input_tokens,output_tokens\n0.5,10,3\n1.0,10\n", "t.csv:3: 2 fields, want 3"},
		{"bad time", "t_seconds\n0.5\nsoon\n", `t.csv:3: t_seconds "soon"`},
		{"negative time", "t_seconds\n-1\n", "t.csv:2: t_seconds"},
		{"out of order", "t_seconds\n2\n1\n", "t.csv:3: t_seconds 1 is before the previous row's 2"},
		{"bad tokens", "t_seconds,input_tokens,output_tokens\n0,-4,3\n", `t.csv:2: input_tokens "-4"`},
		{"empty", "", "empty trace"},
		{"header only", "t_seconds\n", "no requests"},
		{"azure time", azureHeader + "2023-11-16T18:17:03Z,10,3\n", `t.csv:2: TIMESTAMP "2023-11-16T18:17:03Z" is not a time like`},
		{"azure order", azureHeader + "2023-11-16 18:17:03.5,10,3\n2023-11-16 18:17:03.4,10,3\n", "t.csv:3: TIMESTAMP 2023-11-16 18:17:03.4 is before the previous row's"},
		{"azure span", azureHeader + "1990-01-01 00:00:00,10,3\n2023-11-16 18:17:03,10,3\n", "t.csv:3: TIMESTAMP 2023-11-16 18:17:03 is more than"},
		{"azure tokens", azureHeader + "2023-11-16 18:17:03,x,3\n", `t.csv:2: ContextTokens "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTrace("t.csv", strings.NewReader(tc.csv))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

const azureHeader = "TIMESTAMP,ContextTokens,GeneratedTokens\n"

// Azure's own files replay as they are published: 2023's times without a
// zone and 7 decimals, CRLF and no newline after the last row; 2024's
// with a zone offset.
func TestParseAzureTrace(t *testing.T) {
	tests := []struct {
		name, csv string
		want      []Request
	}{
		{"2023", "TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 18:17:03.9799600,4808,10\r\n2023-11-16 18:17:04.0319600,3180,8\r\n2023-11-16 18:17:04.0319660,100,0",
			[]Request{{At: 0, Input: 4808, Output: 10}, {At: 52 * time.Millisecond, Input: 3180, Output: 8}, {At: 52*time.Millisecond + 6*time.Microsecond, Input: 100, Output: 1}}},
		{"byte-order mark", "\ufeff" + azureHeader + "2023-11-16 18:17:03,10,3\n", []Request{{At: 0, Input: 10, Output: 3}}},
		{"2024", azureHeader + "2024-05-10 00:00:00.009930+00:00,2162,5\n2024-05-10 02:00:01.009930+02:00,10,3\n",
			[]Request{{At: 0, Input: 2162, Output: 5}, {At: time.Second, Input: 10, Output: 3}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := ParseTrace("azure.csv", strings.NewReader(tc.csv))
			if err != nil {
				t.Fatal(err)
			}
			if !tr.HasTokens || !slices.Equal(tr.Requests, tc.want) {
				t.Errorf("requests %v (tokens %v), want %v", tr.Requests, tr.HasTokens, tc.want)
			}
		})
	}
}

// The shared trace is a conversion of Azure's file (shared/traces/README.md):
// the same rows written back in Azure's form replay the same requests.
func TestAzureFormReplaysAsTheSharedTrace(t *testing.T) {
	shared, err := LoadTrace("../../../shared/traces/azure-llm-code-2023.csv")
	if err != nil {
		t.Fatal(err)
	}
	first := time.Date(2023, 11, 16, 18, 17, 3, 979960000, time.UTC)
	var b strings.Builder
	b.WriteString("TIMESTAMP,ContextTokens,GeneratedTokens\r\n")
	for _, r := range shared.Requests {
		fmt.Fprintf(&b, "%s,%d,%d\r\n", first.Add(r.At).Format("2006-01-02 15:04:05.0000000"), r.Input, r.Output)
	}
	azure, err := ParseTrace("azure.csv", strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(azure.Requests, shared.Requests) {
		t.Errorf("the Azure form replays differently from the shared trace")
	}
}

// A replay no run can hold is refused before any request is made: one that
// would overflow the clock, outlast MaxDuration, or flood a loop.
func TestReplayRefusesWhatNoRunCanHold(t *testing.T) {
	burst, err := ParseTrace("burst.csv", strings.NewReader("t_seconds\n0\n0\n"))
	if err != nil {
		t.Fatal(err)
	}
	// 5 s: a pass lasts 5 s plus the mean gap, 2.5 s.
	short, err := ParseTrace("short.csv", strings.NewReader("t_seconds\n0\n5\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		tr   *Trace
		o    ReplayOptions
		want string // "" for a replay that must be built
	}{
		{"a burst once", burst, ReplayOptions{RateScale: 1}, ""},
		{"a burst looped", burst, ReplayOptions{RateScale: 1, Duration: time.Minute, Loop: true}, "burst.csv: every request arrives at 0s, so it has no length to loop"},
		{"stretched past the clock", short, ReplayOptions{RateScale: 1e-300}, "short.csv: rate scale 1e-300 stretches its 5s past"},
		{"stretched past MaxDuration", short, ReplayOptions{RateScale: 1e-6}, "short.csv: at rate scale 1e-06 it lasts 1388h53m20s, more than 720h0m0s"},
		{"stretched but cut", short, ReplayOptions{RateScale: 1e-6, Duration: time.Hour}, ""},
		{"a pass under a nanosecond", short, ReplayOptions{RateScale: 1e300, Duration: time.Minute, Loop: true}, "short.csv: rate scale 1e+300 compresses a pass of its 5s to under a nanosecond"},
		// 2 requests a pass, 7.5 ns cut to 7 on the clock, for a minute: 1.71e10.
		{"a flood", short, ReplayOptions{RateScale: 1e9, Duration: time.Minute, Loop: true}, "short.csv: looped at rate scale 1e+09 for 1m0s it sends 1.71e+10 requests, more than the 1e+09"},
		// 2 requests per 7.5 us for a second: 266,667.
		{"compressed and looped", short, ReplayOptions{RateScale: 1e6, Duration: time.Second, Loop: true}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReplay(tc.tr, tc.o, rand.New(rand.NewPCG(1, 1)), tokens, tokens)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("error = %v, want a replay", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestReplayScalesLoopsAndCuts(t *testing.T) {
	tr, err := ParseTrace("t.csv", strings.NewReader("t_seconds,input_tokens,output_tokens\r\n0,10,0\r\n2,20,5\r\n4,30,6\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	// Rate scale 2 halves the times; one pass lasts (4s + mean gap 4/3s)/2;
	// looping until 6s fits two passes plus the first request of a third.
	src, err := NewReplay(tr, ReplayOptions{RateScale: 2, Duration: 6 * time.Second, Loop: true}, rand.New(rand.NewPCG(1, 1)), tokens, tokens)
	if err != nil {
		t.Fatal(err)
	}
	span := 4*time.Second + 4*time.Second/3
	pass := time.Duration(float64(span) / 2)
	want := []time.Duration{0, time.Second, 2 * time.Second, pass, pass + time.Second, pass + 2*time.Second, 2 * pass}
	var got []time.Duration
	for {
		r, ok := src.Next()
		if !ok {
			break
		}
		if len(got) == 0 && (r.Input != 10 || r.Output != 1) {
			t.Errorf("first request tokens = %d/%d, want 10/1 (zero output counts as one)", r.Input, r.Output)
		}
		got = append(got, r.At)
	}
	if len(got) != len(want) {
		t.Fatalf("arrivals %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("arrival %d at %v, want %v", i, got[i], want[i])
		}
	}
}

// Without Loop a trace ends at its last request, as a pattern ends at its
// length: a longer Duration cuts nothing, and before this the run idled
// on until it, its fleet's GPU-hours counted.
func TestReplayWithoutLoopIsCutNeverExtended(t *testing.T) {
	tr, err := ParseTrace("t.csv", strings.NewReader("t_seconds\n0\n2\n4\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		duration, want time.Duration
	}{
		{0, 2*time.Second + time.Nanosecond},
		{time.Hour, 2*time.Second + time.Nanosecond},
		{time.Second, time.Second},
	} {
		src, err := NewReplay(tr, ReplayOptions{RateScale: 2, Duration: tc.duration}, rand.New(rand.NewPCG(1, 1)), tokens, tokens)
		if err != nil {
			t.Fatal(err)
		}
		if got := src.End(); got != tc.want {
			t.Errorf("duration %v: ends at %v, want %v", tc.duration, got, tc.want)
		}
	}
}

func TestSharedTraceLoads(t *testing.T) {
	tr, err := LoadTrace("../../../shared/traces/azure-llm-code-2023.csv")
	if err != nil {
		t.Fatalf("the shared trace must load: %v", err)
	}
	if len(tr.Requests) != 8819 || !tr.HasTokens {
		t.Errorf("requests = %d (tokens %v), want 8819 with tokens", len(tr.Requests), tr.HasTokens)
	}
}

// A pattern that parses must build a source: its draws are made up front,
// so a parameter that slipped past Validate shows here as a panic or an
// allocation the fuzzer reports.
func FuzzParsePattern(f *testing.F) {
	for _, spec := range []string{"ramp", "periodic:jitter=0.2", "random:period=2m,duration=30m", "spike:peak=60,spike=2m,period=8m", "spike:period=1ns"} {
		f.Add(spec)
	}
	in, out := workload.TokenDist{Median: 100, Sigma: 0.5, Min: 1, Max: 1000}, workload.TokenDist{Median: 10, Sigma: 0.5, Min: 1, Max: 100}
	f.Fuzz(func(t *testing.T, spec string) {
		p, err := ParsePattern(spec, 8)
		if err != nil {
			return
		}
		src, err := NewPatternSource(p, rand.New(rand.NewPCG(1, 2)), in, out)
		if err != nil {
			t.Fatalf("%q parsed but builds no source: %v", spec, err)
		}
		for _, at := range []time.Duration{0, p.Duration / 2, p.Duration} {
			if r := src.Rate(at); !(r >= 0) || math.IsInf(r, 0) {
				t.Fatalf("%q: rate %v at %v", spec, r, at)
			}
		}
	})
}

func FuzzParseTrace(f *testing.F) {
	f.Add("t_seconds,input_tokens,output_tokens\n0.000,4808,10\n0.052,3180,8\n")
	f.Add("t_seconds\n1\n2\n")
	f.Add(azureHeader + "2023-11-16 18:17:03.9799600,4808,10\r\n2024-05-10 00:00:00.009930+00:00,2162,5")
	f.Fuzz(func(t *testing.T, data string) {
		tr, err := ParseTrace("fuzz.csv", strings.NewReader(data))
		if err != nil {
			return
		}
		for i := 1; i < len(tr.Requests); i++ {
			if tr.Requests[i].At < tr.Requests[i-1].At {
				t.Fatalf("accepted out-of-order rows %d and %d", i-1, i)
			}
		}
	})
}

// azureClock parses what parseAzureTime parses, to the nanosecond, and
// refuses what it refuses, whatever the row before.
func FuzzAzureClock(f *testing.F) {
	for _, pair := range [][2]string{
		{"2023-11-16 18:17:03.9799600", "2023-11-16 18:17:03.9899600"},
		{"2024-05-10 00:00:00.009930+00:00", "2024-05-10 00:00:00.5+00:00"},
		{"2024-05-10 00:00:00.009930+00:00", "2024-05-10 00:00:00+00:00.5"},
		{"2023-11-16 18:17:03.5", "2023-11-16 18:17:03.1234567891"},
		{"2023-11-16 18:17:03.5", "2023-11-16 18:17:03"},
		{"2023-11-16 18:17:03.5", "2023-11-16 18:17:03.x"},
		{"2023-11-16 8:17:03.5", "2023-11-16 8:17:03.25"},
		{"2024-05-10 00:00:00.1-07:00", "2024-05-10 00:00:00.2Z"},
	} {
		f.Add(pair[0], pair[1])
	}
	f.Fuzz(func(t *testing.T, first, second string) {
		var clock azureClock
		for _, value := range []string{first, second, first} {
			want, wantErr := parseAzureTime([]byte(value))
			got, err := clock.parse([]byte(value))
			if (err != nil) != (wantErr != nil) || !got.Equal(want) {
				t.Fatalf("after %q: %q parsed to %v (%v), time.Parse gives %v (%v)", first, value, got, err, want, wantErr)
			}
		}
	})
}

// A file's size sizes the request slice once, at about the number of
// rows; a size that is off, as a file growing while it is read would
// make it, changes only the allocation.
func TestParseTraceSizedByTheFile(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(headerTokens + "\n")
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 3 * sizingRows {
		fmt.Fprintf(&sb, "%d.%d,%d,%d\n", i, rng.IntN(1000), rng.IntN(100000), rng.IntN(1000))
	}
	file := sb.String()
	want, err := ParseTrace("t.csv", strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{int64(len(file)), int64(len(file)) / 3, 3 * int64(len(file)), 1} {
		got, err := parseTrace("t.csv", strings.NewReader(file), size, maxRequests)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Requests, want.Requests) {
			t.Errorf("size %d: the requests differ from the unsized parse's", size)
		}
		if size == int64(len(file)) && cap(got.Requests) > len(got.Requests)*105/100 {
			t.Errorf("sized by the file's own size: capacity %d for %d requests, want within 5%%", cap(got.Requests), len(got.Requests))
		}
	}
}

// A trace with more requests than a run may replay is refused at the row
// past the bound, and a size that promises more rows than that allocates
// no more than the bound's.
func TestParseTraceRefusesMoreRowsThanARunMayReplay(t *testing.T) {
	const limit = 2 * sizingRows
	var sb strings.Builder
	sb.WriteString(headerTimes + "\n")
	for i := range limit {
		fmt.Fprintf(&sb, "%d\n", i)
	}
	atLimit := sb.String()
	tr, err := parseTrace("t.csv", strings.NewReader(atLimit), 1<<40, limit)
	if err != nil {
		t.Fatalf("%d rows, at the bound: %v", limit, err)
	}
	// Unbounded, 1 TiB at ~5 bytes a row would ask for 3.5 TB of requests.
	// The allocator rounds a capacity up to its size class.
	if len(tr.Requests) != limit || cap(tr.Requests) > 2*limit {
		t.Errorf("sized by a 1 TiB file: %d requests at capacity %d, want %d and about the bound", len(tr.Requests), cap(tr.Requests), limit)
	}
	_, err = parseTrace("t.csv", strings.NewReader(atLimit+"8192\n8193\n"), 0, limit)
	want := fmt.Sprintf("t.csv:%d: more than 8e+03 requests, more than a run may replay", limit+2)
	if err == nil || err.Error() != want {
		t.Errorf("%d rows, one past the bound: error %v, want %q", limit+1, err, want)
	}
}

// BenchmarkParseTrace measures reading a trace in each of its forms, in
// rows per second: Azure's 2024 week-long conversation trace is 27.3
// million rows.
func BenchmarkParseTrace(b *testing.B) {
	const rows = 200_000
	start := time.Date(2024, 5, 10, 0, 0, 0, 0, time.UTC)
	forms := []struct {
		name, header string
		row          func(at time.Duration) string
	}{
		{"seconds", headerTokens, func(at time.Duration) string {
			return fmt.Sprintf("%.6f,1020,210\n", at.Seconds())
		}},
		{"azure-2023", headerAzure, func(at time.Duration) string {
			return start.Add(at).Format("2006-01-02 15:04:05.0000000") + ",1020,210\r\n"
		}},
		{"azure-2024", headerAzure, func(at time.Duration) string {
			return start.Add(at).Format("2006-01-02 15:04:05.000000-07:00") + ",1020,210\n"
		}},
	}
	for _, f := range forms {
		var sb strings.Builder
		sb.WriteString(f.header + "\n")
		for i := range rows {
			// 45 requests a second, the week-long trace's mean.
			sb.WriteString(f.row(time.Duration(i) * time.Second / 45))
		}
		file := sb.String()
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(len(file)))
			b.ReportAllocs()
			for b.Loop() {
				tr, err := ParseTrace(f.name, strings.NewReader(file))
				if err != nil || len(tr.Requests) != rows {
					b.Fatalf("%d requests, %v", len(tr.Requests), err)
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
