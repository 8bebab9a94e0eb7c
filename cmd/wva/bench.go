package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/report"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

// benchUsage heads the help of `wva bench`.
const benchUsage = `Usage: wva bench [flags]

Runs a benchmark matrix: every trace at each of its rate scales, each start-up delay and each
seed is one cell, a comparison of the policies as in 'wva simulate'. Cells run in parallel; the
output does not depend on --parallel. Prints, per cell group (trace x rate scale x start-up
delay, over the seeds) and overall, each policy's mean and worst feasible SLO attainment, its
mean cost over the oracle-warm plan, its mean reversals and a verdict.

A trace may carry its own settings after '@': FILE@rates=0.5/1/2@ttft=10s@itl=50ms@format=mooncake.
Without them it runs at --rate-scales with --slo-ttft/--slo-itl and --trace-format. The default
runs both bundled traces: the Azure trace at 2, 4, 6 and the Mooncake trace at 0.25, 0.5, 1 with a
10s TTFT target (its prompts average 15,300 tokens; docs/simulator.md explains the choice).

Policy knobs (wva-v1 takes the same knobs as wva):
%s
Flags:
`

// benchOptions are the flags of `wva bench` that are not part of the matrix.
type benchOptions struct {
	asJSON    bool
	reportDir string
	progress  bool
}

// parseBench parses the flags of `wva bench` into a validated matrix config.
func parseBench(args []string, stderr io.Writer) (report.MatrixConfig, benchOptions, error) {
	cfg := report.DefaultMatrixConfig()
	var opts benchOptions
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	traces := fs.String("traces", traceList(cfg.Traces), "comma-separated `LIST` of traces (Azure CSV or Mooncake JSONL), each FILE[@rates=R/R/...][@ttft=D][@itl=D][@format=F]")
	format := fs.String("trace-format", workload.FormatAuto, "`FORMAT` of traces without @format: "+strings.Join(workload.Formats(), ", "))
	rates := fs.String("rate-scales", joinFloats(cfg.RateScales, ","), "comma-separated `LIST` of rate scales for traces without @rates")
	delays := fs.String("startup-delays", joinDurations(cfg.StartupDelays), "comma-separated `LIST` of start-up delays, each D or D±S (uniform in [D-S, D+S])")
	seeds := fs.String("seeds", joinSeeds(cfg.Seeds), "comma-separated `LIST` of seeds")
	policies := fs.String("policies", strings.Join(cfg.Policies, ","), "comma-separated `LIST` of policies: "+strings.Join(report.AllPolicies(), ", ")+"; wva, wva-v1 and hpa take knobs, e.g. wva:interval=30s,step=0.5")
	variants := fs.String("variants", strings.Join(cfg.Profiles, ","), "comma-separated `LIST` of accelerator profiles, one variant each: "+profileNames())
	fs.DurationVar(&cfg.SLO.TTFT, "slo-ttft", cfg.SLO.TTFT, "SLO target `D` of the time to first token, for traces without @ttft")
	fs.DurationVar(&cfg.SLO.ITL, "slo-itl", cfg.SLO.ITL, "SLO target `D` of the mean inter-token latency, for traces without @itl")
	fs.StringVar(&cfg.WVAActuation, "wva-actuation", cfg.WVAActuation, "how wva's decisions reach the Deployments: `MODE` metrics (as shipped, through the sample HPA) or direct (scale subresource)")
	fs.StringVar(&cfg.InitialFleet, "initial-fleet", cfg.InitialFleet, "`FLEET` wva, wva-v1 and hpa start from: steady (the fleet the load at time zero needs, as after running on the traffic before) or one (one replica per variant, a cold start)")
	fs.DurationVar(&cfg.WVAActuationDelay, "wva-actuation-delay", cfg.WVAActuationDelay, "in direct mode, time `D` from a wva decision to the new replica count")
	fs.IntVar(&cfg.Parallel, "parallel", runtime.GOMAXPROCS(0), "run up to `N` cells at once")
	fs.Float64Var(&cfg.MeetsAttainment, "meets-attainment", report.DefaultMeetsAttainment, "verdict: worst feasible attainment `A` (0-1) a policy must reach")
	fs.Float64Var(&cfg.MeetsCostRatio, "meets-cost", report.DefaultMeetsCostRatio, "verdict: mean cost over oracle-warm `R` a policy must stay within")
	fs.BoolVar(&opts.asJSON, "json", false, "print every cell and aggregate as JSON")
	fs.StringVar(&opts.reportDir, "report", "", "write report.md and the attainment-against-cost plot into `DIR`")
	fs.BoolVar(&opts.progress, "progress", false, "show a progress bar on stderr even when it is not a terminal")
	fs.Usage = func() {
		fmt.Fprintf(stderr, benchUsage, report.KnobHelp())
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, opts, err
		}
		return cfg, opts, fmt.Errorf("%w: %w", errFlagSyntax, err)
	}
	if fs.NArg() > 0 {
		return cfg, opts, fmt.Errorf("unexpected argument %q: all inputs are flags", fs.Arg(0))
	}
	var errs []error
	var err error
	if cfg.RateScales, err = parseFloats(*rates); err != nil {
		errs = append(errs, fmt.Errorf("--rate-scales: %w", err))
	}
	if cfg.StartupDelays, cfg.StartupJitters, err = parseStartups(*delays); err != nil {
		errs = append(errs, fmt.Errorf("--startup-delays: %w", err))
	}
	if cfg.Seeds, err = parseSeeds(*seeds); err != nil {
		errs = append(errs, fmt.Errorf("--seeds: %w", err))
	}
	if cfg.Traces, err = parseTraces(*traces, *format); err != nil {
		errs = append(errs, fmt.Errorf("--traces: %w", err))
	}
	if len(errs) > 0 {
		return cfg, opts, errors.Join(errs...)
	}
	cfg.Policies, cfg.Profiles = report.SplitPolicies(*policies), splitList(*variants)
	if cfg.Parallel < 1 {
		return cfg, opts, fmt.Errorf("--parallel must be at least 1, got %d", cfg.Parallel)
	}
	return cfg, opts, cfg.Validate()
}

