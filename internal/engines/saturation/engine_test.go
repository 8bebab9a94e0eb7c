package saturation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/event"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// fakeSource is an in-memory collector.Source for pure engine tests.
type fakeSource struct {
	mu      sync.Mutex
	obs     map[types.NamespacedName]collector.VariantObservation
	models  map[collector.ModelKey]analysis.ModelMetrics
	err     error
	calls   int
	targets []collector.Target // of the last call
}

func (f *fakeSource) Collect(_ context.Context, targets []collector.Target, now time.Time) (collector.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.targets = append([]collector.Target(nil), targets...)
	if f.err != nil {
		return collector.Snapshot{}, f.err
	}
	snap := collector.Snapshot{Variants: map[types.NamespacedName]collector.VariantObservation{}, CollectedAt: now, Queries: 3, Models: f.models}
	for _, t := range targets {
		if o, ok := f.obs[t.VariantAutoscaling]; ok {
			snap.Variants[t.VariantAutoscaling] = o
		}
	}
	return snap, nil
}

func found() collector.Status {
	return collector.Status{Available: true, Reason: wvav1alpha1.ReasonMetricsFound}
}

// pods returns n pods all reading kv and queue q with 8 running requests.
func pods(prefix string, n int, kv, q float64) []analysis.PodMetrics {
	out := make([]analysis.PodMetrics, n)
	for i := range out {
		out[i] = analysis.PodMetrics{Name: fmt.Sprintf("%s-%d", prefix, i), KvCacheUsage: kv, QueueLength: q, RunningRequests: 8}
	}
	return out
}

func observed(replicas int, kv, q float64) collector.VariantObservation {
	return collector.VariantObservation{TargetFound: true, CurrentReplicas: replicas, ReadyReplicas: replicas,
		Pods: pods("p", replicas, kv, q), Metrics: found()}
}

type harness struct {
	engine    *Engine
	source    *fakeSource
	vas       *common.VACache
	cfg       *common.GlobalConfig
	decisions *common.InternalDecisionCache
	trigger   chan event.GenericEvent
	clock     *clocktesting.FakeClock
	reg       *prometheus.Registry
}

func newHarness(t testing.TB, analyzer string, vas ...*wvav1alpha1.VariantAutoscaling) *harness {
	t.Helper()
	a, err := analysis.New(analyzer)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{source: &fakeSource{obs: map[types.NamespacedName]collector.VariantObservation{}}, vas: common.NewVACache(),
		cfg: common.NewGlobalConfig(), decisions: common.NewInternalDecisionCache(), trigger: common.NewDecisionTrigger(),
		clock: clocktesting.NewFakeClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)), reg: prometheus.NewRegistry()}
	for _, va := range vas {
		h.vas.Update(va)
	}
	h.engine, err = New(h.source, h.vas, h.cfg, h.decisions, h.trigger, WithClock(h.clock), WithAnalyzer(a), WithRegisterer(h.reg))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) observe(va *wvav1alpha1.VariantAutoscaling, o collector.VariantObservation) {
	h.source.obs[types.NamespacedName{Namespace: va.Namespace, Name: va.Name}] = o
}

func (h *harness) decision(t *testing.T, va *wvav1alpha1.VariantAutoscaling) interfaces.VariantDecision {
	t.Helper()
	d, ok := h.decisions.Get(va.Name, va.Namespace)
	if !ok {
		t.Fatalf("no decision for %s", va.Name)
	}
	return d
}

func TestBurstIsAnsweredInOneCycle(t *testing.T) {
	l4 := testutil.VariantAutoscaling("llama-l4").Model("llama").Accelerator("L4").Cost("5").Obj()
	h := newHarness(t, analysis.AnalyzerCapacity, l4)
	h.observe(l4, observed(2, 0.35, 0))
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := h.decision(t, l4); d.TargetReplicas != 2 || d.Action != interfaces.ActionNoChange || !d.MetricsAvailable {
		t.Fatalf("steady load: %+v", d)
	}
	if len(h.trigger) != 1 {
		t.Errorf("%d triggers, want 1", len(h.trigger))
	}

	// Five times the load: KV full and requests queueing on both pods.
	h.observe(l4, observed(2, 1.0, 30))
	h.clock.Step(30 * time.Second)
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := h.decision(t, l4)
	if d.TargetReplicas < 6 || d.Action != interfaces.ActionScaleUp {
		t.Errorf("burst: target %d (%s), want at least 6 in one cycle: %s", d.TargetReplicas, d.Action, d.Reason)
	}
	if !d.LastRunTime.Equal(h.clock.Now()) || d.ModelID != "llama" || d.AcceleratorName != "L4" || d.Cost != 5 {
		t.Errorf("decision fields: %+v", d)
	}
}

