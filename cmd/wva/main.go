package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/version"
)

// usage is printed for help and usage errors.
const usage = `Usage: wva COMMAND [ARGS]

Commands:
  explain [--json] SNAPSHOT.json|-   run an analyzer over a snapshot and explain its decisions
  simulate [FLAGS]                   compare autoscaling policies on a trace, in simulation
                                     (wva simulate --help lists the flags)
  bench [FLAGS]                      run the policies over traces x rate scales x start-up
                                     delays x seeds, in parallel (wva bench --help)
  version, --version                 print the version
  help                               show this help
`

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	// The simulator runs the production engine, which logs through controller-runtime; the CLI
	// prints its own results, so those logs are dropped (and controller-runtime does not warn
	// that no logger was set).
	ctrllog.SetLogger(logr.Discard())
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, time.Now()))
}

// run dispatches args to a subcommand and returns the process exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, now time.Time) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "explain":
		return runExplain(args[1:], stdin, stdout, stderr, now)
	case "simulate":
		return runSimulate(args[1:], stdout, stderr)
	case "bench":
		return runBench(args[1:], stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "wva", version.Get())
		return exitOK
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "wva: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
}
