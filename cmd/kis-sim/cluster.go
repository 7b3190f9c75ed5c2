package main

import (
	"github.com/spf13/cobra"

	"github.com/kisproject/kis/sim/cluster"
)

func newClusterCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "cluster",
		Short: "Print the embedded default cluster spec (a starting point for --cluster)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(cluster.DefaultYAML())
			return err
		},
	}
}
