package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	testingclock "k8s.io/utils/clock/testing"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	promsource "github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector/prometheus"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/defaults"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/policy"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/promsim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

// DefaultTrace is the bundled Azure conversation trace, relative to the repository root.
const DefaultTrace = "testdata/traces/azure-llm-inference-2023-conv.csv"

// DefaultRateScale is the default arrival-rate multiplier: at 4 the oracle needs up to four
// A100 replicas in the quiet minutes and up to four H100 replicas at the peak.
const DefaultRateScale = 4

// DefaultTimelineEvery is how often a run's state is recorded for the plots: the cycle period of
// the production engine.
const DefaultTimelineEvery = 15 * time.Second

// AllPolicies lists the policies Compare knows, in the order they are reported by default.
func AllPolicies() []string {
	return []string{policy.NameWVA, policy.NameWVAV1, policy.NameHPA, policy.NameStatic, policy.NameOracleWarm, policy.NameOracle}
}

// DefaultProfiles names the profiles of the default variants: a mid-priced and an expensive,
// fast accelerator serving the same model.
func DefaultProfiles() []string {
	return []string{sim.ProfileA100, sim.ProfileH100}
}

// Config describes one comparison.
type Config struct {
	// Trace is the path of a trace (Azure LLM inference CSV or Mooncake JSONL); it is read
	// unless Requests is set.
	Trace string
	// TraceFormat is Trace's format (workload.Formats); "" or "auto" detects it from the content.
	TraceFormat string
	// Requests, when not nil, is the stream to scale instead of Trace's (tests, synthetic
	// shapes).
	Requests []workload.Request
	// Name labels the scenario; empty means the trace's file name and the rate scale.
	Name string
	// RateScale multiplies the arrival rate (workload.Scale); 1 replays the stream as recorded.
	RateScale float64
	// Seed seeds the rate scaling.
	Seed uint64
	// Profiles names the default profile (sim.LookupProfile) of each variant, in order; the
	// variant is named after the accelerator, e.g. "a100" for "A100-40GB".
	Profiles []string
	// StartupDelay is how long a new replica of any variant takes to serve; 0 means at once.
	StartupDelay time.Duration
	// StartupJitter spreads each new replica's start-up delay uniformly over
	// [StartupDelay - StartupJitter, StartupDelay + StartupJitter] (sim.VariantSpec), seeded
	// by Seed.
	StartupJitter time.Duration
	// SLO holds the targets the runs are scored against.
	SLO sim.SLO
	// Policies names the policies to run (AllPolicies), in report order. wva, wva-v1 and hpa
	// take knobs in their names ("wva:interval=30s,step=0.5"; KnobHelp lists them) and are
	// reported under the full name.
	Policies []string
	// WVAActuation is how the wva policy's decisions reach the Deployments: ActuationMetrics
	// (as shipped: the published gauge, read by the sample HPA at its scrape and sync) or
	// ActuationDirect (the scale subresource, WVAActuationDelay after each decision); "" is
	// the shipped mode. The actuation knob overrides it per policy.
	WVAActuation string
	// WVAActuationDelay is the Direct-mode delay between a decision and the new replica count.
	WVAActuationDelay time.Duration
	// TimelineEvery is how often each run's state is recorded for the plots.
	TimelineEvery time.Duration
	// Metrics is how the wva policies observe the replicas: MetricsPrometheus (the production
	// collector's PromQL over scrapes of the pods' vLLM exposition) or MetricsIdeal (the fleet's
	// own peak readings, for comparison). Empty means MetricsPrometheus.
	Metrics string
	// ScrapeInterval is how often the pods are scraped (both sources); 0 means 15 s.
	ScrapeInterval time.Duration
	// ScrapeJitter and ScrapeFailureRate perturb the scrapes of MetricsPrometheus (see
	// promsim.ScrapeConfig).
	ScrapeJitter      time.Duration
	ScrapeFailureRate float64
	// InitialFleet is the fleet the adaptive policies (wva, wva-v1, hpa) start from:
	// InitialFleetSteady (or "") the instant oracle's fleet for the first window (at least one
	// replica per variant), as if the autoscaler had been running on the traffic before the
	// trace starts; InitialFleetOne one
	// replica per variant, a cold start that no policy facing the start-up delay can serve.
	InitialFleet string
	// GPUs, when set, is the cluster's GPU inventory: GPUs per accelerator, keyed by variant
	// name ("a100") or profile name ("A100-40GB"). Every policy runs on a cluster that holds
	// no more (replicas beyond stay Pending, unbilled; sim.Scenario.GPUs), and the wva
	// policies run the engine in limited mode with this inventory. The oracles' plans ignore it.
	GPUs map[string]int
	// DecisionLog, when set, receives the wva policies' decisions (policy.WVAConfig).
	DecisionLog io.Writer
	// Progress, when set, is called as Compare advances (from the calling goroutine).
	Progress func(Progress)
}

