package policy

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
)

func TestPodsMetricReplicas(t *testing.T) {
	tests := map[string]struct {
		current    int
		values     []float64
		missing    int
		target     float64
		want       int
		wantNoData bool
	}{
		"within tolerance: no change":                                   {current: 4, values: []float64{0.75, 0.75, 0.75, 0.75}, target: 0.7, want: 4},
		"just outside tolerance: scale up":                              {current: 4, values: []float64{0.78, 0.78, 0.78, 0.78}, target: 0.7, want: 5},
		"above target: ceil(ratio x pods)":                              {current: 4, values: []float64{0.9, 0.9, 0.9, 0.9}, target: 0.7, want: 6},
		"below target: ceil(ratio x pods)":                              {current: 4, values: []float64{0.2, 0.2, 0.2, 0.2}, target: 0.7, want: 2},
		"starting pods count as 0 on the way up: direction flips, hold": {current: 4, values: []float64{0.98, 0.98}, missing: 2, target: 0.7, want: 4},
		"starting pods count as 0 on the way up: still up":              {current: 4, values: []float64{1, 1, 1}, missing: 1, target: 0.5, want: 6},
		"starting pods count as the target on the way down":             {current: 4, values: []float64{0.1, 0.1}, missing: 2, target: 0.7, want: 3},
		"no pod reports: no decision":                                   {current: 3, missing: 3, target: 0.7, want: 3, wantNoData: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := PodsMetricReplicas(tc.current, tc.values, tc.missing, tc.target, DefaultHPATolerance)
			if got != tc.want || ok == tc.wantNoData {
				t.Errorf("PodsMetricReplicas = %d, %v; want %d, %v", got, ok, tc.want, !tc.wantNoData)
			}
		})
	}
}

func TestExternalAverageReplicas(t *testing.T) {
	for _, tc := range []struct {
		current int
		value   float64
		want    int
	}{{2, 5, 5}, {4, 4.2, 4}, {4, 3.5, 4}, {4, 3.4, 4}, {4, 3.0, 3}, {0, 3, 3}} {
		if got := ExternalAverageReplicas(tc.current, tc.value, 1, DefaultHPATolerance); got != tc.want {
			t.Errorf("ExternalAverageReplicas(%d, %g) = %d, want %d", tc.current, tc.value, got, tc.want)
		}
	}
}

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// step is one HPA sync in a controller test: a raw recommendation and the expected result.
type step struct {
	at      time.Duration
	current int
	desired int
	want    int
}

func runSteps(t *testing.T, c *HPAController, steps []step) {
	t.Helper()
	for _, s := range steps {
		now := t0.Add(s.at)
		got := c.Record(now, s.current, c.Normalize(now, s.current, s.desired))
		if got != s.want {
			t.Fatalf("at %s (current %d, desired %d): got %d, want %d", s.at, s.current, s.desired, got, s.want)
		}
	}
}

func TestHPAControllerScaleUpRateLimit(t *testing.T) {
	// Default scale-up: the larger of +100 % and +4 pods per 15 s.
	runSteps(t, NewHPAController(DefaultBehavior(), 1, 0), []step{
		{at: 0, current: 2, desired: 20, want: 6},                 // max(2*2, 2+4)
		{at: 5 * time.Second, current: 6, desired: 20, want: 6},   // the period started at 2
		{at: 15 * time.Second, current: 6, desired: 20, want: 12}, // new period: max(12, 10)
		{at: 30 * time.Second, current: 12, desired: 20, want: 20},
	})
}

func TestHPAControllerScaleDownStabilization(t *testing.T) {
	// Default scale-down: the largest recommendation of the last 300 s, then up to -100 %.
	steps := []step{{at: 0, current: 10, desired: 10, want: 10}}
	for at := 15 * time.Second; at < 300*time.Second; at += 15 * time.Second {
		steps = append(steps, step{at: at, current: 10, desired: 3, want: 10})
	}
	steps = append(steps,
		step{at: 300 * time.Second, current: 10, desired: 3, want: 3},
		// A spike is followed at once (the period started at 10 replicas, before the scale-down),
		// and holds the count for another 300 s.
		step{at: 310 * time.Second, current: 3, desired: 8, want: 8},
		step{at: 330 * time.Second, current: 8, desired: 2, want: 8},
		step{at: 609 * time.Second, current: 8, desired: 2, want: 8},
		step{at: 611 * time.Second, current: 8, desired: 2, want: 2},
	)
	runSteps(t, NewHPAController(DefaultBehavior(), 1, 0), steps)
}