// TestHugeQueueGrowsBoundedPerCycle: a waiting queue of 1e18 on one replica without
// maxReplicas set the target to 2147483648 in one cycle (Direct mode then set the Deployment to
// MaxInt32 replicas). Now each cycle at most doubles (or adds 8), up to DefaultMaxReplicas.
func TestHugeQueueGrowsBoundedPerCycle(t *testing.T) {
	va := testutil.VariantAutoscaling("llama-l4").Model("llama").Accelerator("L4").Cost("5").Obj()
	h := newHarness(t, analysis.AnalyzerCapacity, va)
	var got []int
	current := 1
	for range 7 {
		h.observe(va, observed(current, 0.9, 1e18))
		if err := h.engine.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		d := h.decision(t, va)
		got = append(got, d.TargetReplicas)
		if d.TargetReplicas < 0 || d.TargetReplicas > analysis.DefaultMaxReplicas {
			t.Fatalf("cycle %d: target %d from %d, want within [1, %d]: %s", len(got), d.TargetReplicas, current, analysis.DefaultMaxReplicas, d.Reason)
		}
		if d.TargetReplicas != current && !strings.Contains(d.Reason, "Scale-up limited") && d.TargetReplicas != analysis.DefaultMaxReplicas {
			t.Errorf("target %d from %d without the limit's note: %s", d.TargetReplicas, current, d.Reason)
		}
		current = d.TargetReplicas
		h.clock.Step(15 * time.Second)
	}
	if diff := cmp.Diff([]int{9, 18, 36, 72, 100, 100, 100}, got); diff != "" {
		t.Errorf("targets per cycle (-want +got):\n%s", diff)
	}
}

func TestV1AnalyzerStepsByOne(t *testing.T) {
	va := testutil.VariantAutoscaling("a").Model("m").Obj()
	h := newHarness(t, analysis.AnalyzerV1, va)
	h.observe(va, observed(2, 0.76, 2))
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := h.decision(t, va); d.TargetReplicas != 3 {
		t.Fatalf("v1 target %d, want 3: %s", d.TargetReplicas, d.Reason)
	}
	// The deployment has not followed yet: v1 preserves the unreached target.
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := h.decision(t, va); d.TargetReplicas != 3 || d.DesiredReplicas != 3 {
		t.Errorf("second cycle target %d desired %d, want 3 3", d.TargetReplicas, d.DesiredReplicas)
	}
}

func TestCollectionErrorHoldsDecisions(t *testing.T) {
	va := testutil.VariantAutoscaling("a").Model("m").Obj()
	h := newHarness(t, analysis.AnalyzerCapacity, va)
	h.observe(va, observed(4, 0.9, 10))
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := h.decision(t, va)
	if before.TargetReplicas <= 4 {
		t.Fatalf("setup: expected a scale-up, got %+v", before)
	}

	h.source.err = errors.New("dial tcp 127.0.0.1:9090: connection refused")
	h.clock.Step(30 * time.Second)
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := h.decision(t, va)
	if d.TargetReplicas != before.TargetReplicas || d.MetricsAvailable || d.MetricsReason != wvav1alpha1.ReasonPrometheusError {
		t.Errorf("after a collection error: %+v; want target %d held with PrometheusError", d, before.TargetReplicas)
	}
	if !strings.Contains(d.MetricsMessage, "connection refused") {
		t.Errorf("message %q does not carry the error", d.MetricsMessage)
	}
	if got := promtestutil.ToFloat64(h.engine.metrics.collectionErrors); got != 1 {
		t.Errorf("collection errors = %v, want 1", got)
	}
}

func TestHeldDecisionObeysLoweredBounds(t *testing.T) {
	va := testutil.VariantAutoscaling("a").Model("m").Obj()
	h := newHarness(t, analysis.AnalyzerCapacity, va)
	h.observe(va, observed(4, 0.9, 10))
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := h.decision(t, va); d.TargetReplicas <= 4 {
		t.Fatalf("setup: expected a scale-up, got %+v", d)
	}
	// The user lowers maxReplicas to 3 while Prometheus is down: the hold stays within it.
	lowered := va.DeepCopy()
	lowered.Spec.MaxReplicas = ptr.To[int32](3)
	h.vas.Update(lowered)
	h.source.err = errors.New("connection refused")
	h.clock.Step(30 * time.Second)
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := h.decision(t, va); d.TargetReplicas != 3 || !d.SafetyOverride {
		t.Errorf("held decision %+v, want 3 (the lowered maxReplicas)", d)
	}
}

