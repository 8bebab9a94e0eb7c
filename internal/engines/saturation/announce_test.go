package saturation

import (
	"context"
	"fmt"
	"testing"
	"time"

	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/event"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// drain takes every request sitting in the trigger channel, by key.
func (h *harness) drain() map[types.NamespacedName]int {
	got := map[types.NamespacedName]int{}
	for {
		select {
		case ev := <-h.trigger:
			got[types.NamespacedName{Namespace: ev.Object.GetNamespace(), Name: ev.Object.GetName()}]++
		default:
			return got
		}
	}
}

// fleet adds n variants, one model each, all observed at 1 replica and KV 0.3.
func (h *harness) fleet(n int) []*wvav1alpha1.VariantAutoscaling {
	var vas []*wvav1alpha1.VariantAutoscaling
	for i := range n {
		va := testutil.VariantAutoscaling(fmt.Sprintf("va-%04d", i)).Model(fmt.Sprintf("m-%d", i)).Obj()
		h.vas.Update(va)
		h.observe(va, observed(1, 0.3, 0))
		vas = append(vas, va)
	}
	return vas
}

func (h *harness) announceCycle(t *testing.T, step time.Duration) map[types.NamespacedName]int {
	t.Helper()
	h.clock.Step(step)
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h.drain()
}

// TestOnlyChangedDecisionsAreAnnounced: the first cycle announces all 50 variants; a cycle
// whose decisions are those of the one before (the load figures moved, the targets did not)
// announces none; a cycle in which one variant's decision changes announces that variant only.
// (The resync is off here; TestResyncSpreadsOverThePeriod has it.)
// (Every cycle used to announce every variant: at 10,000 variants the controller's queue held
// 9,300-10,000 keys, and a changed decision waited behind the unchanged ones.)
func TestOnlyChangedDecisionsAreAnnounced(t *testing.T) {
	const n = 50
	h := newHarness(t, analysis.AnalyzerCapacity)
	WithResync(0)(h.engine)
	vas := h.fleet(n)
	if got := h.announceCycle(t, 0); len(got) != n {
		t.Fatalf("first cycle announced %d variants, want all %d", len(got), n)
	}
	for _, va := range vas {
		h.observe(va, observed(1, 0.35, 0)) // other live figures, the same decision
	}
	if got := h.announceCycle(t, 10*time.Second); len(got) != 0 {
		t.Fatalf("a cycle with no changed decision announced %d variants: %v", len(got), got)
	}
	stepped := vas[7]
	h.observe(stepped, observed(1, 0.98, 12))
	got := h.announceCycle(t, 10*time.Second)
	want := types.NamespacedName{Namespace: stepped.Namespace, Name: stepped.Name}
	if len(got) != 1 || got[want] != 1 {
		t.Fatalf("announced %v, want only %v", got, want)
	}
	if d := h.decision(t, stepped); d.TargetReplicas <= 1 {
		t.Fatalf("stepped variant's target %d, want a scale-up", d.TargetReplicas)
	}
	if c := promtestutil.ToFloat64(h.engine.metrics.triggerRequests.WithLabelValues(requestChanged)); c != n+1 {
		t.Errorf("changed requests = %v, want %d", c, n+1)
	}
	if c := promtestutil.ToFloat64(h.engine.metrics.triggerRequests.WithLabelValues(requestResync)); c != 0 {
		t.Errorf("resync requests = %v, want 0", c)
	}
}

// TestResyncSpreadsOverThePeriod: 1,000 unchanged variants, a 10 s interval and the default
// 5-minute resync: over any 30 consecutive cycles (one period) every variant is announced
// exactly once, and no cycle carries more than twice the mean share (33). Without a resync
// period nothing unchanged is announced.
func TestResyncSpreadsOverThePeriod(t *testing.T) {
	const n, interval = 1000, 10 * time.Second
	cycles := int(DefaultResyncPeriod / interval)
	h := newHarness(t, analysis.AnalyzerCapacity)
	h.fleet(n)
	h.announceCycle(t, 0)
	seen := map[types.NamespacedName]int{}
	most := 0
	for range 2 * cycles {
		got := h.announceCycle(t, interval)
		most = max(most, len(got))
		for k := range got {
			seen[k]++
		}
	}
	if len(seen) != n {
		t.Fatalf("%d of %d variants resynced in two periods", len(seen), n)
	}
	for k, c := range seen {
		if c != 2 {
			t.Fatalf("%v resynced %d times in two periods, want 2", k, c)
		}
	}
	if mean := n / cycles; most > 2*mean {
		t.Errorf("one cycle resynced %d variants, more than twice the mean %d: not spread", most, mean)
	}

	quiet := newHarness(t, analysis.AnalyzerCapacity)
	WithResync(0)(quiet.engine)
	quiet.fleet(n)
	quiet.announceCycle(t, 0)
	for range cycles + 1 {
		if got := quiet.announceCycle(t, interval); len(got) != 0 {
			t.Fatalf("resync disabled, yet %d unchanged variants announced", len(got))
		}
	}
}

func TestResyncDue(t *testing.T) {
	key := types.NamespacedName{Namespace: "ns", Name: "a"}
	t0 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	if resyncDue(key, time.Minute, time.Time{}, t0) {
		t.Error("due without a previous cycle")
	}
	if !resyncDue(key, time.Minute, t0, t0.Add(time.Minute)) {
		t.Error("not due after a whole period")
	}
	if resyncDue(key, 0, t0, t0.Add(time.Hour)) {
		t.Error("due with the resync disabled")
	}
	// Stepping through one period a second at a time finds exactly one resync.
	due := 0
	for s := range 60 {
		if resyncDue(key, time.Minute, t0.Add(time.Duration(s)*time.Second), t0.Add(time.Duration(s+1)*time.Second)) {
			due++
		}
	}
	if due != 1 {
		t.Errorf("%d resyncs in one period, want 1", due)
	}
}

// TestFullChannelKeepsAChangedDecision: a changed decision that finds the channel full waits
// for room, and the cycles after it, whose decision is unchanged and request nothing, do not
// lose it: once the controller frees the channel the variant is announced.
func TestFullChannelKeepsAChangedDecision(t *testing.T) {
	h := newHarness(t, analysis.AnalyzerCapacity)
	WithResync(0)(h.engine)
	va := h.fleet(1)[0]
	for range cap(h.trigger) {
		h.trigger <- event.GenericEvent{Object: triggerObject(types.NamespacedName{Namespace: "other", Name: "filler"})}
	}
	for range 3 {
		h.clock.Step(10 * time.Second)
		if err := h.engine.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if p := h.engine.notify.pendingCount(); p != 1 {
		t.Fatalf("%d requests pending, want the one changed decision", p)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.engine.notify.run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-h.trigger:
			if ev.Object.GetName() == va.Name {
				return
			}
		case <-deadline:
			t.Fatal("the changed decision was never announced")
		}
	}
}
