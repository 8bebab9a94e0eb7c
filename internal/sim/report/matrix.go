package report

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

// DefaultMooncakeTrace is the bundled Mooncake synthetic trace, relative to the repository root.
const DefaultMooncakeTrace = "testdata/traces/mooncake-synthetic.jsonl"

// Verdict thresholds of a matrix cell group: a policy "meets" when its worst feasible attainment
// over the seeds reaches DefaultMeetsAttainment and its mean cost is at most DefaultMeetsCostRatio
// times the oracle-warm plan's.
const (
	DefaultMeetsAttainment = 0.99
	DefaultMeetsCostRatio  = 1.3
)

// VerdictMeets is the verdict of a policy that meets both thresholds.
const VerdictMeets = "meets"

// MatrixTrace is one trace of a matrix with the settings of its cells.
type MatrixTrace struct {
	// Path is the trace file; Format its format (workload.Formats, "" detects it).
	Path, Format string
	// RateScales are the arrival-rate multipliers to run it at; empty means the matrix's.
	RateScales []float64
	// SLO is the SLO its cells are scored against; zero means the matrix's.
	SLO sim.SLO
}

// Name is the trace's file name without its extension.
func (t MatrixTrace) Name() string {
	return strings.TrimSuffix(filepath.Base(t.Path), filepath.Ext(t.Path))
}

// MatrixConfig describes a benchmark matrix: every trace at each of its rate scales, each
// start-up delay and each seed is one cell, a Compare of the policies.
type MatrixConfig struct {
	// Traces are the traces, in report order.
	Traces []MatrixTrace
	// RateScales are the rate scales of the traces that list none.
	RateScales []float64
	// StartupDelays and Seeds span the other two axes.
	StartupDelays []time.Duration
	// StartupJitters, when not empty, holds the spread of each of StartupDelays (Config's
	// StartupJitter), index by index.
	StartupJitters []time.Duration
	Seeds          []uint64
	// Policies, Profiles, WVAActuation and WVAActuationDelay are as in Config.
	Policies          []string
	Profiles          []string
	WVAActuation      string
	WVAActuationDelay time.Duration
	// InitialFleet is as in Config.
	InitialFleet string
	// SLO is the SLO of the traces that set none.
	SLO sim.SLO
	// Parallel bounds the cells run at once; 0 means GOMAXPROCS. The result does not depend
	// on it.
	Parallel int
	// MeetsAttainment and MeetsCostRatio are the verdict's thresholds; 0 means the defaults.
	MeetsAttainment, MeetsCostRatio float64
	// Progress, when set, is called as cells advance, one call at a time.
	Progress func(MatrixProgress)
}

// DefaultMatrixConfig returns the matrix `wva bench` runs without flags: the bundled Azure
// trace at rate scales 2, 4 and 6 and the Mooncake trace at 0.25, 0.5 and 1 with a TTFT target
// of 10 s (see DefaultMooncakeSLO), start-up delays of 60 s and 180 s, seeds 1 to 3, all
// policies, the default variants.
func DefaultMatrixConfig() MatrixConfig {
	return MatrixConfig{
		Traces: []MatrixTrace{
			{Path: DefaultTrace, Format: workload.FormatAzure, RateScales: []float64{2, 4, 6}},
			{Path: DefaultMooncakeTrace, Format: workload.FormatMooncake, RateScales: []float64{0.25, 0.5, 1}, SLO: DefaultMooncakeSLO()},
		},
		RateScales:        []float64{DefaultRateScale},
		StartupDelays:     []time.Duration{60 * time.Second, 180 * time.Second},
		Seeds:             []uint64{1, 2, 3},
		Policies:          AllPolicies(),
		Profiles:          DefaultProfiles(),
		WVAActuation:      ActuationMetrics,
		WVAActuationDelay: sim.DefaultTick,
		InitialFleet:      InitialFleetSteady,
		SLO:               sim.DefaultSLO(),
	}
}

// DefaultMooncakeSLO is the SLO of the Mooncake cells: TTFT 10 s, ITL 50 ms. Its prompts
// average 15,300 tokens (up to 191,000): an A100 replica alone needs 1.3 s to prefill the mean
// prompt and 3.5 s for a 40,000-token one, so with the chat SLO of 2 s only the H100 variant
// could serve and the variant choice would not be tested. Ten seconds is a long-context target
// both variants can meet; the ITL target stays that of interactive decoding.
func DefaultMooncakeSLO() sim.SLO {
	return sim.SLO{TTFT: 10 * time.Second, ITL: sim.DefaultSLO().ITL}
}

