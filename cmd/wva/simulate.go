package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/report"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

// simulateUsage heads the help of `wva simulate`.
const simulateUsage = `Usage: wva simulate [flags]

Replays a request trace against simulated vLLM replicas of two variants of one model and compares
autoscaling policies on it: SLO attainment, GPU-hours and cost (also relative to a clairvoyant
oracle), latency percentiles and scaling churn. Runs in virtual time: no cluster, no GPU.

Flags:
`

// simulateOptions are the flags of `wva simulate` that are not part of the comparison.
type simulateOptions struct {
	asJSON      bool
	reportDir   string
	progress    bool
	decisionLog string
}

// errFlagSyntax marks the flag errors that the flag package has already printed with the usage.
var errFlagSyntax = errors.New("invalid flags")

// parseSimulate parses the flags of `wva simulate` into a validated comparison config.
func parseSimulate(args []string, stderr io.Writer) (report.Config, simulateOptions, error) {
	cfg := report.DefaultConfig()
	var opts simulateOptions
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Trace, "trace", cfg.Trace, "read the requests from `FILE`, an Azure LLM inference trace (CSV) or a Mooncake trace (JSONL)")
	fs.StringVar(&cfg.TraceFormat, "trace-format", workload.FormatAuto, "`FORMAT` of the trace: "+strings.Join(workload.Formats(), ", ")+" (auto: '{' first is Mooncake, else Azure)")
	fs.Float64Var(&cfg.RateScale, "rate-scale", cfg.RateScale, "multiply the trace's arrival rate by `K`")
	startup := fs.String("startup-delay", report.FormatStartup(cfg.StartupDelay, cfg.StartupJitter),
		"time `D` a new replica takes to serve (model load); D±S draws each replica's delay uniformly from [D-S, D+S], e.g. 120s±30s")
	policies := fs.String("policies", strings.Join(cfg.Policies, ","), "comma-separated `LIST` of policies to compare: "+strings.Join(report.AllPolicies(), ", ")+
		"; wva, wva-v1 and hpa take knobs, e.g. wva:interval=30s,step=0.5 (wva bench --help lists them)")
	variants := fs.String("variants", strings.Join(cfg.Profiles, ","), "comma-separated `LIST` of accelerator profiles, one variant each: "+profileNames())
	fs.StringVar(&cfg.WVAActuation, "wva-actuation", cfg.WVAActuation,
		"how wva's decisions reach the Deployments, through the production actuator: `MODE` metrics (as shipped: the published wva_desired_replicas, read by the sample HPA at its 15s scrape and sync) or direct (the scale subresource)")
	fs.StringVar(&cfg.InitialFleet, "initial-fleet", cfg.InitialFleet, "`FLEET` wva, wva-v1 and hpa start from: steady (the fleet the load at time zero needs, as after running on the traffic before) or one (one replica per variant, a cold start)")
	fs.DurationVar(&cfg.WVAActuationDelay, "wva-actuation-delay", cfg.WVAActuationDelay,
		"in direct mode, time `D` from a wva decision to the new replica count")
	fs.StringVar(&cfg.Metrics, "metrics", cfg.Metrics,
		"how wva observes the replicas: `SOURCE` prometheus (the production collector's PromQL over scrapes of each pod's vLLM /metrics) or ideal (the simulator's exact peaks, for comparison)")
	fs.DurationVar(&cfg.ScrapeInterval, "scrape-interval", cfg.ScrapeInterval, "scrape interval `D` of the pods' metrics")
	fs.DurationVar(&cfg.ScrapeJitter, "scrape-jitter", cfg.ScrapeJitter, "with --metrics prometheus, largest deviation `D` of a scrape from its slot")
	fs.Float64Var(&cfg.ScrapeFailureRate, "scrape-failure-rate", cfg.ScrapeFailureRate, "with --metrics prometheus, probability `P` that a scrape fails")
	fs.DurationVar(&cfg.SLO.TTFT, "slo-ttft", cfg.SLO.TTFT, "SLO target `D` of the time to first token")
	fs.DurationVar(&cfg.SLO.ITL, "slo-itl", cfg.SLO.ITL, "SLO target `D` of the mean inter-token latency")
	gpus := fs.String("gpus", "", "GPU inventory `LIST` of accelerator=GPUs, e.g. a100=4,h100=8: replicas beyond it stay Pending (not serving, not billed) and wva runs the engine's GPU limiter with it")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed `N` of the rate scaling (which copies of the requests are added, and when)")
	fs.BoolVar(&opts.asJSON, "json", false, "print the comparison as JSON")
	fs.StringVar(&opts.reportDir, "report", "", "write report.md and PNG plots into `DIR` (e.g. out/demo)")
	fs.BoolVar(&opts.progress, "progress", false, "show a progress bar on stderr even when it is not a terminal")
	fs.StringVar(&opts.decisionLog, "decision-log", "", "write every wva engine cycle's decisions (time, variant, current -> target, reason) to `FILE`")
	fs.Usage = func() {
		fmt.Fprint(stderr, simulateUsage)
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
	cfg.Policies, cfg.Profiles = report.SplitPolicies(*policies), splitList(*variants)
	var err error
	if cfg.GPUs, err = parseGPUList(*gpus); err != nil {
		return cfg, opts, fmt.Errorf("--gpus: %w", err)
	}
	if cfg.StartupDelay, cfg.StartupJitter, err = report.ParseStartup(*startup); err != nil {
		return cfg, opts, fmt.Errorf("--startup-delay: %w", err)
	}
	return cfg, opts, cfg.Validate()
}

