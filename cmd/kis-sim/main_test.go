package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kisproject/kis/policy"
	"github.com/kisproject/kis/policy/ppo"
	"github.com/kisproject/kis/sim/eval"
	"github.com/kisproject/kis/sim/rl"
)

// TestMain runs main instead of the tests when a test starts this binary
// as kis-sim, to send it signals. It closes file descriptor 3, which
// startMain waits on, once main catches them.
func TestMain(m *testing.M) {
	if os.Getenv("KIS_SIM_AS_MAIN") == "1" {
		caught := os.NewFile(3, "signals caught")
		testHookSignalsCaught = func() { caught.Close() }
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// mainProcess is kis-sim's main running in a child process.
type mainProcess struct {
	*os.Process
	stderr bytes.Buffer // read once exited has answered
	exited chan error
}

// startMain starts kis-sim's main with args and returns once it catches
// the first signal.
func startMain(t *testing.T, args ...string) *mainProcess {
	t.Helper()
	caught, caughtW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer caught.Close()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "KIS_SIM_AS_MAIN=1")
	cmd.ExtraFiles = []*os.File{caughtW}
	p := &mainProcess{exited: make(chan error, 1)}
	cmd.Stderr = &p.stderr
	err = cmd.Start()
	caughtW.Close()
	if err != nil {
		t.Fatal(err)
	}
	p.Process = cmd.Process
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	// The child closes its end once it catches signals, or exits; either
	// ends the read.
	caught.SetReadDeadline(time.Now().Add(time.Minute))
	if _, err := caught.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("waiting for kis-sim to catch signals: %v", err)
	}
	return p
}

// wait returns how the process ended, failing the test if it has not
// within timeout.
func (p *mainProcess) wait(t *testing.T, timeout time.Duration, after string) syscall.WaitStatus {
	t.Helper()
	select {
	case err := <-p.exited:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		if exit == nil {
			return 0
		}
		return exit.ProcessState.Sys().(syscall.WaitStatus)
	case <-time.After(timeout):
		t.Fatalf("still running %s after %s", timeout, after)
		return 0
	}
}

// A signal stops a simulation that would run for minutes, with a shell's
// exit status for it (128 + the signal's number).
func TestASignalStopsALongRun(t *testing.T) {
	// About 4e8 requests: minutes of simulation.
	p := startMain(t, "run", "--scenario", "ramp:peak=300,duration=720h", "--scaler", "fixed:8")
	p.Signal(syscall.SIGTERM)
	status := p.wait(t, 10*time.Second, "SIGTERM")
	if status.ExitStatus() != 128+int(syscall.SIGTERM) {
		t.Errorf("exit status %d, want %d", status.ExitStatus(), 128+int(syscall.SIGTERM))
	}
	if got, want := p.stderr.String(), "kis-sim: stopped by SIGTERM\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
}

// A signal stops training too, after it has written the curve of the
// iterations done.
func TestASignalStopsTrainingWithItsCurve(t *testing.T) {
	dir := t.TempDir()
	p := startMain(t, "train", "--out", dir, "--iterations", "100000", "--episodes", "2", "--episode-length", "5m", "--validate-every", "100000")
	// Each checkpoint saves the curve too: one has been written.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, "checkpoint.json")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint after a minute of training")
		}
	}
	p.Signal(os.Interrupt)
	status := p.wait(t, 30*time.Second, "SIGINT")
	if status.ExitStatus() != 128+int(syscall.SIGINT) || !strings.HasSuffix(p.stderr.String(), "kis-sim: stopped by SIGINT\n") {
		t.Errorf("exit status %d, stderr %q; want %d and 'stopped by SIGINT'", status.ExitStatus(), p.stderr.String(), 128+int(syscall.SIGINT))
	}
	curve, err := os.ReadFile(filepath.Join(dir, "curve.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if rows := strings.Count(string(curve), "\n") - 1; rows < 1 {
		t.Errorf("curve.csv has %d iterations after a checkpoint, want some:\n%s", rows, curve)
	}
	if _, err := os.Stat(filepath.Join(dir, "curve.svg")); err != nil {
		t.Error(err)
	}
}

