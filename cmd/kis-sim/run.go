package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kisproject/kis/sim/autoscale"
	"github.com/kisproject/kis/sim/eval"
	"github.com/kisproject/kis/sim/report"
)

func newRunCommand() *cobra.Command {
	var (
		f        simFlags
		scenario string
		scaler   string
		out      string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Simulate one scenario with one autoscaler",
		Example: `  kis-sim run --scenario spike --scaler hpa:gpu=80
  kis-sim run --scenario ../shared/traces/azure-llm-code-2023.csv --rate-scale 4 --scaler queue --out out/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config(scenario)
			if err != nil {
				return err
			}
			if err := makeOutDir(out); err != nil {
				return err
			}
			cfg.RecordSeries = out != ""
			row, err := eval.Run(cmd.Context(), cfg, scenario, scaler)
			if err != nil {
				return err
			}
			if asJSON {
				err = eval.WriteJSON(cmd.OutOrStdout(), []eval.Row{row})
			} else {
				err = eval.WriteTable(cmd.OutOrStdout(), []eval.Row{row})
			}
			if err != nil {
				return err
			}
			if out != "" {
				dir := filepath.Join(out, runDirName(row.Scenario, row.Scaler))
				if err := report.WriteRun(dir, row.Result, cfg.Profile.SLO.Seconds()); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", dir)
			}
			return nil
		},
	}
	f.add(cmd.Flags())
	f.addScaling(cmd.Flags())
	cmd.Flags().StringVar(&scenario, "scenario", "spike", scenarioHelp)
	cmd.Flags().StringVar(&scaler, "scaler", "hpa", "autoscaler: "+autoscale.Known)
	cmd.Flags().StringVar(&out, "out", "", "directory for the time series CSV and SVG plot")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

// runDirName is a file-system-safe name for one scenario x scaler, the
// scenario named as its row is.
func runDirName(scenario, scaler string) string {
	clean := strings.NewReplacer(":", "_", ",", "_", "=", "-", "/", "_", string(os.PathSeparator), "_")
	return clean.Replace(strings.TrimSuffix(scenario, ".csv")) + "__" + clean.Replace(scaler)
}
