package policy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

// Names of the oracle policies.
const (
	// NameOracle is the best-case bracket: hindsight and instant replicas.
	NameOracle = "oracle"
	// NameOracleWarm is the physical limit: hindsight, but replicas take their start-up delay.
	NameOracleWarm = "oracle-warm"
)

// Oracle defaults.
const (
	// DefaultOracleWindow is the length of the oracle's windows.
	DefaultOracleWindow = time.Minute
	// DefaultOracleGoal is the share of a window's requests that must meet the SLO.
	DefaultOracleGoal = 0.99
)

// OracleConfig configures the oracles.
type OracleConfig struct {
	// Window is the length of the windows the run is cut into.
	Window time.Duration
	// Goal is the share (0..1] of a window's requests that must meet the SLO, among those that
	// can meet it at all: requests that miss it even alone on an idle replica (BestAttainment)
	// are not counted against the goal.
	Goal float64
}

// DefaultOracleConfig returns one-minute windows and a 99 % goal.
func DefaultOracleConfig() OracleConfig {
	return OracleConfig{Window: DefaultOracleWindow, Goal: DefaultOracleGoal}
}

// OracleWindow is one window of an oracle's plan.
type OracleWindow struct {
	// Start and Length place the window in the run.
	Start, Length time.Duration
	// Requests is the number of arrivals in the window.
	Requests int
	// Need holds, per variant that can serve the window at the goal, the fewest replicas of that
	// variant alone that do (sim.Attainment on the window's arrivals); empty when none arrive.
	Need map[string]int
	// Replicas is the plan's fleet for the window, per variant (zeros included).
	Replicas map[string]int
}

// PlanTotals are what a plan costs under the planner's model (see plan.go): its cost, and the
// GPU-hours of that cheapest plan, which are not the fewest GPU-hours possible (a plan that
// minimises GPU-hours may cost more).
type PlanTotals struct {
	Cost     float64
	GPUHours float64
}

// Oracle is the best-case bracket of provisioning: with hindsight, for each window the cheapest
// fleet (any mix of variants) that, if its replicas were available instantly and started empty,
// would serve that window's arrivals within the SLO goal. As a sim.Policy it replays its plan
// with instantly ready replicas. Warm returns the start-up-aware oracle built on the same
// per-window requirements.
//
// Windows are sized independently (no carry-over of requests between windows), and a mix of
// variants is sized by adding up capacity (plan.go states the model).
type Oracle struct {
	start    time.Time
	window   time.Duration
	variants []sim.VariantSpec
	needs    []planWindow
	pvars    []planVariant
	plan     planResult
	windows  []OracleWindow
}

// NewOracle measures every window's requirements on sc and plans the instant oracle.
func NewOracle(sc sim.Scenario, cfg OracleConfig) (*Oracle, error) {
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	if cfg.Window <= 0 || !(cfg.Goal > 0 && cfg.Goal <= 1) {
		return nil, fmt.Errorf("oracle: window must be positive and goal in (0, 1], got %s and %g", cfg.Window, cfg.Goal)
	}
	o := &Oracle{start: sc.Start, window: cfg.Window, variants: sc.Variants}
	for _, v := range sc.Variants {
		o.pvars = append(o.pvars, planVariant{costPerHour: v.Profile.ReplicaCostPerHour(), gpus: v.Profile.GPUsPerReplica, startup: v.MinStartupDelay()})
	}
	hints := make([]int, len(sc.Variants))
	var counts []int
	for start := time.Duration(0); start < sc.Duration; start += cfg.Window {
		w := planWindow{length: min(cfg.Window, sc.Duration-start), need: make([]int, len(sc.Variants))}
		reqs := workload.Window(sc.Requests, start, start+w.length)
		counts = append(counts, len(reqs))
		if len(reqs) > 0 {
			w.busy = true
			atts := make([]float64, len(sc.Variants))
			best, reachable := 0.0, 0.0
			for i, v := range sc.Variants {
				n, att, b, err := minReplicas(v, reqs, sc.SLO, cfg.Goal, hints[i])
				if err != nil {
					return nil, fmt.Errorf("oracle: window at %s, variant %s: %w", start, v.Name, err)
				}
				hints[i], w.need[i], atts[i] = n, n, att
				best = max(best, min(att, cfg.Goal))
				reachable = max(reachable, b)
			}
			if reachable == 0 {
				return nil, fmt.Errorf("oracle: window at %s: no request can meet the SLO (TTFT %s, ITL %s) on any variant, even alone on an idle replica",
					start, sc.SLO.TTFT, sc.SLO.ITL)
			}
			// A variant that cannot bring the window to the best attainment any variant reaches
			// (say, one too slow for the long prompts another serves in time) is not used.
			for i := range w.need {
				if atts[i] < best-1e-9 {
					w.need[i] = unusable
				}
			}
		}
		o.needs = append(o.needs, w)
	}
	plan, err := planSchedule(o.needs, o.pvars, false)
	if err != nil {
		return nil, fmt.Errorf("oracle: %w", err)
	}
	o.plan = plan
	o.windows = o.describe(plan, counts)
	return o, nil
}

