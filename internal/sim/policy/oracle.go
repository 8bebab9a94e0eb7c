package policy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

// NameOracle is the name of the Oracle policy.
const NameOracle = "oracle"

// Oracle defaults.
const (
	// DefaultOracleWindow is the length of the oracle's windows.
	DefaultOracleWindow = time.Minute
	// DefaultOracleGoal is the share of a window's requests that must meet the SLO.
	DefaultOracleGoal = 0.99
)

// OracleConfig configures the oracle.
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

// OracleWindow is the oracle's choice for one window.
type OracleWindow struct {
	// Start and Length place the window in the run.
	Start, Length time.Duration
	// Requests is the number of arrivals in the window.
	Requests int
	// Variant is the variant chosen for the window ("" when no request arrives).
	Variant string
	// Replicas is the number of replicas of Variant.
	Replicas int
	// Attainment is the SLO attainment of the window's arrivals on those replicas.
	Attainment float64
}

// Oracle is the physical lower bound of provisioning: for each window, the cheapest fleet of one
// variant that, if its replicas were available instantly and started empty, would serve that
// window's arrivals within the SLO goal (sim.Attainment on the window's requests). Its GPU-hours
// (LowerBound) are what every policy is compared with. As a sim.Policy it replays the schedule
// with instantly ready replicas; that run also drains replicas on scale-down, so its GPU-hours
// are slightly above LowerBound.
//
// Windows are sized independently (no carry-over of requests between windows) and a window uses
// a single variant, so the bound is a close, not an absolute, one for multi-variant scenarios.
type Oracle struct {
	start    time.Time
	window   time.Duration
	variants []sim.VariantSpec
	windows  []OracleWindow
}

// NewOracle computes the oracle's schedule for sc.
func NewOracle(sc sim.Scenario, cfg OracleConfig) (*Oracle, error) {
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	if cfg.Window <= 0 || !(cfg.Goal > 0 && cfg.Goal <= 1) {
		return nil, fmt.Errorf("oracle: window must be positive and goal in (0, 1], got %s and %g", cfg.Window, cfg.Goal)
	}
	o := &Oracle{start: sc.Start, window: cfg.Window, variants: sc.Variants}
	hints := make([]int, len(sc.Variants))
	for start := time.Duration(0); start < sc.Duration; start += cfg.Window {
		w := OracleWindow{Start: start, Length: min(cfg.Window, sc.Duration-start)}
		reqs := workload.Window(sc.Requests, start, start+w.Length)
		w.Requests = len(reqs)
		if len(reqs) > 0 {
			type option struct {
				n   int
				att float64
			}
			opts := make([]option, len(sc.Variants))
			best, reachable := 0.0, 0.0
			for i, v := range sc.Variants {
				n, att, b, err := minReplicas(v, reqs, sc.SLO, cfg.Goal, hints[i])
				if err != nil {
					return nil, fmt.Errorf("oracle: window at %s, variant %s: %w", start, v.Name, err)
				}
				hints[i] = n
				opts[i] = option{n: n, att: att}
				best = max(best, min(att, cfg.Goal))
				reachable = max(reachable, b)
			}
			if reachable == 0 {
				return nil, fmt.Errorf("oracle: window at %s: no request can meet the SLO (TTFT %s, ITL %s) on any variant, even alone on an idle replica",
					start, sc.SLO.TTFT, sc.SLO.ITL)
			}
			// The cheapest variant among those that reach the goal, or the best attainment any
			// variant reaches.
			bestCost := -1.0
			for i, v := range sc.Variants {
				if opts[i].att < best-1e-9 {
					continue
				}
				if cost := float64(opts[i].n) * v.Profile.ReplicaCostPerHour(); bestCost < 0 || cost < bestCost {
					bestCost = cost
					w.Variant, w.Replicas, w.Attainment = v.Name, opts[i].n, opts[i].att
				}
			}
		}
		o.windows = append(o.windows, w)
	}
	return o, nil
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

// NameReactiveOracle names the reactive bound: the oracle's fleet with real start-up delays.
const NameReactiveOracle = "oracle-reactive"

// Reactive returns the bound of reactive autoscaling: a policy that always asks for exactly the
// oracle's fleet for the current window — perfect knowledge of present demand, none of the
// future — but whose new replicas take the variants' start-up delay like everyone else's. No
// autoscaler that reacts to what it observes can do better on attainment at that cost.
func (o *Oracle) Reactive() sim.Policy { return reactiveOracle{o: o} }

// reactiveOracle holds the oracle as a field, not embedded, so that it does not inherit
// InstantStart.
type reactiveOracle struct{ o *Oracle }

func (reactiveOracle) Name() string { return NameReactiveOracle }

func (r reactiveOracle) Decide(ctx context.Context, now time.Time, c sim.Cluster) (map[string]int, error) {
	return r.o.Decide(ctx, now, c)
}

// Decide implements sim.Policy: it sets every variant to its count in the current window.
func (o *Oracle) Decide(_ context.Context, now time.Time, _ sim.Cluster) (map[string]int, error) {
	w := o.at(now.Sub(o.start))
	out := make(map[string]int, len(o.variants))
	for _, v := range o.variants {
		out[v.Name] = 0
		if v.Name == w.Variant {
			out[v.Name] = w.Replicas
		}
	}
	return out, nil
}

func (o *Oracle) at(d time.Duration) OracleWindow {
	i := int(d / o.window)
	if i < 0 || len(o.windows) == 0 {
		return OracleWindow{}
	}
	return o.windows[min(i, len(o.windows)-1)]
}

// Schedule returns the oracle's windows in time order.
func (o *Oracle) Schedule() []OracleWindow {
	return append([]OracleWindow(nil), o.windows...)
}

// LowerBound returns the GPU-hours and cost of the schedule: the sum over windows of replicas x
// GPUs per replica x window length (and x price per GPU-hour).
func (o *Oracle) LowerBound() (gpuHours, cost float64) {
	for _, w := range o.windows {
		for _, v := range o.variants {
			if v.Name != w.Variant {
				continue
			}
			h := float64(w.Replicas*v.Profile.GPUsPerReplica) * w.Length.Hours()
			gpuHours += h
			cost += h * v.Profile.CostPerGPUHour
		}
	}
	return gpuHours, cost
}

// GPUHoursRatio is s's GPU-hours divided by the oracle's lower bound: how many times the
// physical minimum a policy used (0 when the bound is 0).
func (o *Oracle) GPUHoursRatio(s sim.Score) float64 {
	lower, _ := o.LowerBound()
	if lower == 0 {
		return 0
	}
	return s.GPUHours / lower
}

// PeakReplicas returns the choice of the window whose fleet costs most: a fixed fleet that
// serves the peak (the default of the static policy).
func (o *Oracle) PeakReplicas() map[string]int {
	out := map[string]int{}
	best := -1.0
	for _, w := range o.windows {
		for _, v := range o.variants {
			if v.Name == w.Variant {
				if c := float64(w.Replicas) * v.Profile.ReplicaCostPerHour(); c > best {
					best = c
					clear(out)
					out[v.Name] = w.Replicas
				}
			}
		}
	}
	return out
}
