package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/explain"
)

// runExplain implements `wva explain [--json] SNAPSHOT.json|-`. Flags may come before or after
// the snapshot argument.
func runExplain(args []string, stdin io.Reader, stdout, stderr io.Writer, now time.Time) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the decisions as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: wva explain [--json] SNAPSHOT.json|-")
		fmt.Fprintln(stderr, "Runs the snapshot's analyzer and explains each variant's decision; '-' reads stdin.")
		fs.PrintDefaults()
	}

	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			return exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		fmt.Fprintf(stderr, "wva explain: want exactly one snapshot file, got %d\n", len(files))
		fs.Usage()
		return exitUsage
	}

	if err := explainFile(files[0], *asJSON, stdin, stdout, now); err != nil {
		fmt.Fprintf(stderr, "wva explain: %v\n", err)
		return exitError
	}
	return exitOK
}

// explainFile reads the snapshot at path ("-" for stdin), runs its analyzer and writes the report.
func explainFile(path string, asJSON bool, stdin io.Reader, stdout io.Writer, now time.Time) error {
	in := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("opening snapshot: %w", err)
		}
		defer f.Close()
		in = f
	}
	snap, err := explain.Decode(in)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	rep, err := explain.Explain(snap, now)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if asJSON {
		return explain.WriteJSON(stdout, rep)
	}
	return explain.WriteText(stdout, rep)
}