// The initial fleets of Config.InitialFleet.
const (
	InitialFleetSteady = "steady"
	InitialFleetOne    = "one"
)

// DefaultConfig returns the comparison `wva simulate` runs without flags: the bundled trace at
// rate scale 4 and seed 1, A100 and H100 variants with the default start-up delay, the default
// SLO and all policies.
func DefaultConfig() Config {
	return Config{
		Trace:             DefaultTrace,
		RateScale:         DefaultRateScale,
		Seed:              1,
		Profiles:          DefaultProfiles(),
		StartupDelay:      sim.DefaultStartupDelay,
		SLO:               sim.DefaultSLO(),
		Policies:          AllPolicies(),
		TimelineEvery:     DefaultTimelineEvery,
		Metrics:           MetricsPrometheus,
		ScrapeInterval:    promsim.DefaultScrapeInterval,
		WVAActuation:      ActuationMetrics,
		WVAActuationDelay: sim.DefaultTick,
		InitialFleet:      InitialFleetSteady,
	}
}

// Validate reports every rule c breaks, joined into one error.
func (c Config) Validate() error {
	var errs []error
	if c.Trace == "" && c.Requests == nil {
		errs = append(errs, errors.New("a trace is required"))
	}
	if !(c.RateScale > 0) || math.IsInf(c.RateScale, 0) {
		errs = append(errs, fmt.Errorf("rate scale must be a positive number, got %g", c.RateScale))
	}
	if len(c.Profiles) == 0 {
		errs = append(errs, errors.New("at least one variant is required"))
	}
	seen := map[string]bool{}
	for _, name := range c.Profiles {
		p, err := sim.LookupProfile(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if v := variantName(p); seen[v] {
			errs = append(errs, fmt.Errorf("variant %s (profile %s) is listed twice", v, p.Name))
		} else {
			seen[v] = true
		}
	}
	if _, err := actuationMode(c.WVAActuation); err != nil {
		errs = append(errs, err)
	}
	switch c.Metrics {
	case "", MetricsPrometheus, MetricsIdeal:
	default:
		errs = append(errs, fmt.Errorf("metrics must be %s or %s, got %q", MetricsPrometheus, MetricsIdeal, c.Metrics))
	}
	if c.ScrapeInterval < 0 {
		errs = append(errs, fmt.Errorf("scrape interval must not be negative, got %s", c.ScrapeInterval))
	} else if err := c.scrapeConfig().Validate(); err != nil {
		errs = append(errs, err)
	}
	switch c.InitialFleet {
	case "", InitialFleetSteady, InitialFleetOne:
	default:
		errs = append(errs, fmt.Errorf("initial fleet must be %s or %s, got %q", InitialFleetSteady, InitialFleetOne, c.InitialFleet))
	}
	if c.WVAActuationDelay < 0 {
		errs = append(errs, fmt.Errorf("wva actuation delay must not be negative, got %s", c.WVAActuationDelay))
	}
	if c.StartupDelay < 0 || c.StartupJitter < 0 {
		errs = append(errs, fmt.Errorf("start-up delay and jitter must not be negative, got %s and %s", c.StartupDelay, c.StartupJitter))
	}
	if c.SLO.TTFT <= 0 || c.SLO.ITL <= 0 {
		errs = append(errs, fmt.Errorf("SLO targets must be positive, got TTFT %s and ITL %s", c.SLO.TTFT, c.SLO.ITL))
	}
	if len(c.Policies) == 0 {
		errs = append(errs, errors.New("at least one policy is required"))
	}
	for i, name := range c.Policies {
		if err := checkPolicyName(name); err != nil {
			errs = append(errs, err)
		} else if slices.Index(c.Policies, name) < i {
			errs = append(errs, fmt.Errorf("policy %q is listed twice", name))
		}
	}
	if c.TraceFormat != "" && !slices.Contains(workload.Formats(), c.TraceFormat) {
		errs = append(errs, fmt.Errorf("unknown trace format %q: valid formats are %s", c.TraceFormat, strings.Join(workload.Formats(), ", ")))
	}
	if _, err := ParseGPUs(c.GPUs); err != nil {
		errs = append(errs, err)
	}
	if c.TimelineEvery <= 0 {
		errs = append(errs, fmt.Errorf("timeline interval must be positive, got %s", c.TimelineEvery))
	}
	return errors.Join(errs...)
}

// variantName names a variant after its accelerator: the profile name up to the first '-', in
// lower case ("A100-40GB" -> "a100").
func variantName(p sim.Profile) string {
	name, _, _ := strings.Cut(p.Name, "-")
	return strings.ToLower(name)
}

// Progress reports how far Compare is.
type Progress struct {
	// Step is the current step: 0 computes the oracle's schedule, 1 to Steps-1 run the policies
	// in order, and Steps reports the end.
	Step, Steps int
	// Name names the step: "oracle schedule", the policy being run, or "done".
	Name string
	// Fraction is the share of the step done, in virtual time for a policy run (0 to 1).
	Fraction float64
}

// Done returns the share of the whole comparison done (0 to 1).
func (p Progress) Done() float64 {
	if p.Steps == 0 {
		return 0
	}
	return (float64(p.Step) + p.Fraction) / float64(p.Steps)
}

// Comparison is the outcome of Compare: the scenario as run and one PolicyRun per policy.
type Comparison struct {
	// Config is the configuration, without Requests and Progress.
	Config Config
	// Name labels the scenario.
	Name string
	// Requests is the number of requests in the scaled stream.
	Requests int
	// Duration is the virtual time each run covers (last arrival + sim.DefaultTail).
	Duration time.Duration
	// Variants are the scenario's variants, in order.
	Variants []sim.VariantSpec
	// Oracle is what the instant oracle's plan costs: the best-case bracket.
	Oracle policy.PlanTotals
	// OracleWarm is what the start-up-aware oracle's plan costs: the physical limit every cost
	// ratio is reported against.
	OracleWarm policy.PlanTotals
	// ArrivalsPerMinute counts the arrivals of each minute of the run.
	ArrivalsPerMinute []int
	// ReplicaCapacity is, per variant in order, how many requests one replica holds at once:
	// its KV cache over the stream's mean context (prompt + half the output), at most its
	// batch size. The signals plot draws ready replicas × this as the provisioned capacity.
	ReplicaCapacity []float64
	// Policies holds the runs, in Config.Policies order.
	Policies []PolicyRun
}

// PolicyRun is one policy's run.
type PolicyRun struct {
	// Name is the policy's name.
	Name string
	// Score is the run's score.
	Score sim.Score
	// CostRatioToOracle and CostRatioToOracleWarm are Score.Cost over the cost of each oracle's
	// plan.
	CostRatioToOracle, CostRatioToOracleWarm float64
	// UnderProvisioned is set when the run cost less than the instant oracle's plan and met the
	// SLO for fewer feasible requests than the goal: it saved by failing requests.
	UnderProvisioned bool
	// Timeline holds the run's state every Config.TimelineEvery.
	Timeline []sim.TickRecord
	// Setup says how the policy ran, for the policies built on the production engine: analyzer,
	// interval, actuation mode and thresholds (WVASetup); empty for the others.
	Setup string
	// TTFT holds the TTFT percentiles of the requests arriving in each minute.
	TTFT []MinuteLatency
	// ITL holds the percentiles of the mean ITL of the requests arriving in each minute that
	// finished with more than one output token.
	ITL []MinuteLatency
}

// WVASetup describes how a wva policy runs in one line, e.g. "capacity analyzer every 30s,
// Metrics mode via the HPA (15s scrape, 15s sync), shipped thresholds (kv 0.80/0.10, queue 5/3)".
func WVASetup(c policy.WVAConfig) string {
	s, shipped := c.Saturation, defaults.Shipped().Saturation
	which := "custom"
	if s.ITLTargetMs = 0; s == shipped {
		which = "shipped"
	}
	damping := "no scale-down damping"
	if c.ScaleDownStabilization > 0 || c.ScaleDownStepFraction > 0 {
		damping = fmt.Sprintf("scale-down after %s by at most %.0f%%", c.ScaleDownStabilization, 100*c.ScaleDownStepFraction)
	}
	return fmt.Sprintf("%s, %s thresholds (kv %.2f/%.2f, queue %g/%g), %s",
		c.Describe(), which, c.Saturation.KvCacheThreshold, c.Saturation.KvSpareTrigger, c.Saturation.QueueLengthThreshold,
		c.Saturation.QueueSpareTrigger, damping)
}

// MinuteLatency holds latency percentiles (TTFT or mean ITL) of the requests that arrived in one
// minute.
type MinuteLatency struct {
	// Minute is the minute's index from the start of the run.
	Minute int
	// Requests is the number of requests counted.
	Requests int
	// P50 and P99 are nearest-rank percentiles.
	P50, P99 time.Duration
}

// Compare builds the scenario that cfg describes, plans both oracles and runs each
// policy of cfg.Policies on it. Runs are sequential and deterministic.
func Compare(ctx context.Context, cfg Config) (Comparison, error) {
	if err := cfg.Validate(); err != nil {
		return Comparison{}, err
	}
	sc, err := scenario(cfg)
	if err != nil {
		return Comparison{}, err
	}
	steps := len(cfg.Policies) + 1
	progress := func(Progress) {}
	if cfg.Progress != nil {
		progress = cfg.Progress
	}

	progress(Progress{Step: 0, Steps: steps, Name: "oracle schedule"})
	oracle, err := policy.NewOracle(sc, policy.DefaultOracleConfig())
	if err != nil {
		return Comparison{}, err
	}
	warm, err := oracle.Warm()
	if err != nil {
		return Comparison{}, err
	}
	out := Comparison{
		Config:            cfg,
		Name:              sc.Name,
		Requests:          len(sc.Requests),
		Duration:          sc.Duration,
		Variants:          sc.Variants,
		ArrivalsPerMinute: arrivalsPerMinute(sc),
		ReplicaCapacity:   replicaCapacity(sc),
	}
	out.Config.Requests, out.Config.Progress = nil, nil
	out.Oracle, out.OracleWarm = oracle.Plan(), warm.Plan()

	for i, name := range cfg.Policies {
		step := i + 1
		progress(Progress{Step: step, Steps: steps, Name: name})
		rsc, p, opts, closer, err := build(name, sc, oracle, warm, cfg)
		setup := ""
		if w, ok := p.(*policy.WVA); ok {
			setup = WVASetup(w.Config())
		}
		if err != nil {
			return Comparison{}, err
		}
		opts = append(opts, sim.WithTimeline(cfg.TimelineEvery))
		tracked := &tracking{Policy: p, start: sc.Start, duration: sc.Duration,
			report: func(f float64) { progress(Progress{Step: step, Steps: steps, Name: name, Fraction: f}) }}
		res, err := sim.Run(ctx, rsc, tracked, opts...)
		if closer != nil {
			err = errors.Join(err, closer.Close())
		}
		if err != nil {
			return Comparison{}, fmt.Errorf("running policy %s: %w", name, err)
		}
		out.Policies = append(out.Policies, PolicyRun{
			Name:                  name,
			Score:                 res.Score,
			CostRatioToOracle:     ratio(res.Score.Cost, out.Oracle.Cost),
			CostRatioToOracleWarm: ratio(res.Score.Cost, out.OracleWarm.Cost),
			UnderProvisioned:      res.Score.Cost < out.Oracle.Cost && res.Score.FeasibleAttainment < policy.DefaultOracleGoal,
			Setup:                 setup,
			Timeline:              res.Timeline,
			TTFT:                  latencyPerMinute(res.Requests, (*sim.Request).TTFT),
			ITL:                   latencyPerMinute(res.Requests, itlOf),
		})
	}
	progress(Progress{Step: steps, Steps: steps, Name: "done"})
	return out, nil
}

// ratio is a / b, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// scenario loads and scales the stream and builds the variants.
func scenario(cfg Config) (sim.Scenario, error) {
	base := cfg.Requests
	if base == nil {
		var err error
		if base, err = workload.Load(cfg.Trace, cfg.TraceFormat); err != nil {
			return sim.Scenario{}, err
		}
	}
	reqs, err := workload.Scale(base, cfg.RateScale, cfg.Seed, workload.DefaultJitter)
	if err != nil {
		return sim.Scenario{}, err
	}
	variants := make([]sim.VariantSpec, 0, len(cfg.Profiles))
	for _, name := range cfg.Profiles {
		p, err := sim.LookupProfile(name)
		if err != nil {
			return sim.Scenario{}, err
		}
		v := sim.NewVariant(variantName(p), p)
		v.StartupDelay, v.StartupJitter = cfg.StartupDelay, cfg.StartupJitter
		variants = append(variants, v)
	}
	name := cfg.Name
	if name == "" {
		name = "synthetic"
		if cfg.Requests == nil {
			name = strings.TrimSuffix(filepath.Base(cfg.Trace), filepath.Ext(cfg.Trace))
		}
		name += " x" + strconv.FormatFloat(cfg.RateScale, 'g', -1, 64)
	}
	sc := sim.NewScenario(name, reqs, variants...)
	sc.SLO, sc.Seed = cfg.SLO, cfg.Seed
	if sc.GPUs, err = ParseGPUs(cfg.GPUs); err != nil {
		return sim.Scenario{}, err
	}
	sc.ScrapeInterval = cmp.Or(cfg.ScrapeInterval, sc.ScrapeInterval)
	return sc, nil
}

// Metrics sources of the wva policies.
const (
	// MetricsPrometheus is the production collector over the simulated Prometheus.
	MetricsPrometheus = "prometheus"
	// MetricsIdeal is the fleet's idealised source.
	MetricsIdeal = "ideal"
)

// scrapeConfig is the scrape model of c.
func (c Config) scrapeConfig() promsim.ScrapeConfig {
	sc := promsim.DefaultScrapeConfig()
	sc.Interval = cmp.Or(c.ScrapeInterval, sc.Interval)
	sc.Jitter, sc.FailureRate, sc.Seed = c.ScrapeJitter, c.ScrapeFailureRate, c.Seed
	return sc
}

// Actuation modes of the wva policy (Config.WVAActuation and the actuation knob).
const (
	// ActuationMetrics is Metrics mode, as shipped: the actuator publishes wva_desired_replicas
	// and the HPA of config/samples/hpa.yaml follows it (15 s scrape, 15 s sync).
	ActuationMetrics = "metrics"
	// ActuationHPA is another name of ActuationMetrics.
	ActuationHPA = "hpa"
	// ActuationDirect is Direct mode: the actuator writes the Deployments' scale subresource
	// and the fleet follows after WVAActuationDelay.
	ActuationDirect = "direct"
)

// actuationMode returns the VariantAutoscaling actuation mode of a --wva-actuation value; ""
// keeps the shipped default.
func actuationMode(s string) (wvav1alpha1.ActuationMode, error) {
	switch s {
	case "":
		return defaults.Shipped().ActuationMode, nil
	case ActuationMetrics, ActuationHPA:
		return wvav1alpha1.ActuationMetrics, nil
	case ActuationDirect:
		return wvav1alpha1.ActuationDirect, nil
	}
	return "", fmt.Errorf("wva actuation must be %s or %s, got %q", ActuationMetrics, ActuationDirect, s)
}

// build returns the scenario, policy and run options of the named policy: the production engine
// actuates through the production actuator as cfg says (by default Metrics mode through the
// sample HPA; Direct mode one tick after deciding); wva-v1 goes through the chart's HPA chain;
// wva, wva-v1 and hpa start from cfg.InitialFleet; the static fleet is the oracle's peak fleet,
// ready from time zero; oracle-warm starts with its plan's first fleet.
func build(name string, sc sim.Scenario, oracle *policy.Oracle, warm *policy.OracleWarm, cfg Config) (sim.Scenario, sim.Policy, []sim.RunOption, io.Closer, error) {
	spec, err := parsePolicyName(name)
	if err != nil {
		return sc, nil, nil, nil, err
	}
	if cfg.InitialFleet != InitialFleetOne {
		switch spec.Base {
		case policy.NameWVA, policy.NameWVAV1, policy.NameHPA:
			// At least one replica each: the HPA of Metrics mode (minReplicas 1) never scales a
			// Deployment up from zero, and the cold-start fleet had one.
			initial := oracle.InitialReplicas()
			for _, v := range sc.Variants {
				initial[v.Name] = max(initial[v.Name], 1)
			}
			sc = withInitial(sc, initial)
		}
	}
	switch spec.Base {
	case policy.NameWVA, policy.NameWVAV1:
		wcfg, err := wvaConfig(name, spec, float64(sc.SLO.ITL)/float64(time.Millisecond), cfg.WVAActuation)
		if err != nil {
			return sc, nil, nil, nil, err
		}
		wcfg.DecisionLog, wcfg.GPUs = cfg.DecisionLog, sc.GPUs
		// The scenario's SLO as every VariantAutoscaling's spec.slo, at the oracle's goal.
		wcfg.SLO = interfaces.SLOTargets{TTFT: sc.SLO.TTFT, ITL: sc.SLO.ITL, Attainment: policy.DefaultOracleGoal}
		var opts []sim.RunOption
		var closer io.Closer
		if cfg.Metrics != MetricsIdeal {
			// As the manager does: the per-pod points and the histograms only for the slo analyzer.
			pipe, err := promsim.NewPipeline(cfg.scrapeConfig(), sc.Start, promsource.WithWindow(sc.PeakWindow),
				promsource.WithPodPoints(wcfg.Analyzer == analysis.AnalyzerSLO),
				promsource.WithModelHistograms(wcfg.Analyzer == analysis.AnalyzerSLO))
			if err != nil {
				return sc, nil, nil, nil, err
			}
			wcfg.Source, wcfg.Kube, closer = pipe, pipe.Kube(), pipe
			opts = append(opts, sim.WithObserver(pipe))
		}
		clk := testingclock.NewFakeClock(sc.Start)
		p, err := policy.NewWVA(wcfg, clk)
		if err != nil {
			if closer != nil {
				err = errors.Join(err, closer.Close())
			}
			return sc, nil, nil, nil, err
		}
		opts = append(opts, sim.WithClock(clk))
		if wcfg.Mode() == wvav1alpha1.ActuationDirect {
			opts = append(opts, sim.WithActuationDelay(cmp.Or(cfg.WVAActuationDelay, sim.DefaultTick)))
		}
		return sc, p, opts, closer, nil
	case policy.NameHPA:
		hcfg, err := hpaConfig(name, spec)
		if err != nil {
			return sc, nil, nil, nil, err
		}
		p, err := policy.NewHPA(hcfg)
		return sc, p, nil, nil, err
	case policy.NameStatic:
		peak := oracle.PeakReplicas()
		return withInitial(sc, peak), policy.NewStatic(peak), nil, nil, nil
	case policy.NameOracle:
		return sc, oracle, nil, nil, nil
	case policy.NameOracleWarm:
		return withInitial(sc, warm.InitialReplicas()), warm, nil, nil, nil
	}
	return sc, nil, nil, nil, fmt.Errorf("unknown policy %q: valid policies are %s", name, strings.Join(AllPolicies(), ", "))
}

// withInitial returns sc with each variant starting with replicas[name] ready replicas.
func withInitial(sc sim.Scenario, replicas map[string]int) sim.Scenario {
	sc.Variants = slices.Clone(sc.Variants)
	for i := range sc.Variants {
		sc.Variants[i].InitialReplicas = replicas[sc.Variants[i].Name]
	}
	return sc
}

// tracking wraps a policy to report the virtual time of its decisions as a fraction of the run,
// in steps of at least 1 %.
type tracking struct {
	sim.Policy
	start    time.Time
	duration time.Duration
	report   func(float64)
	last     float64
}

// Decide implements sim.Policy.
func (t *tracking) Decide(ctx context.Context, now time.Time, c sim.Cluster) (map[string]int, error) {
	if f := float64(now.Sub(t.start)) / float64(t.duration); f >= t.last+0.01 {
		t.last = f
		t.report(min(f, 1))
	}
	return t.Policy.Decide(ctx, now, c)
}

// InstantStart implements sim.InstantStarter for the wrapped policy.
func (t *tracking) InstantStart() bool {
	is, ok := t.Policy.(sim.InstantStarter)
	return ok && is.InstantStart()
}

// arrivalsPerMinute counts the scenario's arrivals in each minute of its duration.
func arrivalsPerMinute(sc sim.Scenario) []int {
	out := make([]int, int((sc.Duration+time.Minute-1)/time.Minute))
	for _, r := range sc.Requests {
		if m := int(r.Arrival / time.Minute); m < len(out) {
			out[m]++
		}
	}
	return out
}

// replicaCapacity returns, per variant of sc, the requests one replica holds at once: its KV
// cache over the mean context of sc's requests (prompt + half the output), at most its batch.
func replicaCapacity(sc sim.Scenario) []float64 {
	var tokens float64
	for _, r := range sc.Requests {
		tokens += float64(r.InputTokens) + float64(r.OutputTokens)/2
	}
	out := make([]float64, len(sc.Variants))
	for i, v := range sc.Variants {
		n := float64(v.Profile.MaxBatchSize)
		if len(sc.Requests) > 0 && tokens > 0 {
			n = math.Min(n, float64(v.Profile.KVCacheTokens)/(tokens/float64(len(sc.Requests))))
		}
		out[i] = n
	}
	return out
}

// itlOf is the mean ITL of a request that finished with more than one output token, else -1.
func itlOf(r *sim.Request) time.Duration {
	if r.OutputTokens <= 1 {
		return -1
	}
	return r.ITL()
}

// latencyPerMinute groups the requests for which of returns a latency (>= 0) by arrival minute
// and returns the percentiles of each minute that has one.
func latencyPerMinute(reqs []sim.Request, of func(*sim.Request) time.Duration) []MinuteLatency {
	byMinute := map[int][]time.Duration{}
	for i := range reqs {
		if d := of(&reqs[i]); d >= 0 {
			m := int(reqs[i].Arrival / time.Minute)
			byMinute[m] = append(byMinute[m], d)
		}
	}
	out := make([]MinuteLatency, 0, len(byMinute))
	for m, ds := range byMinute {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		out = append(out, MinuteLatency{Minute: m, Requests: len(ds), P50: nearestRank(ds, 0.50), P99: nearestRank(ds, 0.99)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Minute < out[j].Minute })
	return out
}

// nearestRank returns the p-th percentile of sorted, as sim's scores compute it.
func nearestRank(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.999999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// ParseGPUs resolves an inventory keyed by variant name ("a100") or profile name
// ("A100-40GB", any case) to one keyed by profile name, as sim.Scenario.GPUs is; nil for none.
func ParseGPUs(gpus map[string]int) (map[string]int, error) {
	if len(gpus) == 0 {
		return nil, nil
	}
	out := map[string]int{}
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(gpus)) {
		n := gpus[key]
		i := slices.IndexFunc(sim.DefaultProfiles(), func(p sim.Profile) bool {
			return strings.EqualFold(key, p.Name) || strings.EqualFold(key, variantName(p))
		})
		switch {
		case i < 0:
			errs = append(errs, fmt.Errorf("GPU inventory: unknown accelerator %q", key))
		case n < 0:
			errs = append(errs, fmt.Errorf("GPU inventory: %s must have >= 0 GPUs, got %d", key, n))
		default:
			name := sim.DefaultProfiles()[i].Name
			if _, dup := out[name]; dup {
				errs = append(errs, fmt.Errorf("GPU inventory: %s is given twice", name))
			}
			out[name] = n
		}
	}
	return out, errors.Join(errs...)
}

// ParseStartup parses a start-up delay, "D" or "D±S" (also "D+-S"): a delay D spread uniformly
// by S either way, e.g. "120s±30s".
func ParseStartup(s string) (delay, jitter time.Duration, err error) {
	d, j, spread := strings.Cut(s, "±")
	if !spread {
		d, j, spread = strings.Cut(s, "+-")
	}
	if delay, err = time.ParseDuration(strings.TrimSpace(d)); err != nil || delay < 0 {
		return 0, 0, fmt.Errorf("%q is not a start-up delay such as 120s or 120s±30s", s)
	}
	if spread {
		if jitter, err = time.ParseDuration(strings.TrimSpace(j)); err != nil || jitter < 0 {
			return 0, 0, fmt.Errorf("%q is not a start-up delay such as 120s or 120s±30s", s)
		}
	}
	return delay, jitter, nil
}

// FormatStartup formats a start-up delay as ParseStartup reads it.
func FormatStartup(delay, jitter time.Duration) string {
	if jitter == 0 {
		return delay.String()
	}
	return delay.String() + "±" + jitter.String()
}