// runSimulate implements `wva simulate`.
func runSimulate(args []string, stdout, stderr io.Writer) int {
	cfg, opts, err := parseSimulate(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errFlagSyntax):
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "wva simulate: %v\nRun 'wva simulate --help' for the flags.\n", err)
		return exitUsage
	}
	if _, err := os.Stat(cfg.Trace); err != nil && cfg.Trace == report.DefaultTrace {
		fmt.Fprintf(stderr, "wva simulate: the default trace %s is relative to the repository root: run from there or pass --trace (%v)\n", cfg.Trace, err)
		return exitError
	}
	var bar *progressBar
	if opts.progress || isTerminal(stderr) {
		bar = &progressBar{w: stderr}
		cfg.Progress = bar.update
	}

	if opts.decisionLog != "" {
		f, err := os.Create(opts.decisionLog)
		if err != nil {
			fmt.Fprintf(stderr, "wva simulate: %v\n", err)
			return exitError
		}
		defer f.Close()
		w := bufio.NewWriter(f)
		defer w.Flush()
		cfg.DecisionLog = w
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c, err := report.Compare(ctx, cfg)
	bar.clear()
	if err == nil {
		err = writeComparison(c, opts, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "wva simulate: %v\n", err)
		return exitError
	}
	return exitOK
}

// writeComparison writes the table or the JSON document to stdout, then the report when asked.
func writeComparison(c report.Comparison, opts simulateOptions, stdout, stderr io.Writer) error {
	var err error
	if opts.asJSON {
		err = report.WriteJSON(stdout, c)
	} else {
		err = report.WriteTable(stdout, c)
	}
	if err != nil || opts.reportDir == "" {
		return err
	}
	if err := report.WriteReport(opts.reportDir, c); err != nil {
		return err
	}
	// In JSON mode stdout carries only the document.
	where := stdout
	if opts.asJSON {
		where = stderr
	}
	_, err = fmt.Fprintf(where, "\nReport: %s (plots: %s, %s, %s)\n", filepath.Join(opts.reportDir, report.ReportFile),
		report.ArrivalsPlot, report.ReplicasPlot, report.LatencyPlot)
	return err
}

// splitList splits a comma-separated flag value, dropping spaces and empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// parseGPUList parses "a100=4,h100=8" into accelerator -> GPUs (nil when empty).
func parseGPUList(s string) (map[string]int, error) {
	items := splitList(s)
	if len(items) == 0 {
		return nil, nil
	}
	out := map[string]int{}
	for _, item := range items {
		k, v, ok := strings.Cut(item, "=")
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if !ok || err != nil || n < 0 || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%q is not accelerator=GPUs, e.g. a100=4", item)
		}
		if _, dup := out[strings.TrimSpace(k)]; dup {
			return nil, fmt.Errorf("accelerator %s is listed twice", strings.TrimSpace(k))
		}
		out[strings.TrimSpace(k)] = n
	}
	return out, nil
}

// profileNames lists the names of the default profiles.
func profileNames() string {
	var names []string
	for _, p := range sim.DefaultProfiles() {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// clearLine returns the cursor to the start of the line and erases the line.
const clearLine = "\r\033[K"

// barWidth is the number of cells of the progress bar.
const barWidth = 30

// progressBar draws report.Progress on one line of a terminal, redrawing only when the shown
// percentage or step changes.
type progressBar struct {
	w       io.Writer
	drawn   bool
	percent int
	name    string
}

// update redraws the bar for p.
func (b *progressBar) update(p report.Progress) {
	percent := min(int(100*p.Done()), 100)
	if b.drawn && percent == b.percent && p.Name == b.name {
		return
	}
	b.drawn, b.percent, b.name = true, percent, p.Name
	step := p.Name
	if p.Step > 0 && p.Step < p.Steps {
		step = fmt.Sprintf("policy %d of %d: %s", p.Step, p.Steps-1, p.Name)
	}
	filled := barWidth * percent / 100
	fmt.Fprintf(b.w, "%s[%s%s] %3d%%  %s", clearLine, strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), percent, step)
}

// clear erases the bar if it was drawn; b may be nil.
func (b *progressBar) clear() {
	if b != nil && b.drawn {
		fmt.Fprint(b.w, clearLine)
	}
}
