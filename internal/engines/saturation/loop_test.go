package saturation

import (
	"context"
	"fmt"
	"testing"
	"time"

	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/types"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// These tests drive Start on the fake clock. Real time appears only as generous deadlines that
// turn a hang into a failure; no assertion depends on how fast the machine is.

// start runs h.engine.Start until the test ends.
func (h *harness) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- h.engine.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

// waitCalls waits until the engine has collected metrics (run a cycle with variants) n times.
func (h *harness) waitCalls(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.calls() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d cycles, want %d", h.calls(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitIdle waits until the engine is waiting on the fake clock.
func (h *harness) waitIdle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !h.clock.HasWaiters() {
		if time.Now().After(deadline) {
			t.Fatal("engine is not waiting on the clock")
		}
		time.Sleep(time.Millisecond)
	}
}

// settle gives a wrongly woken engine the chance to run a cycle before the test checks that
// none ran. A correct engine is blocked on the fake clock, so this never slows a pass down
// into a fail.
func settle() { time.Sleep(20 * time.Millisecond) }

func TestFirstCycleWaitsForReadiness(t *testing.T) {
	va := testutil.VariantAutoscaling("a").Obj()
	h := newHarness(t, analysis.AnalyzerCapacity, va)
	h.observe(va, observed(1, 0.3, 0))
	ready := make(chan struct{})
	WithReadiness(ready, time.Minute)(h.engine)
	h.cfg.UpdateOptimizationConfig("10s")
	h.start(t)

	h.waitIdle(t)
	settle()
	if h.calls() != 0 {
		t.Fatal("a cycle ran before the caches and configuration were loaded")
	}
	h.clock.Step(59 * time.Second)
	settle()
	if h.calls() != 0 {
		t.Fatal("a cycle ran before the readiness timeout")
	}
	close(ready)
	h.waitCalls(t, 1)
	if d := h.decision(t, va); !d.LastRunTime.Equal(h.clock.Now()) {
		t.Errorf("first decision at %v, want at readiness (%v)", d.LastRunTime, h.clock.Now())
	}
	h.waitIdle(t)
	h.clock.Step(10 * time.Second)
	h.waitCalls(t, 2)
}

func TestReadinessWaitIsBounded(t *testing.T) {
	va := testutil.VariantAutoscaling("a").Obj()
	h := newHarness(t, analysis.AnalyzerCapacity, va)
	h.observe(va, observed(1, 0.3, 0))
	WithReadiness(make(chan struct{}), 0)(h.engine) // never ready; the default bound applies
	h.start(t)

	h.waitIdle(t)
	h.clock.Step(DefaultReadinessTimeout - time.Second)
	settle()
	if h.calls() != 0 {
		t.Fatal("a cycle ran before the readiness timeout")
	}
	h.clock.Step(time.Second)
	h.waitCalls(t, 1) // proceeds with what is loaded
}

// TestFirstDecisionWithinOneIntervalOfStart is the start-up of a fresh leader: the engine
// starts before the ConfigMap reconciler has loaded a 1s interval and before the controller
// has cached any VariantAutoscaling. The first decision must come at most one (configured)
// interval after Start, not after the 30s default the empty configuration implied.
func TestFirstDecisionWithinOneIntervalOfStart(t *testing.T) {
	h := newHarness(t, analysis.AnalyzerCapacity)
	va := testutil.VariantAutoscaling("a").Obj()
	h.observe(va, observed(1, 0.3, 0))
	started := h.clock.Now()
	h.start(t)

	h.waitIdle(t) // the first cycle found nothing to decide for
	h.vas.Update(va)
	h.cfg.UpdateOptimizationConfig("1s")
	h.clock.Step(time.Second)
	h.waitCalls(t, 1)
	d := h.decision(t, va)
	if got := d.LastRunTime.Sub(started); got > time.Second {
		t.Errorf("first decision %v after Start, want at most one interval (1s)", got)
	}
}

func TestShorteningTheIntervalWakesTheLoop(t *testing.T) {
	va := testutil.VariantAutoscaling("a").Obj()
	h := newHarness(t, analysis.AnalyzerCapacity, va)
	h.observe(va, observed(1, 0.3, 0))
	h.cfg.UpdateOptimizationConfig("10m")
	h.start(t)
	h.waitCalls(t, 1)

	// 10m -> 1s while waiting: the next cycle is one new interval after the last start.
	h.waitIdle(t)
	h.cfg.UpdateOptimizationConfig("1s")
	h.clock.Step(time.Second)
	h.waitCalls(t, 2)

	// 1s -> 10m and, 5s into the wait, back to 1s: start+1s is past, so the cycle runs at once.
	h.cfg.UpdateOptimizationConfig("10m")
	h.waitIdle(t)
	h.clock.Step(5 * time.Second)
	settle()
	if h.calls() != 2 {
		t.Fatal("cycle ran 5s into a 10m interval")
	}
	h.cfg.UpdateOptimizationConfig("1s")
	h.waitCalls(t, 3)

	// Lengthening works the same way: 1s -> 2m keeps the loop waiting for the longer interval.
	h.waitIdle(t)
	h.cfg.UpdateOptimizationConfig("2m")
	h.clock.Step(time.Minute)
	settle()
	if h.calls() != 3 {
		t.Fatal("cycle ran 1m into a 2m interval")
	}
	h.clock.Step(time.Minute)
	h.waitCalls(t, 4)
}

// slowSource is a fakeSource whose collection takes cost on the fake clock.
type slowSource struct {
	*fakeSource
	h    *harness
	cost time.Duration
}

func (s slowSource) Collect(ctx context.Context, targets []collector.Target, now time.Time) (collector.Snapshot, error) {
	s.h.clock.Step(s.cost)
	return s.fakeSource.Collect(ctx, targets, now)
}

func TestIntervalCountsFromCycleStart(t *testing.T) {
	va := testutil.VariantAutoscaling("a").Obj()
	h := newHarness(t, analysis.AnalyzerCapacity, va)
	h.observe(va, observed(1, 0.3, 0))
	h.cfg.UpdateOptimizationConfig("10s")
	e, err := New(slowSource{h.source, h, 2 * time.Second}, h.vas, h.cfg, h.decisions, h.trigger, WithClock(h.clock))
	if err != nil {
		t.Fatal(err)
	}
	h.engine = e
	h.start(t)
	h.waitCalls(t, 1) // starts at t0, ends at t0+2s (within MaxCycleDuty of the 10 s interval)
	h.waitIdle(t)
	h.clock.Step(8 * time.Second) // t0+10s: one interval after the first cycle started
	h.waitCalls(t, 2)
}

// TestSlowCyclesStretchThePeriod: with a 5 s interval, a cycle that takes 4 s is followed by
// the next one 16 s after it started (MaxCycleDuty 0.25), not 5 s.
func TestSlowCyclesStretchThePeriod(t *testing.T) {
	va := testutil.VariantAutoscaling("a").Obj()
	h := newHarness(t, analysis.AnalyzerCapacity, va)
	h.observe(va, observed(1, 0.3, 0))
	h.cfg.UpdateOptimizationConfig("5s")
	e, err := New(slowSource{h.source, h, 4 * time.Second}, h.vas, h.cfg, h.decisions, h.trigger, WithClock(h.clock))
	if err != nil {
		t.Fatal(err)
	}
	h.engine = e
	h.start(t)
	h.waitCalls(t, 1) // starts at t0, ends at t0+4s
	h.waitIdle(t)
	h.clock.Step(2 * time.Second) // t0+6s: past the interval
	settle()
	if n := h.calls(); n != 1 {
		t.Fatalf("%d cycles at t0+6s, want 1: a 4 s cycle must not be followed after the 5 s interval", n)
	}
	h.waitIdle(t)
	h.clock.Step(10 * time.Second) // t0+16s
	h.waitCalls(t, 2)
}

// TestFullChannelDeliversEveryChangedDecisionWithinTwoCycles: 5,000 variants whose decisions
// change every cycle (their replicas alternate between 1 and 2), the 1,000-slot trigger channel
// and a controller that is busy while a cycle publishes and then handles 2,510 triggers per
// interval, just over half the fleet (the notifier may send one duplicate a cycle, see
// notifier). No changed decision may be lost: every variant must be announced within two
// cycles, and again within every two cycles after that. (Dropping whatever did not fit starved
// the tail of the sorted order: only the first 1,000 variants were ever announced.)
func TestFullChannelDeliversEveryChangedDecisionWithinTwoCycles(t *testing.T) {
	const n, perInterval = 5000, 2510
	h := newHarness(t, analysis.AnalyzerCapacity)
	all := map[types.NamespacedName]bool{}
	var vas []*wvav1alpha1.VariantAutoscaling
	for i := range n {
		va := testutil.VariantAutoscaling(fmt.Sprintf("va-%04d", i)).Model(fmt.Sprintf("m-%d", i)).Obj()
		h.vas.Update(va)
		h.observe(va, observed(1, 0.3, 0))
		all[types.NamespacedName{Namespace: va.Namespace, Name: va.Name}] = true
		vas = append(vas, va)
	}
	h.cfg.UpdateOptimizationConfig("10s")
	h.start(t)

	// consume reads up to perInterval triggers; it stops early when none arrives for a while,
	// which only a lost trigger can cause.
	consume := func() map[types.NamespacedName]bool {
		got := map[types.NamespacedName]bool{}
		for range perInterval {
			select {
			case ev := <-h.trigger:
				got[types.NamespacedName{Namespace: ev.Object.GetNamespace(), Name: ev.Object.GetName()}] = true
			case <-time.After(3 * time.Second):
				return got
			}
		}
		return got
	}
	missing := func(seen ...map[types.NamespacedName]bool) []types.NamespacedName {
		var out []types.NamespacedName
		for k := range all {
			found := false
			for _, s := range seen {
				found = found || s[k]
			}
			if !found {
				out = append(out, k)
			}
		}
		return out
	}

	var windows []map[types.NamespacedName]bool
	for cycle := 1; cycle <= 6; cycle++ {
		h.waitCalls(t, cycle)
		h.waitIdle(t) // the controller is busy while the cycle publishes: the channel fills
		windows = append(windows, consume())
		if cycle >= 2 {
			if m := missing(windows[cycle-2], windows[cycle-1]); len(m) > 0 {
				t.Fatalf("cycles %d-%d: %d of %d variants never announced (e.g. %v)", cycle-1, cycle, len(m), n, m[0])
			}
		}
		h.source.mu.Lock()
		for _, va := range vas {
			h.observe(va, observed(1+cycle%2, 0.3, 0)) // the current replicas change: so does every decision
		}
		h.source.mu.Unlock()
		h.clock.Step(10 * time.Second)
	}
	if p := h.engine.notify.pendingCount(); p > n {
		t.Errorf("%d triggers pending, more than the %d variants", p, n)
	}
	if got := promtestutil.ToFloat64(h.engine.metrics.triggerPending); int(got) != h.engine.notify.pendingCount() {
		t.Errorf("pending gauge %v, want %d", got, h.engine.notify.pendingCount())
	}
}