// MatrixProgress reports how far a matrix is.
type MatrixProgress struct {
	// Done counts the finished cells, of Cells.
	Done, Cells int
	// Fraction is the share of the whole matrix done (0 to 1), including the running cells'
	// progress.
	Fraction float64
}

// Cell is one comparison of a matrix.
type Cell struct {
	// Trace is the trace's path; TraceName its name (MatrixTrace.Name).
	Trace, TraceName string
	// Comparison is the outcome, without the timelines and per-minute latencies.
	Comparison Comparison
}

// Group gathers the cells of one trace, rate scale and start-up delay over the seeds.
type Group struct {
	// TraceName, RateScale and StartupDelay identify the group.
	TraceName    string
	RateScale    float64
	StartupDelay time.Duration
	// SLO is the SLO of its cells.
	SLO sim.SLO
	// Cells are the indices of its cells in Matrix.Cells, in seed order.
	Cells []int
	// Policies holds each policy's aggregate, in Config.Policies order.
	Policies []Aggregate
}

// Aggregate summarises one policy over a set of cells.
type Aggregate struct {
	// Name is the policy's name.
	Name string
	// Cells is the number of cells aggregated.
	Cells int
	// MeanFeasibleAttainment and WorstFeasibleAttainment are the mean and the minimum of
	// Score.FeasibleAttainment; MeanSLOAttainment the mean of Score.SLOAttainment.
	MeanFeasibleAttainment, WorstFeasibleAttainment, MeanSLOAttainment float64
	// MeanCostRatioToOracleWarm and WorstCostRatioToOracleWarm are the mean and the maximum of
	// CostRatioToOracleWarm.
	MeanCostRatioToOracleWarm, WorstCostRatioToOracleWarm float64
	// MeanReversals is the mean of Score.Reversals.
	MeanReversals float64
	// UnderProvisioned counts the cells in which the run was under-provisioned.
	UnderProvisioned int
	// Verdict is VerdictMeets, or what fails (for a group); for the overall summary, how many
	// groups the policy meets.
	Verdict string
	// Meets is set when the verdict is VerdictMeets (for the overall summary: in every group).
	Meets bool
}

// Matrix is the outcome of RunMatrix.
type Matrix struct {
	// Config is the configuration, without Progress.
	Config MatrixConfig
	// Cells are the cells in order: trace, rate scale, start-up delay, seed.
	Cells []Cell
	// Groups are the cell groups in the same order.
	Groups []Group
	// Summary aggregates each policy over all cells, in Config.Policies order.
	Summary []Aggregate
}

// cellSpec is a cell to run.
type cellSpec struct {
	trace int
	cfg   Config
}