func TestHPAControllerBoundsAndPolicies(t *testing.T) {
	runSteps(t, NewHPAController(DefaultBehavior(), 2, 8), []step{
		{at: 0, current: 4, desired: 50, want: 8},
		{at: 15 * time.Minute, current: 8, desired: 0, want: 2},
	})
	slow := Behavior{
		ScaleUp:   ScalingRules{Select: SelectMin, Policies: []ScalingPolicy{{Type: PodsPolicy, Value: 1, Period: time.Minute}, {Type: PercentPolicy, Value: 50, Period: time.Minute}}},
		ScaleDown: ScalingRules{Select: SelectDisabled},
	}
	runSteps(t, NewHPAController(slow, 1, 0), []step{
		{at: 0, current: 4, desired: 10, want: 5},                // min(4+1, 6)
		{at: 30 * time.Second, current: 5, desired: 10, want: 5}, // one pod per minute
		{at: 61 * time.Second, current: 5, desired: 10, want: 6},
		{at: 2 * time.Minute, current: 6, desired: 1, want: 6}, // scale-down disabled
	})
}

// fakeCluster serves canned observations.
type fakeCluster struct {
	variants []sim.VariantSpec
	obs      collector.VariantObservation
	calls    int
}

func (f *fakeCluster) Collect(_ context.Context, targets []collector.Target, now time.Time) (collector.Snapshot, error) {
	f.calls++
	snap := collector.Snapshot{CollectedAt: now, Variants: map[types.NamespacedName]collector.VariantObservation{}}
	for _, t := range targets {
		snap.Variants[t.VariantAutoscaling] = f.obs
	}
	return snap, nil
}

func (f *fakeCluster) Variants() []sim.VariantSpec           { return f.variants }
func (f *fakeCluster) Window(time.Duration) collector.Source { return f }
func (f *fakeCluster) Pods() []sim.Pod                       { return nil }

func pods(kv ...float64) []analysis.PodMetrics {
	out := make([]analysis.PodMetrics, len(kv))
	for i, k := range kv {
		out[i] = analysis.PodMetrics{Name: "p" + string(rune('a'+i)), KvCacheUsage: k}
	}
	return out
}

func TestHPAPolicyDecide(t *testing.T) {
	a100, _ := sim.LookupProfile(sim.ProfileA100)
	c := &fakeCluster{variants: []sim.VariantSpec{sim.NewVariant("v", a100)}}
	h, err := NewHPA(DefaultHPAConfig())
	if err != nil {
		t.Fatal(err)
	}
	decide := func(at time.Duration, obs collector.VariantObservation) map[string]int {
		t.Helper()
		c.obs = obs
		got, err := h.Decide(context.Background(), t0.Add(at), c)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	found := func(current int, p []analysis.PodMetrics) collector.VariantObservation {
		return collector.VariantObservation{TargetFound: true, CurrentReplicas: current, ReadyReplicas: len(p), Pods: p,
			Metrics: collector.Status{Available: true, Reason: sim.ReasonMetricsFound}}
	}
	// KV 0.75 against 0.7: within the 10 % tolerance.
	if got := decide(0, found(2, pods(0.75, 0.75))); len(got) != 0 {
		t.Errorf("within tolerance: %v, want no decision", got)
	}
	// The next sync is 15 s later: nothing is read in between.
	calls := c.calls
	if got := decide(10*time.Second, found(2, pods(1, 1))); got != nil || c.calls != calls {
		t.Errorf("between syncs: %v after %d reads, want nothing", got, c.calls-calls)
	}
	if got := decide(15*time.Second, found(2, pods(1, 1))); !cmp.Equal(got, map[string]int{"v": 3}) {
		t.Errorf("KV 1.0 on 2 pods: %v, want v: 3 (ceil(2 x 1/0.7))", got)
	}
	// The new pod is loading (no metrics): it counts as 0 while scaling up, so the HPA waits.
	if got := decide(30*time.Second, found(3, pods(1, 1))); len(got) != 0 {
		t.Errorf("with a starting pod: %v, want no decision", got)
	}
	// Load falls: scale-down is held by the 300 s stabilisation window.
	for at := 45 * time.Second; at < 300*time.Second; at += 15 * time.Second {
		if got := decide(at, found(3, pods(0.1, 0.1, 0.1))); len(got) != 0 {
			t.Fatalf("at %s: %v, want no scale-down within 300 s of the last high recommendation", at, got)
		}
	}
	if got := decide(330*time.Second, found(3, pods(0.1, 0.1, 0.1))); !cmp.Equal(got, map[string]int{"v": 1}) {
		t.Errorf("after the window: %v, want v: 1", got)
	}
}

func TestHPAConfigValidate(t *testing.T) {
	cfg := DefaultHPAConfig()
	cfg.Metrics = append(cfg.Metrics, MetricTarget{Metric: "gpu", AverageValue: 0})
	cfg.SyncPeriod = 0
	if _, err := NewHPA(cfg); err == nil {
		t.Fatal("NewHPA accepted an unknown metric, a zero target and a zero sync period")
	}
}
