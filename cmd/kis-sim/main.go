// Command kis-sim runs KISim, the GPU inference cluster simulator: one
// scenario with one autoscaler (run), or the evaluation matrix (eval).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// version is set at build time (make build).
var version = "v0.0.0-dev"

func main() {
	// SIGTERM too: a stopped job ends training as Ctrl-C does, with the
	// curve written.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// One simulation does not watch ctx, and a billion-request one runs
	// for minutes: the second signal gets the default action and ends the
	// process.
	context.AfterFunc(ctx, stop)
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "kis-sim:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "kis-sim",
		Short:         "KISim: a deterministic simulator of GPU inference on Kubernetes",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCommand(), newEvalCommand(), newTrainCommand(), newCompareCommand(), newClusterCommand(), newLiveCommand())
	return root
}

// isTerminal reports whether w is a terminal, where progress bars redraw
// in place; elsewhere (a log, a test's buffer) they would be noise.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