func TestMissingMetricsNeverScaleDown(t *testing.T) {
	a := testutil.VariantAutoscaling("a").Model("m").Cost("5").Obj()
	b := testutil.VariantAutoscaling("b").Model("m").Cost("20").Obj()
	h := newHarness(t, analysis.AnalyzerCapacity, a, b)
	// Idle: would scale down, but b's pods report nothing.
	h.observe(a, observed(4, 0.05, 0))
	h.observe(b, collector.VariantObservation{TargetFound: true, CurrentReplicas: 3, ReadyReplicas: 3,
		Metrics: collector.Status{Reason: wvav1alpha1.ReasonMetricsMissing, Message: "3 of 3 ready pods report no metrics"}})
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	da, db := h.decision(t, a), h.decision(t, b)
	if da.TargetReplicas < 4 {
		t.Errorf("a scaled down to %d while b's metrics are missing: %s", da.TargetReplicas, da.Reason)
	}
	if db.TargetReplicas != 3 || db.MetricsAvailable || db.MetricsReason != wvav1alpha1.ReasonMetricsMissing || !db.SafetyOverride {
		t.Errorf("b = %+v, want held at 3 with MetricsMissing", db)
	}

	// Everyone reports again: the idle fleet shrinks.
	h.observe(b, observed(3, 0.05, 0))
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if da, db := h.decision(t, a), h.decision(t, b); da.TargetReplicas+db.TargetReplicas >= 7 {
		t.Errorf("idle fleet not reduced: a=%d b=%d", da.TargetReplicas, db.TargetReplicas)
	}
}

// TestMissingMetricsKeepAPendingScaleDown: a scale-down decided on good data and not carried
// out yet (an HPA's stabilisation window, say) stands while another variant's metrics go
// missing: the engine neither scales down further nor publishes the current count again, which
// would cancel the pending decision and restart the HPA's window.
func TestMissingMetricsKeepAPendingScaleDown(t *testing.T) {
	a := testutil.VariantAutoscaling("a").Model("m").Cost("5").Obj()
	b := testutil.VariantAutoscaling("b").Model("m").Cost("20").Obj()
	h := newHarness(t, analysis.AnalyzerCapacity, a, b)
	h.observe(a, observed(8, 0.05, 0))
	h.observe(b, observed(3, 0.05, 0))
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	pending := h.decision(t, a).TargetReplicas
	if pending >= 8 {
		t.Fatalf("idle a not scaled down: %d (%s)", pending, h.decision(t, a).Reason)
	}
	// Still 8 replicas of a (the scale-down is pending); b's pods stop reporting.
	h.observe(b, collector.VariantObservation{TargetFound: true, CurrentReplicas: 3, ReadyReplicas: 3,
		Metrics: collector.Status{Reason: wvav1alpha1.ReasonMetricsMissing, Message: "3 of 3 ready pods report no metrics"}})
	h.clock.Step(5 * time.Second)
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if da := h.decision(t, a); da.TargetReplicas != pending {
		t.Errorf("a = %d while b's metrics are missing, want the pending %d kept (neither lower nor back to 8): %s",
			da.TargetReplicas, pending, da.Reason)
	}
}

func TestPerModelOverrideApplies(t *testing.T) {
	strict := testutil.VariantAutoscaling("strict").Model("strict-model").Obj()
	loose := testutil.VariantAutoscaling("loose").Model("loose-model").Obj()
	h := newHarness(t, analysis.AnalyzerV1, strict, loose)
	h.cfg.UpdateSaturationConfig(map[string]interfaces.SaturationScalingConfig{
		"default": interfaces.DefaultSaturationScalingConfig(),
		"strict":  {ModelID: "strict-model", KvCacheThreshold: 0.6, QueueLengthThreshold: 5, KvSpareTrigger: 0.2, QueueSpareTrigger: 3},
	})
	h.observe(strict, observed(2, 0.5, 0))
	h.observe(loose, observed(2, 0.5, 0))
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := h.decision(t, strict); d.TargetReplicas != 3 {
		t.Errorf("override model target %d, want 3 (spare KV 0.1 < 0.2): %s", d.TargetReplicas, d.Reason)
	}
	if d := h.decision(t, loose); d.TargetReplicas != 2 {
		t.Errorf("default model target %d, want 2: %s", d.TargetReplicas, d.Reason)
	}
}

func TestMissingTargetGetsNoDecision(t *testing.T) {
	va := testutil.VariantAutoscaling("a").Obj()
	h := newHarness(t, analysis.AnalyzerCapacity, va)
	h.observe(va, collector.VariantObservation{TargetFound: false})
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.decisions.Get(va.Name, va.Namespace); ok {
		t.Error("decision made for a variant whose target does not exist")
	}
}