// describe turns a plan into OracleWindows.
func (o *Oracle) describe(p planResult, counts []int) []OracleWindow {
	out := make([]OracleWindow, len(o.needs))
	var start time.Duration
	for wi, w := range o.needs {
		ow := OracleWindow{Start: start, Length: w.length, Requests: counts[wi], Need: map[string]int{}, Replicas: map[string]int{}}
		for i, v := range o.variants {
			if w.busy && w.need[i] != unusable {
				ow.Need[v.Name] = w.need[i]
			}
			ow.Replicas[v.Name] = p.replicas[wi][i]
		}
		out[wi] = ow
		start += w.length
	}
	return out
}

// minReplicas returns the fewest replicas of v whose attainment on reqs reaches goal x the best
// attainment any number of replicas reaches (BestAttainment), searching from hint.
func minReplicas(v sim.VariantSpec, reqs []workload.Request, slo sim.SLO, goal float64, hint int) (n int, att, best float64, err error) {
	best, err = sim.BestAttainment(v, reqs, slo)
	if err != nil {
		return 0, 0, 0, err
	}
	reach := goal*best - 1e-9
	cache := map[int]float64{}
	var evalErr error
	eval := func(n int) float64 {
		if a, ok := cache[n]; ok {
			return a
		}
		a, err := sim.Attainment(v, n, reqs, slo)
		if err != nil {
			evalErr = errors.Join(evalErr, err)
		}
		cache[n] = a
		return a
	}
	// Double from the hint until the goal is reached; with one replica per request each is
	// served alone, which reaches best.
	hi := min(max(hint, 1), len(reqs))
	for hi < len(reqs) && eval(hi) < reach && evalErr == nil {
		hi = min(2*hi, len(reqs))
	}
	if evalErr != nil {
		return 0, 0, 0, evalErr
	}
	// Most windows need about as many replicas as the previous one: try the hint first.
	if h := min(max(hint, 1), hi); eval(h) >= reach && (h == 1 || eval(h-1) < reach) {
		return h, eval(h), best, evalErr
	}
	lo := 1
	for lo < hi {
		mid := (lo + hi) / 2
		if eval(mid) >= reach {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return hi, eval(hi), best, evalErr
}

// Name implements sim.Policy.
func (*Oracle) Name() string { return NameOracle }

// InstantStart implements sim.InstantStarter: the oracle's replicas serve at once.
func (*Oracle) InstantStart() bool { return true }

// Decide implements sim.Policy: it sets every variant to its count in the current window.
func (o *Oracle) Decide(_ context.Context, now time.Time, _ sim.Cluster) (map[string]int, error) {
	return maps.Clone(o.windows[o.index(now.Sub(o.start))].Replicas), nil
}

// index is the window that d falls in.
func (o *Oracle) index(d time.Duration) int {
	return min(max(int(d/o.window), 0), len(o.windows)-1)
}

// Schedule returns the oracle's windows in time order.
func (o *Oracle) Schedule() []OracleWindow { return slices.Clone(o.windows) }

// Plan returns the cost and GPU-hours of the plan.
func (o *Oracle) Plan() PlanTotals { return PlanTotals{Cost: o.plan.cost, GPUHours: o.plan.gpuHours} }

// InitialReplicas returns the fleet of the plan's first window: what the load at time zero
// needs, the fleet an autoscaler that has been running on the traffic before would have.
func (o *Oracle) InitialReplicas() map[string]int { return maps.Clone(o.windows[0].Replicas) }

// PeakReplicas returns the fleet of the window whose plan costs most: a fixed fleet that serves
// the peak (the default of the static policy).
func (o *Oracle) PeakReplicas() map[string]int {
	best, at := -1.0, 0
	for wi, x := range o.plan.replicas {
		c := 0.0
		for i, n := range x {
			c += float64(n) * o.pvars[i].costPerHour
		}
		if c > best {
			best, at = c, wi
		}
	}
	return maps.Clone(o.windows[at].Replicas)
}

// OracleWarm is the physical limit of any autoscaler facing the variants' start-up delays: with
// hindsight, the cheapest schedule over the whole run in which every replica is ordered a
// start-up delay before it serves and is paid for from its creation. A variant whose start-up
// delay is spread (VariantSpec.StartupJitter) is planned with its shortest delay
// (MinStartupDelay), so the plan stays a lower bound; its replay orders replicas that much
// ahead, and a replica drawn slower serves late. It is planned exactly
// (plan.go) on the same per-window requirements as the Oracle. As a sim.Policy it orders each
// replica a start-up delay ahead of the window it serves; start its run with InitialReplicas.
type OracleWarm struct {
	o       *Oracle
	plan    planResult
	windows []OracleWindow
}

// Warm plans the start-up-aware oracle.
func (o *Oracle) Warm() (*OracleWarm, error) {
	plan, err := planSchedule(o.needs, o.pvars, true)
	if err != nil {
		return nil, fmt.Errorf("oracle-warm: %w", err)
	}
	counts := make([]int, len(o.windows))
	for i, w := range o.windows {
		counts[i] = w.Requests
	}
	return &OracleWarm{o: o, plan: plan, windows: o.describe(plan, counts)}, nil
}

// Name implements sim.Policy.
func (*OracleWarm) Name() string { return NameOracleWarm }

// Decide implements sim.Policy: each variant keeps the replicas that serve the current window
// plus those that must already be starting to serve a later one, the most the plan needs from
// now until a start-up delay ahead (the plan never sheds a replica it would have to start again
// within its start-up delay, so the most is what exists).
func (w *OracleWarm) Decide(_ context.Context, now time.Time, _ sim.Cluster) (map[string]int, error) {
	d := now.Sub(w.o.start)
	from := w.o.index(d)
	out := make(map[string]int, len(w.o.variants))
	for i, v := range w.o.variants {
		n := 0
		for wi := from; wi <= w.o.index(d+v.MinStartupDelay()); wi++ {
			n = max(n, w.plan.replicas[wi][i])
		}
		out[v.Name] = n
	}
	return out, nil
}

// InitialReplicas returns the plan's fleet at time zero, which a run must start with.
func (w *OracleWarm) InitialReplicas() map[string]int { return maps.Clone(w.windows[0].Replicas) }

// Schedule returns the windows of the plan in time order.
func (w *OracleWarm) Schedule() []OracleWindow { return slices.Clone(w.windows) }

// Plan returns the cost and GPU-hours of the plan, start-up time included.
func (w *OracleWarm) Plan() PlanTotals {
	return PlanTotals{Cost: w.plan.cost, GPUHours: w.plan.gpuHours}
}