// The first signal is kis-sim's to handle, but not everything watches for
// it: while kis-sim waits on a trace read from a pipe, the second ends the
// process.
func TestSecondSignalEndsTheProcess(t *testing.T) {
	pipe := filepath.Join(t.TempDir(), "trace.csv")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatal(err)
	}
	// Nothing writes to the pipe, so opening it blocks.
	p := startMain(t, "run", "--scenario", pipe)
	p.Signal(os.Interrupt)
	select {
	case err := <-p.exited:
		t.Fatalf("the first signal ended the process (%v); kis-sim should have caught it", err)
	case <-time.After(time.Second):
	}
	p.Signal(os.Interrupt)
	if status := p.wait(t, 10*time.Second, "the second signal"); status.Signal() != syscall.SIGINT {
		t.Errorf("after the second signal: %v, want killed by SIGINT", status)
	}
}

func execute(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

func TestRunWritesJSONAndPlots(t *testing.T) {
	dir := t.TempDir()
	out, err := execute(t, "run", "--scenario", "spike:duration=5m", "--scaler", "queue", "--json", "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "]")+1]), &rows); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if len(rows) != 1 || rows[0]["scaler"] != "queue" || rows[0]["sim_seconds"] != 300.0 {
		t.Errorf("rows = %v", rows)
	}
	for _, f := range []string{"series.csv", "timeline.svg"} {
		if _, err := os.Stat(filepath.Join(dir, "spike_duration-5m__queue", f)); err != nil {
			t.Error(err)
		}
	}
}

func TestEvalTable(t *testing.T) {
	out, err := execute(t, "eval", "--scenarios", "ramp:duration=5m,spike:duration=5m", "--scalers", "fixed:2,oracle")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(out, "\n"); got != 5 {
		t.Errorf("table has %d lines, want a header and 4 rows:\n%s", got, out)
	}
}

// A run's series that cannot be written cost the table nothing: it is
// printed first, as run prints its row first.
func TestEvalPrintsTheTableBeforeTheSeries(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "spike_duration-1m__fixed_2"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := execute(t, "eval", "--scenarios", "spike:duration=1m", "--scalers", "fixed:2", "--out", dir)
	if err == nil || !strings.Contains(err.Error(), "spike_duration-1m__fixed_2: not a directory") {
		t.Errorf("error = %v, want the run's directory named", err)
	}
	if !strings.Contains(out, "spike:duration=1m") || !strings.Contains(out, "fixed:2") {
		t.Errorf("output lacks the run's row:\n%s", out)
	}
}

// In a mix of patterns and traces the trace-replay flags apply to the
// traces alone.
func TestRateScaleAppliesToTheTracesOfAMix(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "t.csv")
	os.WriteFile(trace, []byte("t_seconds\n0\n30\n60\n120\n"), 0o644)
	simSeconds := func(rateScale string) map[string]float64 {
		out, err := execute(t, "eval", "--scenarios", "spike:duration=2m,"+trace, "--scalers", "fixed:1", "--rate-scale", rateScale, "--json")
		if err != nil {
			t.Fatal(err)
		}
		var rows []eval.Row
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, out)
		}
		got := map[string]float64{}
		for _, r := range rows {
			got[r.Scenario] = r.SimSeconds
		}
		return got
	}
	unscaled, scaled := simSeconds("1"), simSeconds("4")
	if unscaled["spike:duration=2m"] != 120 || scaled["spike:duration=2m"] != 120 {
		t.Errorf("the pattern ran %vs unscaled and %vs at rate scale 4, want 120s both times", unscaled["spike:duration=2m"], scaled["spike:duration=2m"])
	}
	if got, want := scaled["t.csv"], unscaled["t.csv"]/4; math.Abs(got-want) > 1e-6 {
		t.Errorf("the trace ran %vs at rate scale 4, want a quarter of its unscaled %vs", got, unscaled["t.csv"])
	}
}

func TestCompareRunsEachSettingOnce(t *testing.T) {
	// "oracle" and "predictive" as baselines are already in the sweeps:
	// one row each, not two.
	// --out gets the table; stdout nothing.
	table := filepath.Join(t.TempDir(), "table.md")
	stdout, err := execute(t, "compare", "--scenarios", "ramp:duration=5m", "--baselines", "oracle,predictive,fixed:2", "--out", table)
	if err != nil {
		t.Fatal(err)
	}
	if stdout != "" {
		t.Errorf("compare --out printed %q", stdout)
	}
	data, err := os.ReadFile(table)
	if err != nil {
		t.Fatal(err)
	}
	out := string(data)
	if !strings.Contains(out, "| matched oracle |") || !strings.Contains(out, "| tuned predictive |") ||
		strings.Count(out, "| ramp:duration=5m | `oracle` |") != 1 || strings.Count(out, "| ramp:duration=5m | `predictive` |") != 1 ||
		!strings.Contains(out, "| ramp:duration=5m | `fixed:2` |") {
		t.Errorf("compare output:\n%s", out)
	}
}