func TestFullTriggerChannelDoesNotBlock(t *testing.T) {
	va := testutil.VariantAutoscaling("a").Obj()
	h := newHarness(t, analysis.AnalyzerCapacity, va)
	h.observe(va, observed(1, 0.3, 0))
	for range cap(h.trigger) {
		h.trigger <- event.GenericEvent{}
	}
	done := make(chan error)
	go func() { done <- h.engine.RunOnce(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunOnce blocked on a full trigger channel")
	}
	if _, ok := h.decisions.Get(va.Name, va.Namespace); !ok {
		t.Error("decision not stored")
	}
	if got := promtestutil.ToFloat64(h.engine.metrics.triggerPending); got != 1 {
		t.Errorf("pending triggers = %v, want 1 (queued, not dropped)", got)
	}
	if got := promtestutil.ToFloat64(h.engine.metrics.triggerDeferred); got != 1 {
		t.Errorf("deferred triggers = %v, want 1", got)
	}
}

func TestStartTicksAtConfiguredInterval(t *testing.T) {
	va := testutil.VariantAutoscaling("a").Obj()
	h := newHarness(t, analysis.AnalyzerCapacity, va)
	h.observe(va, observed(1, 0.3, 0))
	h.cfg.UpdateOptimizationConfig("10s")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- h.engine.Start(ctx) }()

	waitCalls := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for h.calls() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d cycles, want %d", h.calls(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitForWaiter := func() {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !h.clock.HasWaiters() {
			if time.Now().After(deadline) {
				t.Fatal("engine is not waiting on the clock")
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitCalls(1) // the first cycle runs at once
	waitForWaiter()
	h.clock.Step(9 * time.Second)
	time.Sleep(20 * time.Millisecond)
	if h.calls() != 1 {
		t.Fatalf("cycle ran before the 10s interval passed")
	}
	h.clock.Step(time.Second)
	waitCalls(2)

	// A new interval applies to the wait in progress: one minute after the last cycle started.
	waitForWaiter()
	h.cfg.UpdateOptimizationConfig("1m")
	h.clock.Step(10 * time.Second)
	time.Sleep(20 * time.Millisecond)
	if h.calls() != 2 {
		t.Fatalf("cycle ran 10s after the interval became 1m")
	}
	h.clock.Step(50 * time.Second)
	waitCalls(3)
	waitForWaiter()
	h.clock.Step(30 * time.Second)
	time.Sleep(20 * time.Millisecond)
	if h.calls() != 3 {
		t.Fatalf("cycle ran 30s after the interval became 1m")
	}
	h.clock.Step(30 * time.Second)
	waitCalls(4)

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !h.engine.NeedLeaderElection() {
		t.Error("engine must run on the leader only")
	}
}

func (h *harness) calls() int {
	h.source.mu.Lock()
	defer h.source.mu.Unlock()
	return h.source.calls
}

func TestPerfParmsAndITLTargetReachTheAnalyzer(t *testing.T) {
	va := testutil.VariantAutoscaling("h100").Model("m").Accelerator("H100").Obj()
	va.Spec.ModelProfile = &wvav1alpha1.ModelProfile{Accelerators: []wvav1alpha1.AcceleratorProfile{
		{Acc: "A100", AccCount: 1, MaxBatchSize: 256, PerfParms: &wvav1alpha1.PerfParms{DecodeParms: wvav1alpha1.DecodeParms{Alpha: 13, Beta: 0.15}}},
		{Acc: "H100", AccCount: 1, MaxBatchSize: 1024, PerfParms: &wvav1alpha1.PerfParms{DecodeParms: wvav1alpha1.DecodeParms{Alpha: 6, Beta: 0.07}}},
	}}
	h := newHarness(t, analysis.AnalyzerCapacity, va)
	cfg := interfaces.DefaultSaturationScalingConfig()
	cfg.ITLTargetMs = 50
	h.cfg.UpdateSaturationConfig(map[string]interfaces.SaturationScalingConfig{"default": cfg})
	obs := observed(2, 0.3, 0)
	for i := range obs.Pods {
		obs.Pods[i].RunningRequests = 600
	}
	h.observe(va, obs)
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The H100 entry applies: 1200 running / ((50-6)/0.07 * 0.7) = 2.73 -> 3 replicas.
	if d := h.decision(t, va); d.TargetReplicas != 3 {
		t.Errorf("target %d, want 3 from the H100 batch limit: %s", d.TargetReplicas, d.Reason)
	}
}
