package main

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kisproject/kis/sim/autoscale"
	"github.com/kisproject/kis/sim/eval"
	"github.com/kisproject/kis/sim/report"
)

func newEvalCommand() *cobra.Command {
	var (
		f         simFlags
		scenarios []string
		scalers   []string
		parallel  int
		out       string
		asJSON    bool
	)
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Run the evaluation matrix (scenarios x scalers) and print one table",
		Example: `  kis-sim eval
  kis-sim eval --scenarios spike,../shared/traces/azure-llm-code-2023.csv --scalers hpa:queue=3,predictive,oracle --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config(scenarios...)
			if err != nil {
				return err
			}
			if out != "" {
				if err := checkRunDirs(scenarios, scalers); err != nil {
					return err
				}
			}
			if err := makeOutDir(out); err != nil {
				return err
			}
			cfg.RecordSeries = out != ""
			var progress func(done, total int, row eval.Row)
			if progressOut := cmd.ErrOrStderr(); isTerminal(progressOut) {
				progress = func(done, total int, row eval.Row) {
					const width = 30
					bar := strings.Repeat("=", done*width/total) + strings.Repeat(" ", width-done*width/total)
					fmt.Fprintf(progressOut, "\r[%s] %d/%d %-40.40s", bar, done, total, row.Scenario+" x "+row.Scaler)
					if done == total {
						fmt.Fprintln(progressOut)
					}
				}
			}
			rows, err := eval.Matrix(cmd.Context(), cfg, scenarios, scalers, parallel, progress)
			if err != nil {
				return err
			}
			if asJSON {
				err = eval.WriteJSON(cmd.OutOrStdout(), rows)
			} else {
				err = eval.WriteTable(cmd.OutOrStdout(), rows)
			}
			if err != nil {
				return err
			}
			// After the table, as in run: a failed write loses no figure.
			if out != "" {
				for _, r := range rows {
					if err := report.WriteRun(filepath.Join(out, runDirName(r.Scenario, r.Scaler)), r.Result, cfg.Profile.SLO.Seconds()); err != nil {
						return err
					}
				}
			}
			return nil
		},
	}
	f.add(cmd.Flags())
	f.addScaling(cmd.Flags())
	cmd.Flags().StringSliceVar(&scenarios, "scenarios", eval.DefaultScenarios, "comma-separated scenarios: "+scenarioHelp)
	cmd.Flags().StringSliceVar(&scalers, "scalers", eval.DefaultScalers, "comma-separated autoscalers: "+autoscale.Known)
	cmd.Flags().IntVar(&parallel, "parallel", runtime.GOMAXPROCS(0), "runs simulated at once")
	cmd.Flags().StringVar(&out, "out", "", "directory for each run's time series CSV and SVG plot")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array, one object per scenario x scaler")
	return cmd
}

// checkRunDirs refuses, before any run, two cells whose series --out
// would write into one directory (kis:a/m.json and kis:a_m.json), where
// the second would overwrite the first.
func checkRunDirs(scenarios, scalers []string) error {
	cells := map[string]string{}
	for _, sc := range scenarios {
		for _, a := range scalers {
			dir, cell := runDirName(eval.ScenarioName(sc), a), sc+" x "+a
			// A cell listed twice is eval.Matrix's to refuse, by name.
			if other, taken := cells[dir]; taken && other != cell {
				return fmt.Errorf("--out: %s and %s would both write %s", other, cell, dir)
			}
			cells[dir] = cell
		}
	}
	return nil
}
