package sim

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	testingclock "k8s.io/utils/clock/testing"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
)

// DefaultTick is how often Run asks the policy for a decision unless WithTick says otherwise.
const DefaultTick = time.Second

// Cluster is what a Policy may observe of the simulated cluster. Fleet implements it.
type Cluster interface {
	// Source observes the variants like the production collector (Collect with the scenario's
	// peak window).
	collector.Source
	// Variants returns the specs of the variants, in scenario order.
	Variants() []VariantSpec
	// Window returns a Source with another peak window (0: latest scrape).
	Window(w time.Duration) collector.Source
	// Pods returns the live pods of every variant (the Deployments' spec replicas are their
	// starting and serving pods).
	Pods() []Pod
}

// Observer watches the cluster at times of its own choosing, as a Prometheus server scrapes the
// pods on its own schedule. Run advances the fleet to each time the observer asks for and calls
// Observe there, before the arrivals and the policy decision of that instant.
type Observer interface {
	// NextObservation returns the virtual time (from the scenario's start) of the next
	// observation the observer wants, or a negative value for none.
	NextObservation() time.Duration
	// Observe is called at the time NextObservation returned, with the cluster advanced to it.
	// An error ends the run.
	Observe(ctx context.Context, at time.Duration, c Cluster) error
}

// Policy decides how many replicas each variant should have.
type Policy interface {
	// Name names the policy in scores and reports.
	Name() string
	// Decide is called at every tick with the virtual time and returns the desired replica
	// count of each variant it wants to change, keyed by variant name; variants it leaves out
	// keep their count. A policy that acts less often than every tick keeps its own schedule and
	// returns nil in between. An error ends the run.
	Decide(ctx context.Context, now time.Time, c Cluster) (map[string]int, error)
}

// InstantStarter is implemented by policies whose replicas serve as soon as they are created
// (the oracle's "replicas available instantly"); Run ignores the variants' start-up delays for
// them.
type InstantStarter interface {
	InstantStart() bool
}

// runConfig holds Run's options.
type runConfig struct {
	tick     time.Duration
	every    time.Duration
	delay    time.Duration
	clock    *testingclock.FakeClock
	timeline bool
	observer Observer
}

// RunOption configures Run.
type RunOption func(*runConfig)

// WithTick sets how often the policy is asked for a decision (default DefaultTick).
func WithTick(d time.Duration) RunOption { return func(c *runConfig) { c.tick = d } }

// WithTimeline records a TickRecord every d of virtual time (rounded up to whole ticks) in
// Result.Timeline.
func WithTimeline(d time.Duration) RunOption {
	return func(c *runConfig) { c.timeline, c.every = true, d }
}

// WithActuationDelay applies each decision d after it was made instead of at once, e.g. one
// tick for a controller that actuates on its next reconcile.
func WithActuationDelay(d time.Duration) RunOption { return func(c *runConfig) { c.delay = d } }

// WithClock sets clk to the virtual time before every decision, so that a policy built on
// components that read an injected clock sees simulated time.
func WithClock(clk *testingclock.FakeClock) RunOption { return func(c *runConfig) { c.clock = clk } }

// WithObserver has o observe the cluster at the times it asks for (see Observer).
func WithObserver(o Observer) RunOption { return func(c *runConfig) { c.observer = o } }

// Result is the outcome of one run.
type Result struct {
	// Score summarises the run.
	Score Score
	// Timeline holds the per-tick records asked for with WithTimeline.
	Timeline []TickRecord
	// Requests holds every replayed request with its outcome, in arrival order.
	Requests []Request
}

type pendingDecision struct {
	due       time.Duration
	decisions map[string]int
}

