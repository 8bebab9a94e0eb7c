package saturation

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/types"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// idle is an observation of n ready replicas that report nothing running or waiting.
func idle(n int) collector.VariantObservation {
	o := observed(n, 0.01, 0)
	for i := range o.Pods {
		o.Pods[i].RunningRequests = 0
	}
	return o
}

var quietModel = analysis.ModelMetrics{Window: time.Minute, ArrivalSource: analysis.ArrivalFromVLLM}

// zeroHarness is a model "m" of two variants opted in to scale to zero with a 10-minute
// retention: "cheap" (cost 5) and "dear" (cost 20), each at one idle replica.
func zeroHarness(t *testing.T) (*harness, *wvav1alpha1.VariantAutoscaling, *wvav1alpha1.VariantAutoscaling) {
	t.Helper()
	cheap := testutil.VariantAutoscaling("cheap").Namespace("ns").Model("m").Target("cheap-dep").Cost("5").ScaleToZero(600, "").Obj()
	dear := testutil.VariantAutoscaling("dear").Namespace("ns").Model("m").Target("dear-dep").Cost("20").ScaleToZero(600, "").Obj()
	h := newHarness(t, analysis.AnalyzerCapacity, cheap, dear)
	h.observe(cheap, idle(1))
	h.observe(dear, idle(1))
	h.source.models = map[collector.ModelKey]analysis.ModelMetrics{{Namespace: "ns", ModelID: "m"}: quietModel}
	return h, cheap, dear
}

// targets runs one cycle after stepping the clock by step and returns both targets.
func (h *harness) cycle(t *testing.T, step time.Duration, vas ...*wvav1alpha1.VariantAutoscaling) []int {
	t.Helper()
	h.clock.Step(step)
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(vas))
	for i, va := range vas {
		out[i] = h.decision(t, va).TargetReplicas
	}
	return out
}

// TestScaleToZeroAfterRetention: an idle model keeps one replica (the analyzer's floor) until it
// has been idle for its retention, then every variant goes to 0 and stays there.
func TestScaleToZeroAfterRetention(t *testing.T) {
	h, cheap, dear := zeroHarness(t)
	var got [][]int
	for _, step := range []time.Duration{0, 5 * time.Minute, 4*time.Minute + 59*time.Second, time.Second} {
		got = append(got, h.cycle(t, step, cheap, dear))
	}
	// minReplicas 0 lets the capacity analyzer remove the dear variant at once; the model keeps
	// the cheap one until its retention.
	if diff := cmp.Diff([][]int{{1, 0}, {1, 0}, {1, 0}, {0, 0}}, got); diff != "" {
		t.Fatalf("targets at 0, 5m, 9m59s, 10m (-want +got):\n%s", diff)
	}
	d := h.decision(t, cheap)
	if !d.ScaledToZero || !strings.Contains(d.Reason, "Scaled to zero: no request for 10m0s") || !d.MetricsAvailable {
		t.Errorf("decision at 10m: %+v", d)
	}
	if n := promtestutil.ToFloat64(h.engine.metrics.scaledToZero); n != 1 {
		t.Errorf("wva_engine_scaled_to_zero_total = %g, want 1", n)
	}

	// The replicas are going (an HPA at its own pace): the model stays parked.
	h.observe(cheap, idle(1))
	if got := h.cycle(t, 30*time.Second, cheap, dear); !cmp.Equal(got, []int{0, 0}) {
		t.Errorf("draining: targets %v, want [0 0]", got)
	}
	// At zero: kept there, no pod, nothing to measure.
	h.observe(cheap, collector.VariantObservation{TargetFound: true, Metrics: found()})
	h.observe(dear, collector.VariantObservation{TargetFound: true, Metrics: found()})
	if got := h.cycle(t, time.Hour, cheap, dear); !cmp.Equal(got, []int{0, 0}) {
		t.Errorf("at zero: targets %v, want [0 0]", got)
	}
	if d := h.decision(t, dear); !d.ScaledToZero || !strings.Contains(d.Reason, "Kept at zero") {
		t.Errorf("at zero: %+v", d)
	}
}

