package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kisproject/kis/internal/atomicfile"
	"github.com/kisproject/kis/sim"
	"github.com/kisproject/kis/sim/eval"
)

func newCompareCommand() *cobra.Command {
	var (
		f         simFlags
		scenarios []string
		model     string
		baselines []string
		parallel  int
		seeds     int
		out       string
	)
	cmd := &cobra.Command{
		Use:   "compare",
		Short: "Judge KIScaler against a tuned HPA, a tuned predictive scaler and the oracle at its SLO attainment (sweeps of their settings), per scenario, as Markdown",
		Example: `  kis-sim compare --scenarios ramp,periodic,random,spike,../shared/traces/azure-llm-code-2023.csv \
    --rate-scale 4 --out docs/results-table.md`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config(scenarios...)
			if err != nil {
				return err
			}
			kis := "kis"
			if model != "" {
				kis = "kis:" + model
			}
			var scalers []string
			for _, s := range slices.Concat([]string{kis}, eval.HPASweep, eval.PredictiveSweep, eval.OracleSweep, baselines) {
				if !slices.Contains(scalers, s) {
					scalers = append(scalers, s)
				}
			}
			if seeds < 1 {
				return fmt.Errorf("--seeds %d: want at least 1", seeds)
			}
			if out != "" {
				if err := checkOutFile(out); err != nil {
					return fmt.Errorf("--out: %w", err)
				}
			}
			// Every seed replays the same trace files.
			cfg.Traces = sim.NewTraceCache()
			var runs [][]eval.Row
			for k := range seeds {
				seeded := cfg
				seeded.Seed = cfg.Seed + uint64(k)
				rows, err := eval.Matrix(cmd.Context(), seeded, scenarios, scalers, parallel, nil)
				if err != nil {
					return err
				}
				runs = append(runs, rows)
			}
			rows, err := eval.Pool(runs)
			if err != nil {
				return err
			}
			cmps, err := eval.Compare(rows, kis)
			if err != nil {
				return err
			}
			command := "go run ./cmd/kis-sim compare " + shellJoin(os.Args[2:])
			write := func(w io.Writer) error { return eval.WriteMarkdown(w, cmps, command, seeds) }
			if out == "" {
				return write(cmd.OutOrStdout())
			}
			// The table replaces a committed one: whole, or not at all.
			if err := atomicfile.Write(out, write); err != nil {
				return fmt.Errorf("writing %s: %w", out, err)
			}
			return nil
		},
	}
	f.add(cmd.Flags())
	f.addScaling(cmd.Flags())
	cmd.Flags().StringSliceVar(&scenarios, "scenarios", eval.DefaultScenarios, "comma-separated scenarios: "+scenarioHelp)
	cmd.Flags().StringVar(&model, "model", "", "KIScaler model file (default: the embedded model)")
	cmd.Flags().StringSliceVar(&baselines, "baselines", []string{"queue", "fixed:8"}, "other scalers to show for context")
	cmd.Flags().IntVar(&seeds, "seeds", 1, "runs per scenario and scaler, with seeds --seed, --seed+1, ...; their results are pooled")
	cmd.Flags().IntVar(&parallel, "parallel", runtime.GOMAXPROCS(0), "runs simulated at once")
	cmd.Flags().StringVar(&out, "out", "", "write the Markdown here instead of stdout")
	return cmd
}

// checkOutFile reports what would stop a file being written at path. A
// hundred seeds run for most of an hour: a mistyped --out must fail before
// them, not after.
func checkOutFile(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory; want the table's file name", path)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}

// shellJoin joins args into a command line a shell reads back as the same
// args: a table's command must run as written, and a scaler spec with
// parameters (--baselines '"hpa:gpu=60,down=0s"') needs its quotes.
func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = a
		if a == "" || strings.ContainsFunc(a, needsQuoting) {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(quoted, " ")
}

func needsQuoting(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,+@%", r))
}
