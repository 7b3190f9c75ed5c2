package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kisproject/kis/internal/atomicfile"
	"github.com/kisproject/kis/policy"
	"github.com/kisproject/kis/policy/ppo"
	"github.com/kisproject/kis/sim"
	"github.com/kisproject/kis/sim/eval"
	"github.com/kisproject/kis/sim/report"
	"github.com/kisproject/kis/sim/rl"
	"github.com/kisproject/kis/sim/traffic"
)

func newTrainCommand() *cobra.Command {
	var (
		f              simFlags
		out            string
		resume         bool
		clusterScale   []float64
		traceRateScale []float64
		reward         = sim.DefaultConfig().Reward
		patterns       []string
		autodiff       string
	)
	cfg := rl.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train KIScaler (PPO) in KISim and write the model, learning curve CSV and plot",
		Long: `Trains the PPO policy on episodes drawn across the four traffic patterns
(or those --patterns names) with randomised parameters on the --cluster,
optionally with each node pool resized in a share of the episodes
(--resized-share, --cluster-scale), and optionally replaying recorded
traces in a share of them (--traces, --trace-share, --trace-rate-scale).
Writes into --out: checkpoint.json (the latest model, saved atomically
after every iteration), model.json (the model --keep-by chooses from
the validations on held-out episodes: by default the trained patterns as
KISim ships them, with seeds nothing else uses), curve.csv and curve.svg.
--resume continues from checkpoint.json (the optimiser's moments start
afresh).`,
		Example: "  kis-sim train --out out/train --iterations 40",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			base, err := f.config(cfg.ValidationScenarios...)
			if err != nil {
				return err
			}
			cfg.Base = base
			// One reading of each trace, for this check and the training.
			cfg.Base.Traces = sim.NewTraceCache()
			cfg.Base.Reward = reward
			cfg.PPO.Seed = f.seed
			switch autodiff {
			case "backprop":
			case "gorgonia":
				cfg.PPO.Gorgonia = true
			default:
				return fmt.Errorf("--autodiff %q: want backprop or gorgonia", autodiff)
			}
			if len(clusterScale) != 2 {
				return fmt.Errorf("--cluster-scale: want two numbers, low,high; got %d", len(clusterScale))
			}
			cfg.ClusterScale = [2]float64{clusterScale[0], clusterScale[1]}
			if len(traceRateScale) != 2 {
				return fmt.Errorf("--trace-rate-scale: want two numbers, low,high; got %d", len(traceRateScale))
			}
			cfg.TraceRateScale = [2]float64{traceRateScale[0], traceRateScale[1]}
			cfg.Patterns = nil
			for _, p := range patterns {
				cfg.Patterns = append(cfg.Patterns, traffic.Kind(p))
			}
			// A policy for some patterns is chosen on those patterns.
			if cmd.Flags().Changed("patterns") && !cmd.Flags().Changed("validation-scenarios") {
				cfg.ValidationScenarios = patterns
			}
			// Bad settings fail before --out is created.
			if err := cfg.Validate(); err != nil {
				return err
			}
			if err := makeOutDir(out); err != nil {
				return err
			}
			modelPath := filepath.Join(out, "model.json")
			checkpointPath := filepath.Join(out, "checkpoint.json")
			var (
				model   *policy.Model
				resumed *rl.Resume
				rows    []rl.Progress
			)
			if resume {
				if model, err = policy.LoadModelFile(checkpointPath); err != nil {
					return fmt.Errorf("--resume: %w", err)
				}
				if model.Decision != cfg.PPO.Decision {
					if cmd.Flags().Changed("decision") {
						return fmt.Errorf("--resume: the checkpoint decides %s, not --decision %s", model.Decision, cfg.PPO.Decision)
					}
					cfg.PPO.Decision = model.Decision
				}
				if rows, err = readCurve(filepath.Join(out, "curve.csv")); err != nil {
					return fmt.Errorf("--resume: %w", err)
				}
				resumed = &rl.Resume{Iterations: len(rows)}
				for _, r := range rows {
					if r.Validation.Validated() {
						resumed.Validations = append(resumed.Validations, r.Validation)
					}
				}
				// model.json is the one the validations so far chose: only
				// a better one may replace it.
				if _, err := os.Stat(modelPath); err == nil {
					resumed.Kept = true
				}
			} else if model, err = ppo.NewModel(cfg.PPO); err != nil {
				return err
			}
			progressOut := cmd.ErrOrStderr()
			tty := isTerminal(progressOut)
			validation := "episodes drawn like the training ones"
			if len(cfg.ValidationScenarios) > 0 {
				validation = strings.Join(cfg.ValidationScenarios, ", ")
			}
			fmt.Fprintf(progressOut, "training on %s; validating on %s\n", strings.Join(kindNames(cfg.Patterns), ", "), validation)
			begin := time.Now()
			start := len(rows)
			progress := func(p rl.Progress) {
				rows = append(rows, p)
				if tty {
					done := p.Iteration - start
					bar := strings.Repeat("=", done*30/cfg.Iterations) + strings.Repeat(" ", 30-done*30/cfg.Iterations)
					fmt.Fprintf(progressOut, "\r[%s] iteration %d, %d episodes, reward %.4f (avg %.4f), SLO %.2f%%", bar, p.Iteration, p.Episodes, p.MeanReward, p.MovingAvg, 100*p.SLO)
				} else {
					fmt.Fprintf(progressOut, "iteration %d: episodes %d reward %.4f avg %.4f SLO %.2f%% GPU-h %.2f", p.Iteration, p.Episodes, p.MeanReward, p.MovingAvg, 100*p.SLO, p.GPUHours)
					if v := p.Validation; v.Validated() {
						fmt.Fprintf(progressOut, "; held out: reward %.4f, %.0f requests over the SLO, GPU-h %.2f", v.Reward, v.OverSLO, v.GPUHours)
					}
					fmt.Fprintln(progressOut)
				}
			}
			checkpoint := func(m *policy.Model) error {
				// The curve is saved with every checkpoint, so that --resume
				// after a crash finds the two in step; its plot waits for
				// the end.
				if err := m.SaveFile(checkpointPath); err != nil {
					return err
				}
				return saveCurve(out, rows)
			}
			err = rl.Train(cmd.Context(), cfg, model, resumed, rl.Hooks{
				Progress: progress, Checkpoint: checkpoint, Best: func(m *policy.Model) error { return m.SaveFile(modelPath) },
			})
			if tty {
				fmt.Fprintln(progressOut)
			}
			if werr := writeCurve(out, rows); werr != nil {
				return errors.Join(err, werr)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "trained %d iterations in %s; wrote %s, curve.csv, curve.svg\n", cfg.Iterations, time.Since(begin).Round(time.Second), modelPath)
			return nil
		},
	}
	f.add(cmd.Flags())
	f.addScaling(cmd.Flags())
	cmd.Flags().StringVar(&out, "out", "out/train", "directory for model.json, curve.csv and curve.svg")
	cmd.Flags().BoolVar(&resume, "resume", false, "continue from --out/checkpoint.json and curve.csv")
	cmd.Flags().IntVar(&cfg.Iterations, "iterations", cfg.Iterations, "PPO iterations (rollouts + update)")
	cmd.Flags().IntVar(&cfg.EpisodesPerIteration, "episodes", cfg.EpisodesPerIteration, "episodes per iteration")
	cmd.Flags().DurationVar(&cfg.EpisodeLength, "episode-length", cfg.EpisodeLength, "simulated time per episode")
	cmd.Flags().IntVar(&cfg.Parallel, "parallel", cfg.Parallel, "episodes simulated at once")
	cmd.Flags().IntVar(&cfg.ValidateEvery, "validate-every", cfg.ValidateEvery, "iterations between validations of the policy as it will serve (--decision, not sampled)")
	cmd.Flags().IntVar(&cfg.ValidationEpisodes, "validation-episodes", cfg.ValidationEpisodes, "held-out episodes per validation")
	cmd.Flags().StringVar((*string)(&cfg.KeepBy), "keep-by", string(cfg.KeepBy), fmt.Sprintf("which validated model becomes model.json: %s (the fewest held-out requests over the SLO among those within %gx the run's fewest held-out GPU-hours so far) or %s (the highest held-out reward; how the embedded model was chosen)", rl.KeepByMisses, rl.KeepCostSlack, rl.KeepByReward))
	cmd.Flags().StringSliceVar(&cfg.ValidationScenarios, "validation-scenarios", eval.DefaultScenarios, "scenarios the held-out validation episodes run, in turn, with seeds nothing else uses; empty: drawn like training episodes")
	cmd.Flags().StringVar((*string)(&cfg.PPO.Decision), "decision", string(cfg.PPO.Decision), fmt.Sprintf("how the model serves, and is validated: %s (the replica count of each action, averaged over the action probabilities) or %s (the most likely action; how the embedded model was chosen)", policy.DecisionExpected, policy.DecisionGreedy))
	cmd.Flags().Float64Var(&cfg.PPO.LearningRate, "learning-rate", cfg.PPO.LearningRate, "PPO: Adam's step size (docs/kiscaler-experiments.md measures 1e-3 against 3e-4)")
	cmd.Flags().Float64Var(&cfg.PPO.Gamma, "gamma", cfg.PPO.Gamma, "PPO: discount per 15 s sync")
	cmd.Flags().Float64Var(&cfg.PPO.EntropyCoef, "entropy-coef", cfg.PPO.EntropyCoef, "PPO: weight of the entropy bonus")
	cmd.Flags().StringVar(&autodiff, "autodiff", "backprop", "how the loss gradient is computed: backprop (hand-written, reproduces the embedded model) or gorgonia (symbolic differentiation of the loss graph; the same gradient to rounding)")
	cmd.Flags().Float64Var(&reward.SLO, "slo-weight", reward.SLO, "reward: price of missing the SLO for every request (see docs/simulator.md)")
	cmd.Flags().Float64Var(&reward.Cost, "cost-weight", reward.Cost, "reward: price of running max replicas' GPUs")
	cmd.Flags().Float64Var(&reward.Churn, "churn-weight", reward.Churn, "reward: price of changing the whole fleet at once")
	cmd.Flags().Float64Var(&cfg.ResizedShare, "resized-share", cfg.ResizedShare, "share of episodes on a resized cluster (0: all on --cluster as given)")
	cmd.Flags().StringSliceVar(&patterns, "patterns", kindNames(cfg.Patterns), "traffic patterns the episodes draw from (fewer: a policy for traffic known to lack the others; validated on them unless --validation-scenarios says otherwise)")
	cmd.Flags().Float64Var(&cfg.BurstyShare, "bursty-share", cfg.BurstyShare, "share of pattern episodes whose rate swings 30-90% every 10 s instead of 5-15%")
	cmd.Flags().Float64Var(&cfg.UncostedShare, "uncosted-share", cfg.UncostedShare, "share of episodes that scale down ignoring pod-deletion-cost, as for pods no kis-scheduler annotated")
	cmd.Flags().StringSliceVar(&cfg.Traces, "traces", nil, "trace CSV files that --trace-share of the episodes replay (looped, at a rate scale from --trace-rate-scale)")
	cmd.Flags().Float64Var(&cfg.TraceShare, "trace-share", cfg.TraceShare, "share of episodes replaying one of --traces instead of a pattern")
	cmd.Flags().Float64SliceVar(&traceRateScale, "trace-rate-scale", cfg.TraceRateScale[:], "low,high: a trace episode's rate scale is drawn from this range")
	cmd.Flags().Float64SliceVar(&clusterScale, "cluster-scale", cfg.ClusterScale[:], "low,high: a resized episode multiplies each node pool's count by a factor from this range")
	return cmd
}

func kindNames(kinds []traffic.Kind) []string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return names
}

// saveCurve writes curve.csv atomically: --resume reads it back.
func saveCurve(dir string, rows []rl.Progress) error {
	return atomicfile.Write(filepath.Join(dir, "curve.csv"), func(w io.Writer) error { return rl.WriteCurve(w, rows) })
}

// writeCurve writes curve.csv and its plot, curve.svg.
func writeCurve(dir string, rows []rl.Progress) error {
	if err := saveCurve(dir, rows); err != nil {
		return err
	}
	it, reward, avg := make([]float64, len(rows)), make([]float64, len(rows)), make([]float64, len(rows))
	for i, r := range rows {
		it[i], reward[i], avg[i] = float64(r.Iteration), r.MeanReward, r.MovingAvg
	}
	return report.WriteCurve(filepath.Join(dir, "curve.svg"), it, reward, avg)
}

func readCurve(path string) ([]rl.Progress, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return rl.ReadCurve(f)
}