// TestIdleNeedsEveryKnownSignal: a request in flight or queued, arrivals in the window, missing
// metrics or a variant that does not opt in each keep the model above zero; missing readings
// never count as idle.
func TestIdleNeedsEveryKnownSignal(t *testing.T) {
	busyPod := idle(1)
	busyPod.Pods[0].RunningRequests = 1
	queued := idle(1)
	queued.Pods[0].QueueLength = 2
	unavailable := idle(1)
	unavailable.Metrics = collector.Status{Reason: wvav1alpha1.ReasonMetricsStale}
	starting := idle(2)
	starting.ReadyReplicas = 1
	starting.Pods = starting.Pods[:1]

	for name, tc := range map[string]struct {
		obs    collector.VariantObservation
		model  *analysis.ModelMetrics // nil: none read
		optOut bool
	}{
		"running request":      {obs: busyPod, model: &quietModel},
		"queued request":       {obs: queued, model: &quietModel},
		"arrivals":             {obs: idle(1), model: &analysis.ModelMetrics{ArrivalSource: analysis.ArrivalFromVLLM, ArrivalRate: 0.01}},
		"gateway requests":     {obs: idle(1), model: &analysis.ModelMetrics{ArrivalSource: analysis.ArrivalFromGateway, GatewayRequestRate: 0.01}},
		"model metrics absent": {obs: idle(1)},
		"arrival rate unread":  {obs: idle(1), model: &analysis.ModelMetrics{Missing: []string{"request_rate: no series"}}},
		"pod metrics stale":    {obs: unavailable, model: &quietModel},
		"replica starting":     {obs: starting, model: &quietModel},
		"one variant opts out": {obs: idle(1), model: &quietModel, optOut: true},
	} {
		t.Run(name, func(t *testing.T) {
			h, cheap, dear := zeroHarness(t)
			if tc.optOut {
				dear.Spec.ScaleToZero = nil
				h.vas.Update(dear)
			}
			h.observe(dear, tc.obs)
			h.source.models = nil
			if tc.model != nil {
				h.source.models = map[collector.ModelKey]analysis.ModelMetrics{{Namespace: "ns", ModelID: "m"}: *tc.model}
			}
			for i := range 5 {
				if got := h.cycle(t, 5*time.Minute, cheap, dear); got[0]+got[1] == 0 {
					t.Fatalf("cycle %d (%s idle): scaled to zero: %s", i, time.Duration(i)*5*time.Minute, h.decision(t, cheap).Reason)
				}
			}
			// The signal clears: the retention starts then, not before.
			h.observe(dear, idle(1))
			h.source.models = map[collector.ModelKey]analysis.ModelMetrics{{Namespace: "ns", ModelID: "m"}: quietModel}
			if tc.optOut {
				return
			}
			if got := h.cycle(t, time.Minute, cheap, dear); got[0]+got[1] == 0 {
				t.Fatalf("zero one minute after the model went idle")
			}
			if got := h.cycle(t, 10*time.Minute, cheap, dear); got[0]+got[1] != 0 {
				t.Errorf("targets %v 10 minutes after the model went idle, want 0", got)
			}
		})
	}
}

// TestCollectionErrorEndsIdleStretch: a failed collection is no evidence of idleness.
func TestCollectionErrorEndsIdleStretch(t *testing.T) {
	h, cheap, dear := zeroHarness(t)
	h.cycle(t, 0, cheap, dear)
	h.source.err = errors.New("prometheus down")
	h.clock.Step(5 * time.Minute)
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.source.err = nil
	if got := h.cycle(t, 5*time.Minute, cheap, dear); got[0]+got[1] == 0 {
		t.Errorf("scaled to zero 10 minutes after the first idle cycle across a failed collection")
	}
}

type fakeDemand struct {
	mu     sync.Mutex
	values map[collector.ModelKey]float64
	err    error
	calls  [][]collector.IdleModel
}

func (f *fakeDemand) WaitingDemand(_ context.Context, models []collector.IdleModel, _ time.Time) (map[collector.ModelKey]float64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, models)
	return f.values, f.err
}

type fakeWaker struct {
	woken []types.NamespacedName
	err   error
}

func (f *fakeWaker) WakeFromZero(_ context.Context, dep types.NamespacedName, replicas int32) (bool, error) {
	if f.err != nil {
		return false, f.err
	}
	f.woken = append(f.woken, dep)
	return true, nil
}

// parked returns a harness whose model has been sent to zero and is at zero.
func parked(t *testing.T) (*harness, *wvav1alpha1.VariantAutoscaling, *wvav1alpha1.VariantAutoscaling) {
	t.Helper()
	h, cheap, dear := zeroHarness(t)
	h.cycle(t, 0, cheap, dear)
	h.cycle(t, 10*time.Minute, cheap, dear)
	h.observe(cheap, collector.VariantObservation{TargetFound: true, Metrics: found()})
	h.observe(dear, collector.VariantObservation{TargetFound: true, Metrics: found()})
	if got := h.cycle(t, time.Minute, cheap, dear); !cmp.Equal(got, []int{0, 0}) {
		t.Fatalf("not parked: %v", got)
	}
	return h, cheap, dear
}

