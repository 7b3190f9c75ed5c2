// Command kis-sim runs KISim, the GPU inference cluster simulator: one
// scenario with one autoscaler (run), or the evaluation matrix (eval).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// version is set at build time (make build).
var version = "v0.0.0-dev"

// testHookSignalsCaught runs once the first signal would be caught, so that
// a test sends its signal then and not into the default action before it.
var testHookSignalsCaught = func() {}

func main() {
	ctx := stopOnSignal()
	err := newRootCommand().ExecuteContext(ctx)
	if err == nil {
		return
	}
	var sig stoppedBy
	stopped := errors.Is(err, context.Canceled) && errors.As(context.Cause(ctx), &sig)
	// Whatever went wrong beside the stop (a curve that training could not
	// write) is said too.
	if !stopped || err != context.Canceled {
		fmt.Fprintln(os.Stderr, "kis-sim:", err)
	}
	if stopped {
		// A shell's convention for a process a signal ended, so that a
		// script tells an interrupted run from a failed one.
		fmt.Fprintln(os.Stderr, "kis-sim:", sig)
		os.Exit(128 + int(sig.Signal))
	}
	os.Exit(1)
}

// stoppedBy is the cause of a context a signal ended.
type stoppedBy struct{ syscall.Signal }

func (s stoppedBy) Error() string { return "stopped by " + unix.SignalName(s.Signal) }

// stopOnSignal returns a context that the first SIGINT or SIGTERM ends:
// runs stop, and training writes its curve first. The signal's default
// action is then restored, so that a second one ends the process at once,
// also in work that does not watch the context (a trace read from a pipe).
func stopOnSignal() context.Context {
	ctx, cancel := context.WithCancelCause(context.Background())
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	testHookSignalsCaught()
	go func() {
		sig := <-signals
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		cancel(stoppedBy{sig.(syscall.Signal)})
	}()
	return ctx
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