// parseTraces parses the --traces list. A trace without @format gets format; without @rates
// or @ttft/@itl, the matrix's defaults.
func parseTraces(s, format string) ([]report.MatrixTrace, error) {
	var out []report.MatrixTrace
	for _, item := range splitList(s) {
		parts := strings.Split(item, "@")
		t := report.MatrixTrace{Path: parts[0], Format: format}
		var slo sim.SLO
		for _, opt := range parts[1:] {
			k, v, ok := strings.Cut(opt, "=")
			if !ok {
				return nil, fmt.Errorf("trace %s: option %q must be key=value (rates, ttft, itl, format)", parts[0], opt)
			}
			var err error
			switch k {
			case "rates":
				t.RateScales, err = parseFloats(strings.ReplaceAll(v, "/", ","))
			case "ttft":
				slo.TTFT, err = time.ParseDuration(v)
			case "itl":
				slo.ITL, err = time.ParseDuration(v)
			case "format":
				t.Format = v
			default:
				err = errors.New("unknown option: valid options are rates, ttft, itl, format")
			}
			if err != nil {
				return nil, fmt.Errorf("trace %s: %s=%s: %w", parts[0], k, v, err)
			}
		}
		if slo != (sim.SLO{}) {
			// An SLO set in part takes the default for the rest.
			def := sim.DefaultSLO()
			if slo.TTFT == 0 {
				slo.TTFT = def.TTFT
			}
			if slo.ITL == 0 {
				slo.ITL = def.ITL
			}
			t.SLO = slo
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, errors.New("at least one trace is required")
	}
	return out, nil
}

// runBench implements `wva bench`.
func runBench(args []string, stdout, stderr io.Writer) int {
	cfg, opts, err := parseBench(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errFlagSyntax):
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "wva bench: %v\nRun 'wva bench --help' for the flags.\n", err)
		return exitUsage
	}
	for _, t := range cfg.Traces {
		if _, err := os.Stat(t.Path); err != nil {
			fmt.Fprintf(stderr, "wva bench: trace %s (bundled traces are relative to the repository root: run from there): %v\n", t.Path, err)
			return exitError
		}
	}
	var bar *matrixBar
	if opts.progress || isTerminal(stderr) {
		bar = &matrixBar{w: stderr}
		cfg.Progress = bar.update
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	m, err := report.RunMatrix(ctx, cfg)
	bar.clear()
	if err == nil {
		err = writeMatrix(m, opts, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "wva bench: %v\n", err)
		return exitError
	}
	return exitOK
}