// TestFromZeroWakesCheapestVariant: with requests waiting for a parked model, one poll starts
// the cheapest variant's Deployment and publishes 1 for it; the next cycles do not send it back
// to zero while the replica starts.
func TestFromZeroWakesCheapestVariant(t *testing.T) {
	h, cheap, dear := parked(t)
	demand := &fakeDemand{values: map[collector.ModelKey]float64{}}
	waker := &fakeWaker{}
	fz := h.engine.FromZero(demand, waker, 0)

	// No reading: nothing happens (missing is not demand, and not an error either).
	if err := fz.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(waker.woken) != 0 || len(demand.calls) != 1 {
		t.Fatalf("no demand: woke %v after %d reads", waker.woken, len(demand.calls))
	}
	if want := []collector.IdleModel{{Model: collector.ModelKey{Namespace: "ns", ModelID: "m"}}}; !cmp.Equal(demand.calls[0], want) {
		t.Errorf("read %v, want %v", demand.calls[0], want)
	}

	demand.values[collector.ModelKey{Namespace: "ns", ModelID: "m"}] = 3
	if err := fz.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := []types.NamespacedName{{Namespace: "ns", Name: "cheap-dep"}}; !cmp.Equal(waker.woken, want) {
		t.Fatalf("woke %v, want %v", waker.woken, want)
	}
	if d := h.decision(t, cheap); d.TargetReplicas != 1 || d.ScaledToZero || !strings.Contains(d.Reason, "3 requests wait") {
		t.Errorf("woken decision: %+v", d)
	}
	// Nothing is parked now: no further read.
	if err := fz.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(demand.calls) != 2 || len(waker.woken) != 1 {
		t.Errorf("after the wake: %d reads, %d wakes; want 2, 1", len(demand.calls), len(waker.woken))
	}

	// The next cycle still reads 0 replicas (the cache lags the write): not parked again.
	if got := h.cycle(t, time.Second, cheap, dear); got[0] != 1 {
		t.Errorf("cycle after the wake: targets %v, want cheap at 1", got)
	}
	// The replica starts, then serves: the model is active.
	starting := idle(1)
	starting.ReadyReplicas, starting.Pods = 0, nil
	h.observe(cheap, starting)
	if got := h.cycle(t, 30*time.Second, cheap, dear); got[0] != 1 {
		t.Errorf("while starting: targets %v, want cheap at 1", got)
	}
	if n := promtestutil.ToFloat64(h.engine.metrics.scaledFromZero); n != 1 {
		t.Errorf("wva_engine_scaled_from_zero_total = %g, want 1", n)
	}
}

// TestFromZeroFailures: a failed scale write leaves the model parked for the next poll; a failed
// read that still carries readings wakes the models it could read.
func TestFromZeroFailures(t *testing.T) {
	h, cheap, _ := parked(t)
	key := collector.ModelKey{Namespace: "ns", ModelID: "m"}
	demand := &fakeDemand{values: map[collector.ModelKey]float64{key: 1}}
	waker := &fakeWaker{err: errors.New("forbidden")}
	fz := h.engine.FromZero(demand, waker, 0)
	if err := fz.RunOnce(context.Background()); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Fatalf("error %v, want the scale write's", err)
	}
	if d := h.decision(t, cheap); d.TargetReplicas != 0 {
		t.Fatalf("after a failed wake: target %d, want 0", d.TargetReplicas)
	}
	waker.err = nil
	demand.err = errors.New(`demandQuery "bad(": parse error`)
	if err := fz.RunOnce(context.Background()); err == nil {
		t.Fatal("no error for the failed part of the read")
	}
	if d := h.decision(t, cheap); d.TargetReplicas != 1 || len(waker.woken) != 1 {
		t.Errorf("the readings of a partly failed read were not used: target %d, %d wakes", d.TargetReplicas, len(waker.woken))
	}
}

// TestCycleCannotUndoWake: a cycle that computed 0 for a parked model and publishes it after the
// FromZero loop woke the model does not overwrite the wake.
func TestCycleCannotUndoWake(t *testing.T) {
	h, cheap, _ := parked(t)
	stale := h.decision(t, cheap) // a scale-to-zero decision, as a concurrent cycle holds it
	fz := h.engine.FromZero(&fakeDemand{values: map[collector.ModelKey]float64{{Namespace: "ns", ModelID: "m"}: 1}}, &fakeWaker{}, 0)
	if err := fz.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.engine.publishGuarded(stale, false)
	if d := h.decision(t, cheap); d.TargetReplicas != 1 {
		t.Errorf("target %d after a late scale-to-zero publication, want the wake's 1", d.TargetReplicas)
	}
}