// The command above a comparison table runs as written: a shell reads
// shellJoin's line back as the same arguments.
func TestShellJoinRoundTrips(t *testing.T) {
	args := []string{"--seeds", "10", "--scenarios", "spike,random", "--baselines",
		`"schedule:high=6,lead=80s","schedule:high=7"`, "a b", "it's", "", "$HOME", "--out", "docs/t.md"}
	out, err := exec.Command("bash", "-c", `printf '%s\0' `+shellJoin(args)).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if !slices.Equal(got, args) {
		t.Errorf("bash read %q back as %q", shellJoin(args), got)
	}
	if line := shellJoin([]string{"--seeds", "10", "--baselines", "queue,fixed:8"}); line != "--seeds 10 --baselines queue,fixed:8" {
		t.Errorf("plain arguments quoted: %s", line)
	}
}

// A policy trained on some patterns is validated on those, unless told
// otherwise.
func TestTrainValidatesOnTheTrainedPatterns(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "training on ramp, periodic, random, spike; validating on ramp, periodic, random, spike"},
		{[]string{"--patterns", "ramp,periodic"}, "training on ramp, periodic; validating on ramp, periodic"},
		{[]string{"--patterns", "ramp", "--validation-scenarios", "spike:duration=5m"}, "training on ramp; validating on spike:duration=5m"},
	} {
		args := append([]string{"train", "--out", t.TempDir(), "--iterations", "1", "--episodes", "1", "--episode-length", "5m",
			"--validate-every", "1", "--validation-episodes", "1"}, tc.args...)
		out, err := execute(t, args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		if !strings.Contains(out, tc.want) {
			t.Errorf("%v: output does not say %q:\n%s", tc.args, tc.want, out)
		}
	}
	if out, err := execute(t, "train", "--out", t.TempDir(), "--patterns", "ramp,square"); err == nil || !strings.Contains(err.Error(), `unknown pattern "square"`) {
		t.Errorf("--patterns ramp,square: %v\n%s", err, out)
	}
}

// trainShort trains into dir with two 5-minute episodes per iteration and
// a validation after each, plus the extra flags.
func trainShort(t *testing.T, dir string, extra ...string) {
	t.Helper()
	args := append([]string{"train", "--out", dir, "--episodes", "2", "--episode-length", "5m",
		"--validate-every", "1", "--validation-episodes", "1", "--validation-scenarios", "ramp:duration=5m"}, extra...)
	if out, err := execute(t, args...); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
}