// Run replays sc against policy p in virtual time and scores the result.
//
// Time advances from event to event: arrivals (each routed at once to the least-loaded ready
// replica, or queued in the router while none is ready), replicas becoming ready, scrapes of the
// replicas' gauges every ScrapeInterval, and policy ticks. At each tick the policy decides and
// its decisions are applied (after the actuation delay, if any) by scaling the variants. Runs
// are deterministic: the same scenario and policy give the same Result.
func Run(ctx context.Context, sc Scenario, p Policy, opts ...RunOption) (Result, error) {
	cfg := runConfig{tick: DefaultTick}
	for _, o := range opts {
		o(&cfg)
	}
	if err := sc.Validate(); err != nil {
		return Result{}, err
	}
	if cfg.tick <= 0 || cfg.delay < 0 || (cfg.timeline && cfg.every < 0) {
		return Result{}, fmt.Errorf("tick must be positive and delays >= 0, got tick %s, actuation delay %s, timeline every %s", cfg.tick, cfg.delay, cfg.every)
	}
	instant := false
	if is, ok := p.(InstantStarter); ok {
		instant = is.InstantStart()
	}
	f := newFleet(sc, instant)
	end := sc.Duration

	reqs := make([]Request, 0, len(sc.Requests))
	for i, w := range sc.Requests {
		if w.Arrival > end {
			break
		}
		reqs = append(reqs, newRequest(i, w))
	}

	recordEvery := int64(1)
	if cfg.timeline && cfg.every > cfg.tick {
		recordEvery = int64((cfg.every + cfg.tick - 1) / cfg.tick)
	}
	var (
		res        Result
		next       int
		nextTick   time.Duration
		tickIndex  int64
		nextScrape time.Duration
		queue      []pendingDecision
		arrived    int
	)
	for {
		t := min(nextTick, nextScrape)
		if next < len(reqs) {
			t = min(t, reqs[next].Arrival)
		}
		if r := f.nextReady(); r >= 0 {
			t = min(t, r)
		}
		if len(queue) > 0 {
			t = min(t, queue[0].due)
		}
		obsAt := time.Duration(-1)
		if cfg.observer != nil {
			if obsAt = cfg.observer.NextObservation(); obsAt >= 0 {
				if obsAt < f.now {
					return Result{}, fmt.Errorf("the observer asks to observe at %s, before the current time %s", obsAt, f.now)
				}
				t = min(t, obsAt)
			}
		}
		if t > end {
			break
		}
		f.advanceTo(t)
		if t == obsAt {
			if err := cfg.observer.Observe(ctx, t, f); err != nil {
				return Result{}, fmt.Errorf("observing the cluster at %s: %w", t, err)
			}
		}
		for next < len(reqs) && reqs[next].Arrival <= t {
			f.dispatch(&reqs[next])
			next++
			arrived++
		}
		if t == nextScrape {
			f.scrapeAll()
			nextScrape += sc.ScrapeInterval
		}
		for len(queue) > 0 && queue[0].due <= t {
			if err := f.apply(queue[0].decisions); err != nil {
				return Result{}, fmt.Errorf("policy %s at %s: %w", p.Name(), t, err)
			}
			queue = queue[1:]
		}
		if t == nextTick {
			if err := ctx.Err(); err != nil {
				return Result{}, err
			}
			if cfg.clock != nil {
				cfg.clock.SetTime(f.Now())
			}
			decisions, err := p.Decide(ctx, f.Now(), f)
			if err != nil {
				return Result{}, fmt.Errorf("policy %s at %s: %w", p.Name(), t, err)
			}
			if len(decisions) > 0 {
				if cfg.delay == 0 {
					if err := f.apply(decisions); err != nil {
						return Result{}, fmt.Errorf("policy %s at %s: %w", p.Name(), t, err)
					}
				} else {
					queue = append(queue, pendingDecision{due: t + cfg.delay, decisions: maps.Clone(decisions)})
				}
			}
			if cfg.timeline && tickIndex%recordEvery == 0 {
				res.Timeline = append(res.Timeline, f.record(t, arrived))
				arrived = 0
			}
			tickIndex++
			nextTick += cfg.tick
		}
	}
	f.advanceTo(end)
	res.Requests = reqs
	res.Score = scoreRun(p.Name(), sc.SLO, reqs, f, end)
	return res, nil
}

// apply scales the variants named in decisions, in scenario order.
func (f *Fleet) apply(decisions map[string]int) error {
	var errs []error
	seen := 0
	for _, v := range f.variants {
		n, ok := decisions[v.spec.Name]
		if !ok {
			continue
		}
		seen++
		if _, err := f.scale(v.spec.Name, n); err != nil {
			errs = append(errs, err)
		}
	}
	if seen < len(decisions) {
		for _, name := range slices.Sorted(maps.Keys(decisions)) {
			if !slices.ContainsFunc(f.variants, func(v *variantState) bool { return v.spec.Name == name }) {
				errs = append(errs, fmt.Errorf("decision for unknown variant %q", name))
			}
		}
	}
	return errors.Join(errs...)
}