// Validate reports every rule c breaks, joined into one error.
func (c MatrixConfig) Validate() error {
	var errs []error
	if len(c.Traces) == 0 {
		errs = append(errs, errors.New("at least one trace is required"))
	}
	if len(c.StartupJitters) > 0 && len(c.StartupJitters) != len(c.StartupDelays) {
		errs = append(errs, fmt.Errorf("%d start-up jitters for %d start-up delays", len(c.StartupJitters), len(c.StartupDelays)))
	}
	if len(c.StartupDelays) == 0 {
		errs = append(errs, errors.New("at least one start-up delay is required"))
	}
	if len(c.Seeds) == 0 {
		errs = append(errs, errors.New("at least one seed is required"))
	}
	if c.Parallel < 0 {
		errs = append(errs, fmt.Errorf("parallelism must not be negative, got %d", c.Parallel))
	}
	if c.MeetsAttainment < 0 || c.MeetsAttainment > 1 || c.MeetsCostRatio < 0 {
		errs = append(errs, fmt.Errorf("verdict thresholds must be an attainment in [0,1] and a non-negative ratio, got %g and %g", c.MeetsAttainment, c.MeetsCostRatio))
	}
	for _, t := range c.Traces {
		if len(t.RateScales) == 0 && len(c.RateScales) == 0 {
			errs = append(errs, fmt.Errorf("trace %s: no rate scales", t.Path))
		}
	}
	for i, s := range c.Seeds {
		if slices.Index(c.Seeds, s) < i {
			errs = append(errs, fmt.Errorf("seed %d is listed twice", s))
		}
	}
	// Every cell's configuration follows the same rules as one comparison's.
	seen := map[string]bool{}
	for _, cs := range c.cells() {
		cs.cfg.Trace = c.Traces[cs.trace].Path
		if err := cs.cfg.Validate(); err != nil {
			if msg := err.Error(); !seen[msg] {
				seen[msg] = true
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// cells lists the cells of c in order, with their configurations (without the requests).
func (c MatrixConfig) cells() []cellSpec {
	var out []cellSpec
	for ti, t := range c.Traces {
		rates := t.RateScales
		if len(rates) == 0 {
			rates = c.RateScales
		}
		slo := t.SLO
		if slo == (sim.SLO{}) {
			slo = c.SLO
		}
		for _, rate := range rates {
			for di, delay := range c.StartupDelays {
				var jitter time.Duration
				if di < len(c.StartupJitters) {
					jitter = c.StartupJitters[di]
				}
				for _, seed := range c.Seeds {
					out = append(out, cellSpec{trace: ti, cfg: Config{
						TraceFormat:       t.Format,
						Name:              t.Name() + " x" + strconv.FormatFloat(rate, 'g', -1, 64),
						RateScale:         rate,
						Seed:              seed,
						Profiles:          c.Profiles,
						StartupDelay:      delay,
						StartupJitter:     jitter,
						SLO:               slo,
						Policies:          c.Policies,
						WVAActuation:      c.WVAActuation,
						WVAActuationDelay: c.WVAActuationDelay,
						InitialFleet:      c.InitialFleet,
						// One record per run: the matrix keeps no timelines.
						TimelineEvery: 24 * time.Hour,
					}})
				}
			}
		}
	}
	return out
}

// RunMatrix runs every cell of cfg, up to cfg.Parallel at a time, and aggregates them. Each
// trace is read once. The result is the same for any parallelism: cells are stored in their
// order, and each cell is a deterministic Compare.
func RunMatrix(ctx context.Context, cfg MatrixConfig) (Matrix, error) {
	if err := cfg.Validate(); err != nil {
		return Matrix{}, err
	}
	if cfg.MeetsAttainment == 0 {
		cfg.MeetsAttainment = DefaultMeetsAttainment
	}
	if cfg.MeetsCostRatio == 0 {
		cfg.MeetsCostRatio = DefaultMeetsCostRatio
	}
	traces := make([][]workload.Request, len(cfg.Traces))
	for i, t := range cfg.Traces {
		reqs, err := workload.Load(t.Path, t.Format)
		if err != nil {
			return Matrix{}, err
		}
		traces[i] = reqs
	}
	specs := cfg.cells()
	parallel := cfg.Parallel
	if parallel == 0 {
		parallel = runtime.GOMAXPROCS(0)
	}
	parallel = min(parallel, len(specs))

	cells := make([]Cell, len(specs))
	errs := make([]error, len(specs))
	var mu sync.Mutex
	fractions := make([]float64, len(specs))
	done := 0
	report := func(i int, f float64, finished bool) {
		if cfg.Progress == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		fractions[i] = f
		if finished {
			done++
		}
		var sum float64
		for _, x := range fractions {
			sum += x
		}
		cfg.Progress(MatrixProgress{Done: done, Cells: len(specs), Fraction: sum / float64(len(specs))})
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var wg sync.WaitGroup
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				cs := specs[i]
				cs.cfg.Trace = cfg.Traces[cs.trace].Path
				cs.cfg.Requests = traces[cs.trace]
				cs.cfg.Progress = func(p Progress) { report(i, p.Done(), false) }
				c, err := Compare(ctx, cs.cfg)
				if err != nil {
					errs[i] = fmt.Errorf("cell %s, start-up %s, seed %d: %w", cs.cfg.Name, cs.cfg.StartupDelay, cs.cfg.Seed, err)
					cancel()
					continue
				}
				for j := range c.Policies {
					c.Policies[j].Timeline, c.Policies[j].TTFT = nil, nil
				}
				c.ArrivalsPerMinute = nil
				cells[i] = Cell{Trace: cs.cfg.Trace, TraceName: cfg.Traces[cs.trace].Name(), Comparison: c}
				report(i, 1, true)
			}
		}()
	}
feed:
	for i := range specs {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	// The first cell that failed on its own, not because another one's failure cancelled it.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return Matrix{}, err
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Matrix{}, err
	}
	if err := ctx.Err(); err != nil {
		return Matrix{}, err
	}

	m := Matrix{Config: cfg, Cells: cells}
	m.Config.Progress = nil
	m.Groups = groupCells(cfg, cells)
	all := make([]int, len(cells))
	for i := range all {
		all[i] = i
	}
	m.Summary = aggregate(cfg, cells, all)
	for pi := range m.Summary {
		meets := 0
		for _, g := range m.Groups {
			if g.Policies[pi].Meets {
				meets++
			}
		}
		m.Summary[pi].Meets = meets == len(m.Groups)
		m.Summary[pi].Verdict = fmt.Sprintf("meets %d of %d", meets, len(m.Groups))
	}
	return m, nil
}

// groupCells gathers consecutive cells of the same trace, rate scale and start-up delay.
func groupCells(cfg MatrixConfig, cells []Cell) []Group {
	var groups []Group
	for i, c := range cells {
		cc := c.Comparison.Config
		if n := len(groups); n > 0 {
			g := &groups[n-1]
			if g.TraceName == c.TraceName && g.RateScale == cc.RateScale && g.StartupDelay == cc.StartupDelay {
				g.Cells = append(g.Cells, i)
				continue
			}
		}
		groups = append(groups, Group{TraceName: c.TraceName, RateScale: cc.RateScale, StartupDelay: cc.StartupDelay, SLO: cc.SLO, Cells: []int{i}})
	}
	for i := range groups {
		groups[i].Policies = aggregate(cfg, cells, groups[i].Cells)
		for j := range groups[i].Policies {
			a := &groups[i].Policies[j]
			a.Verdict, a.Meets = verdict(*a, cfg.MeetsAttainment, cfg.MeetsCostRatio)
		}
	}
	return groups
}

// aggregate summarises each policy over the cells at the given indices.
func aggregate(cfg MatrixConfig, cells []Cell, idx []int) []Aggregate {
	out := make([]Aggregate, len(cfg.Policies))
	for pi, name := range cfg.Policies {
		a := Aggregate{Name: name, WorstFeasibleAttainment: math.Inf(1)}
		for _, ci := range idx {
			r := cells[ci].Comparison.Policies[pi]
			a.Cells++
			a.MeanFeasibleAttainment += r.Score.FeasibleAttainment
			a.MeanSLOAttainment += r.Score.SLOAttainment
			a.WorstFeasibleAttainment = min(a.WorstFeasibleAttainment, r.Score.FeasibleAttainment)
			a.MeanCostRatioToOracleWarm += r.CostRatioToOracleWarm
			a.WorstCostRatioToOracleWarm = max(a.WorstCostRatioToOracleWarm, r.CostRatioToOracleWarm)
			a.MeanReversals += float64(r.Score.Reversals)
			if r.UnderProvisioned {
				a.UnderProvisioned++
			}
		}
		if n := float64(a.Cells); n > 0 {
			a.MeanFeasibleAttainment /= n
			a.MeanSLOAttainment /= n
			a.MeanCostRatioToOracleWarm /= n
			a.MeanReversals /= n
		} else {
			a.WorstFeasibleAttainment = 0
		}
		out[pi] = a
	}
	return out
}

// verdict says whether a meets the thresholds, or what it misses.
func verdict(a Aggregate, attainment, costRatio float64) (string, bool) {
	var fails []string
	if a.WorstFeasibleAttainment < attainment {
		fails = append(fails, fmt.Sprintf("attainment %.2f%% < %s%%", 100*a.WorstFeasibleAttainment, strconv.FormatFloat(100*attainment, 'f', -1, 64)))
	}
	if a.MeanCostRatioToOracleWarm > costRatio {
		fails = append(fails, fmt.Sprintf("cost %.2f× > %s×", a.MeanCostRatioToOracleWarm, strconv.FormatFloat(costRatio, 'f', -1, 64)))
	}
	if len(fails) == 0 {
		return VerdictMeets, true
	}
	return strings.Join(fails, ", "), false
}