// trainOneIteration trains one short iteration with the extra flags and
// returns the model.json it wrote.
func trainOneIteration(t *testing.T, extra ...string) *policy.Model {
	t.Helper()
	dir := t.TempDir()
	trainShort(t, dir, append([]string{"--iterations", "1"}, extra...)...)
	m, err := policy.LoadModelFile(filepath.Join(dir, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// --autodiff gorgonia trains through gorgonia and says so in the model
// file; the default leaves the training config as it was before the
// option existed, so that make train still reproduces the embedded model.
func TestTrainAutodiff(t *testing.T) {
	for _, tc := range []struct {
		autodiff string
		want     bool
	}{{"backprop", false}, {"gorgonia", true}} {
		m := trainOneIteration(t, "--autodiff", tc.autodiff)
		// Only a gorgonia run mentions it at all.
		if got := strings.Contains(string(m.Training), `"gorgonia":true`); got != tc.want || strings.Contains(string(m.Training), "gorgonia") != tc.want {
			t.Errorf("--autodiff %s: training config %s", tc.autodiff, m.Training)
		}
	}
	if _, err := execute(t, "train", "--out", t.TempDir(), "--autodiff", "tensorflow"); err == nil || !strings.Contains(err.Error(), `--autodiff "tensorflow"`) {
		t.Errorf("--autodiff tensorflow: %v", err)
	}
}

// The PPO settings the docs' experiments vary are flags, and the model
// file records what a run used.
func TestTrainPPOFlagsReachTheModel(t *testing.T) {
	m := trainOneIteration(t, "--learning-rate", "0.0003", "--gamma", "0.99", "--entropy-coef", "0.03")
	var got ppo.PPOConfig
	if err := json.Unmarshal(m.Training, &got); err != nil {
		t.Fatal(err)
	}
	want := ppo.DefaultPPOConfig()
	want.LearningRate, want.Gamma, want.EntropyCoef = 0.0003, 0.99, 0.03
	if got.LearningRate != want.LearningRate || got.Gamma != want.Gamma || got.EntropyCoef != want.EntropyCoef || got.Lambda != want.Lambda {
		t.Errorf("training config %s, want learning rate, gamma, entropy coef %v, %v, %v and the default lambda",
			m.Training, want.LearningRate, want.Gamma, want.EntropyCoef)
	}
}

// A run's decision rule is its models': validation scored them by it, so
// a resumed run keeps it, and refuses another one asked for explicitly.
func TestTrainDecision(t *testing.T) {
	if m := trainOneIteration(t); m.Decision != policy.DecisionExpected {
		t.Errorf("default: model decides %q, want %q", m.Decision, policy.DecisionExpected)
	}
	dir := t.TempDir()
	trainShort(t, dir, "--iterations", "1", "--decision", "greedy")
	trainShort(t, dir, "--iterations", "1", "--resume")
	for _, name := range []string{"model.json", "checkpoint.json"} {
		m, err := policy.LoadModelFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if m.Decision != policy.DecisionGreedy {
			t.Errorf("resumed %s decides %q, want the run's greedy", name, m.Decision)
		}
	}
	_, err := execute(t, "train", "--out", dir, "--iterations", "1", "--resume", "--decision", "expected")
	if err == nil || !strings.Contains(err.Error(), "the checkpoint decides greedy, not --decision expected") {
		t.Errorf("resuming with another decision: %v", err)
	}
}

func TestTrainResumesWithoutLosingTheBestModel(t *testing.T) {
	// unbeatable is the best score either rule knows: no reward term
	// costs, nothing missed, at a cost that makes any later validation
	// unaffordable; beatable is the worst.
	unbeatable := rl.Validation{Reward: 0, OverSLO: 0, GPUHours: 1e-9}
	beatable := rl.Validation{Reward: -1e9, OverSLO: 1e12, GPUHours: 1e9}
	none := rl.Validation{Reward: math.NaN(), OverSLO: math.NaN(), GPUHours: math.NaN()}
	for _, keepBy := range []string{"misses", "reward"} {
		t.Run(keepBy, func(t *testing.T) {
			dir := t.TempDir()
			trainShort(t, dir, "--iterations", "2", "--keep-by", keepBy)
			// Pretend an earlier validation scored what no policy can beat:
			// the resumed run must keep model.json.
			curvePath := filepath.Join(dir, "curve.csv")
			rows, err := readCurve(curvePath)
			if err != nil || len(rows) != 2 {
				t.Fatalf("curve after 2 iterations: %d rows, %v", len(rows), err)
			}
			rows[0].Validation = unbeatable
			if err := saveCurve(dir, rows); err != nil {
				t.Fatal(err)
			}
			best, err := os.ReadFile(filepath.Join(dir, "model.json"))
			if err != nil {
				t.Fatal(err)
			}
			checkpoint, err := os.ReadFile(filepath.Join(dir, "checkpoint.json"))
			if err != nil {
				t.Fatal(err)
			}
			trainShort(t, dir, "--iterations", "1", "--resume", "--keep-by", keepBy)
			if rows, err = readCurve(curvePath); err != nil || len(rows) != 3 || rows[2].Iteration != 3 {
				t.Fatalf("curve after resuming for 1 iteration: %+v, %v; want iterations 1-3", rows, err)
			}
			if !rows[2].Validation.Validated() {
				t.Fatalf("iteration 3 has no validation: %+v", rows[2])
			}
			if after, _ := os.ReadFile(filepath.Join(dir, "model.json")); !bytes.Equal(after, best) {
				t.Error("the resumed run replaced model.json with a model that scored worse")
			}
			if after, _ := os.ReadFile(filepath.Join(dir, "checkpoint.json")); bytes.Equal(after, checkpoint) {
				t.Error("the resumed run did not update checkpoint.json")
			}

			// Earlier scores any policy beats, and an iteration without a
			// validation (NaN in the curve): the next resumed run must
			// replace model.json.
			rows[0].Validation, rows[1].Validation, rows[2].Validation = none, beatable, beatable
			if err := saveCurve(dir, rows); err != nil {
				t.Fatal(err)
			}
			best, _ = os.ReadFile(filepath.Join(dir, "model.json"))
			trainShort(t, dir, "--iterations", "1", "--resume", "--keep-by", keepBy)
			if after, _ := os.ReadFile(filepath.Join(dir, "model.json")); bytes.Equal(after, best) {
				t.Error("the resumed run kept a model.json that its validation beat")
			}
		})
	}
	if _, err := execute(t, "train", "--out", t.TempDir(), "--resume"); err == nil || !strings.Contains(err.Error(), "--resume: ") {
		t.Errorf("resuming without a checkpoint: %v, want an error naming --resume", err)
	}
}

// Bad input gives one line naming the problem.
func TestBadInput(t *testing.T) {
	badCluster := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(badCluster, []byte("nodePools:\n- name: a\n  count: -1\n"), 0o644)
	badTrace := filepath.Join(t.TempDir(), "t.csv")
	os.WriteFile(badTrace, []byte("t_seconds\n1\nx\n"), 0o644)
	shortTrace := filepath.Join(t.TempDir(), "short.csv")
	os.WriteFile(shortTrace, []byte("t_seconds\n0\n5\n"), 0o644)
	// A kubeconfig that loads, for a server that is not there: the listen
	// address and the scenario are checked before any request is sent.
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\ncontexts:\n- name: c\n  context: {cluster: c}\ncurrent-context: c\n"), 0o644)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--scaler", "hpa:gpu=-5"}, "target averageValue must be in [0.001, 9.2e+15], got -5"},
		{[]string{"run", "--scaler", "hpa:queue=0.0001"}, "target averageValue must be in [0.001, 9.2e+15], got 0.0001"},
		{[]string{"run", "--scaler", "hpa:gpu=101,queue=3"}, `scaler "hpa:gpu=101,queue=3": gpu 101: a utilisation target is a percent, at most 100`},
		{[]string{"run", "--scenario", "spike:peak=oops"}, `pattern "spike:peak=oops": parameter peak`},
		{[]string{"run", "--cluster", badCluster}, "c.yaml:3: nodePools[0].count: must be in [1, 5000], got -1"},
		{[]string{"run", "--scenario", badTrace}, `t.csv:3: t_seconds "x"`},
		{[]string{"run", "--scenario", "spike:peak=1e300"}, "pattern spike: peak 1e+300 for 1h0m0s draws up to"},
		{[]string{"run", "--scenario", shortTrace, "--rate-scale", "1e-300"}, "rate scale 1e-300 stretches its 5s past"},
		{[]string{"run", "--scenario", shortTrace, "--rate-scale", "1e300", "--loop", "--duration", "1m"}, "compresses a pass of its 5s to under a nanosecond"},
		{[]string{"run", "--profile", "video"}, `--profile: unknown profile "video"`},
		{[]string{"run", "--loop"}, "--loop needs --duration"},
		{[]string{"eval", "--scalers", "hpa,nope"}, `unknown scaler "nope"`},
		{[]string{"compare", "--baselines", "hpa:", "--duration", "1m"}, `scaler "hpa:": nothing follows the colon; "hpa" alone takes the defaults`},
		{[]string{"run", "--seed", "-1"}, "invalid argument"},
		{[]string{"compare", "--seeds", "0"}, "--seeds 0: want at least 1"},
		{[]string{"compare", "--out", filepath.Join(t.TempDir(), "missing", "t.md")}, "--out: stat "},
		{[]string{"compare", "--out", t.TempDir()}, "is a directory; want the table's file name"},
		{[]string{"compare", "--out", filepath.Join(badTrace, "t.md")}, "t.csv is not a directory"},
		{[]string{"run", "--out", badTrace}, "--out: mkdir " + badTrace + ": not a directory"},
		{[]string{"eval", "--out", badTrace}, "--out: mkdir " + badTrace + ": not a directory"},
		{[]string{"train", "--out", badTrace}, "--out: mkdir " + badTrace + ": not a directory"},
		{[]string{"train", "--trace-share", "0.5"}, "trace share 0.5 without traces"},
		{[]string{"train", "--uncosted-share", "2"}, "uncosted share 2"},
		{[]string{"train", "--bursty-share", "-1"}, "bursty share -1"},
		{[]string{"train", "--validation-episodes", "0"}, "validation episodes 0: want >= 1"},
		{[]string{"run", "--initial-replicas", "30"}, "initial replicas must be in [0, max replicas 20], got 30"},
		{[]string{"run", "--scenario", "ramp", "--rate-scale", "0"}, "rate scale must be finite and > 0, got 0"},
		{[]string{"run", "--scenario", "ramp", "--rate-scale", "4"}, "--rate-scale 4: applies to trace replay, and no scenario is a trace (ramp)"},
		{[]string{"run", "--scenario", "ramp", "--loop", "--duration", "2h"}, "--loop: applies to trace replay, and no scenario is a trace (ramp)"},
		{[]string{"compare", "--scenarios", "spike,random", "--rate-scale", "4"}, "no scenario is a trace (spike, random)"},
		{[]string{"train", "--validation-scenarios=", "--rate-scale", "2"}, "no scenario is a trace (none given)"},
		{[]string{"run", "--loop", "--duration", "1000h"}, "duration must be in [0, 720h0m0s], got 1000h0m0s"},
		{[]string{"run", "--scheduler", "binpack"}, `--scheduler: unknown placement "binpack" (known: kis-scheduler, default-scheduler, first-fit)`},
		{[]string{"run", "--scaler", "fixed:30"}, `scaler "fixed:30": want fixed:<replicas in [1, max replicas 20]>`},
		{[]string{"run", "--scaler", "hpa:gpu=80,cpu=50"}, `unknown parameter "cpu" (known: gpu, queue, tolerance, down)`},
		{[]string{"eval", "--scalers", "fixed:2,fixed:2"}, `scaler "fixed:2" is listed twice`},
		{[]string{"eval", "--parallel", "0"}, "parallel runs 0: want >= 1"},
		{[]string{"train", "--traces", badTrace, "--trace-share", "0.5"}, `t.csv:3: t_seconds "x"`},
		{[]string{"train", "--trace-rate-scale", "3"}, "--trace-rate-scale: want two numbers"},
		{[]string{"train", "--learning-rate", "0"}, "learning rate 0 must be in (0, 1)"},
		{[]string{"train", "--gamma", "1.5"}, "gamma 1.5 must be in (0, 1]"},
		{[]string{"train", "--entropy-coef", "-0.1"}, "entropy coef -0.1 must be >= 0"},
		{[]string{"train", "--decision", "sampled"}, `decision "sampled": want greedy or expected`},
		{[]string{"eval", "--scenarios", "spike", "--scalers", "kis:a/m.json,kis:a_m.json", "--out", "out"}, "--out: spike x kis:a/m.json and spike x kis:a_m.json would both write spike__kis_a_m.json"},
		{[]string{"live", "--deployment", "llm"}, `--deployment: want NAMESPACE/NAME, got "llm"`},
		{[]string{"live", "--deployment", "serving/llm/v2"}, `--deployment "serving/llm/v2": name "llm/v2": a lowercase RFC 1123 subdomain`},
		{[]string{"live", "--deployment", "Serving/llm"}, `--deployment "Serving/llm": namespace "Serving": a lowercase RFC 1123 label`},
		{[]string{"live", "--deployment", "default/llm", "--kubeconfig", kubeconfig, "--sync-interval", "0s"}, "--sync-interval 0s: want > 0"},
		{[]string{"live", "--deployment", "default/llm", "--scheduler", "default-scheduler"}, "unknown flag: --scheduler"},
		{[]string{"live", "--deployment", "default/llm", "--kubeconfig", filepath.Join(t.TempDir(), "missing")}, "--kubeconfig: stat "},
		{[]string{"live", "--deployment", "default/llm", "--kubeconfig", kubeconfig, "--listen-address", "nowhere"}, "--listen-address: listen tcp: address nowhere: missing port"},
		{[]string{"live", "--deployment", "default/llm", "--kubeconfig", kubeconfig, "--listen-address", "127.0.0.1:0", "--scenario", "spike:peak=oops"}, `pattern "spike:peak=oops": parameter peak`},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := execute(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			if _, err := os.Stat("out"); err == nil {
				os.RemoveAll("out")
				t.Error("a rejected command created out/")
			}
		})
	}
}