// writeMatrix writes the tables or the JSON document to stdout, then the report when asked.
func writeMatrix(m report.Matrix, opts benchOptions, stdout, stderr io.Writer) error {
	var err error
	if opts.asJSON {
		err = report.WriteMatrixJSON(stdout, m)
	} else {
		err = report.WriteMatrixTable(stdout, m)
	}
	if err != nil || opts.reportDir == "" {
		return err
	}
	if err := report.WriteMatrixReport(opts.reportDir, m); err != nil {
		return err
	}
	where := stdout
	if opts.asJSON {
		where = stderr
	}
	_, err = fmt.Fprintf(where, "\nReport: %s (plot: %s)\n", filepath.Join(opts.reportDir, report.ReportFile), report.MatrixPlot)
	return err
}

// matrixBar draws report.MatrixProgress on one line, redrawing only when the shown percentage
// or the count of finished cells changes.
type matrixBar struct {
	w             io.Writer
	drawn         bool
	percent, done int
}

// update redraws the bar for p.
func (b *matrixBar) update(p report.MatrixProgress) {
	percent := min(int(100*p.Fraction), 100)
	if b.drawn && percent == b.percent && p.Done == b.done {
		return
	}
	b.drawn, b.percent, b.done = true, percent, p.Done
	filled := barWidth * percent / 100
	fmt.Fprintf(b.w, "%s[%s%s] %3d%%  %d of %d cells", clearLine, strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), percent, p.Done, p.Cells)
}

// clear erases the bar if it was drawn; b may be nil.
func (b *matrixBar) clear() {
	if b != nil && b.drawn {
		fmt.Fprint(b.w, clearLine)
	}
}

// traceList formats traces as the --traces flag reads them.
func traceList(ts []report.MatrixTrace) string {
	items := make([]string, 0, len(ts))
	for _, t := range ts {
		item := t.Path
		if len(t.RateScales) > 0 {
			item += "@rates=" + joinFloats(t.RateScales, "/")
		}
		if t.SLO != (sim.SLO{}) {
			item += "@ttft=" + t.SLO.TTFT.String() + "@itl=" + t.SLO.ITL.String()
		}
		items = append(items, item)
	}
	return strings.Join(items, ",")
}

func parseFloats(s string) ([]float64, error) {
	var out []float64
	for _, item := range splitList(s) {
		f, err := strconv.ParseFloat(item, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", item)
		}
		out = append(out, f)
	}
	return out, nil
}

// parseStartups parses a list of start-up delays, each D or D±S; jitters is nil when none has
// a spread.
func parseStartups(s string) (delays, jitters []time.Duration, err error) {
	spread := false
	for _, item := range splitList(s) {
		d, j, err := report.ParseStartup(item)
		if err != nil {
			return nil, nil, err
		}
		delays, jitters = append(delays, d), append(jitters, j)
		spread = spread || j > 0
	}
	if !spread {
		jitters = nil
	}
	return delays, jitters, nil
}

func parseSeeds(s string) ([]uint64, error) {
	var out []uint64
	for _, item := range splitList(s) {
		n, err := strconv.ParseUint(item, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a non-negative integer", item)
		}
		out = append(out, n)
	}
	return out, nil
}

func joinFloats(fs []float64, sep string) string {
	items := make([]string, len(fs))
	for i, f := range fs {
		items[i] = strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strings.Join(items, sep)
}

func joinDurations(ds []time.Duration) string {
	items := make([]string, len(ds))
	for i, d := range ds {
		items[i] = d.String()
	}
	return strings.Join(items, ",")
}

func joinSeeds(ss []uint64) string {
	items := make([]string, len(ss))
	for i, s := range ss {
		items[i] = strconv.FormatUint(s, 10)
	}
	return strings.Join(items, ",")
}
