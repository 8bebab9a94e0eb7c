package sim

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/types"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

// scripted is a policy that sets replica counts at given times from the start of the run.
type scripted map[time.Duration]map[string]int

func (scripted) Name() string { return "scripted" }

func (s scripted) Decide(_ context.Context, now time.Time, _ Cluster) (map[string]int, error) {
	return s[now.Sub(DefaultStart)], nil
}

// fixedVariant is a variant of tinyProfile with the given start-up delay and initial replicas.
func fixedVariant(name string, delay time.Duration, initial int) VariantSpec {
	v := NewVariant(name, tinyProfile(100000, 64))
	v.StartupDelay, v.InitialReplicas = delay, initial
	return v
}

func paced(t *testing.T, rate float64, d time.Duration, in, out int) []workload.Request {
	t.Helper()
	reqs, err := workload.Paced(workload.Steady(rate, d), workload.FixedTokens(in, out), 1)
	if err != nil {
		t.Fatal(err)
	}
	return reqs
}

func TestStartupDelayIsRespected(t *testing.T) {
	// No replica at first; the policy asks for one at 0 s; it loads for 60 s. Requests arriving
	// meanwhile wait in the router and get their first token only after the replica is ready.
	sc := NewScenario("startup", paced(t, 1, 90*time.Second, 50, 10), fixedVariant("v", time.Minute, 0))
	res, err := Run(context.Background(), sc, scripted{0: {"v": 1}}, WithTimeline(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	got := []VariantTick{}
	for _, r := range res.Timeline[:3] {
		got = append(got, r.Variants[0])
	}
	want := []VariantTick{
		{Name: "v", Replicas: 1, Starting: 1},
		{Name: "v", Replicas: 1, Starting: 1},
		{Name: "v", Replicas: 1, Ready: 1},
	}
	if d := cmp.Diff(want, got, cmpopts.IgnoreFields(VariantTick{}, "Running", "Waiting", "KVUsage")); d != "" {
		t.Errorf("replica states at 0, 30, 60 s (-want +got):\n%s", d)
	}
	if res.Timeline[1].Pending != 31 {
		t.Errorf("at 30 s %d requests wait in the router, want 31", res.Timeline[1].Pending)
	}
	for _, r := range res.Requests {
		if r.FirstToken < time.Minute {
			t.Fatalf("request %d got its first token at %s, before the replica was ready (60 s)", r.ID, r.FirstToken)
		}
	}
	if res.Score.Unfinished != 0 {
		t.Errorf("%d requests unfinished", res.Score.Unfinished)
	}
	// The replica holds its GPU from creation: 90 s of requests + 5 min tail.
	if want := sc.Duration.Hours(); !near(res.Score.GPUHours, want) {
		t.Errorf("GPU-hours %g, want %g (from creation at 0 s)", res.Score.GPUHours, want)
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestScaleDownDrainsWithoutDroppingRequests(t *testing.T) {
	// Three replicas serve long requests; at 20 s the policy scales to one. The two removed
	// replicas finish their requests but take no new ones, and every request finishes.
	sc := NewScenario("drain", paced(t, 4, time.Minute, 200, 3000), fixedVariant("v", 0, 3))
	res, err := Run(context.Background(), sc, scripted{20 * time.Second: {"v": 1}}, WithTimeline(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Score; s.Finished != s.Requests || s.Unfinished != 0 || s.Requests != 240 {
		t.Fatalf("finished %d of %d requests (%d unfinished), want all 240", s.Finished, s.Requests, s.Unfinished)
	}
	kept := ""
	for _, r := range res.Requests {
		if r.Arrival > 20*time.Second {
			if kept == "" {
				kept = r.Replica
			}
			if r.Replica != kept {
				t.Fatalf("request %d arrived at %s and went to %s; after the scale-down only %s takes requests", r.ID, r.Arrival, r.Replica, kept)
			}
		}
	}
	at30 := res.Timeline[3].Variants[0]
	if at30.Replicas != 1 || at30.Ready != 1 || at30.Draining != 2 {
		t.Errorf("at 30 s: %+v, want 1 replica ready and 2 draining", at30)
	}
	// Each drained replica holds its GPU until its last request finishes.
	var lastOnRemoved time.Duration
	for _, r := range res.Requests {
		if r.Replica != kept {
			lastOnRemoved = max(lastOnRemoved, r.Finished)
		}
	}
	vs := res.Score.Variants[0]
	wantHours := (sc.Duration + 2*lastOnRemoved).Hours() // one replica all along, two until drained
	if vs.GPUHours > wantHours+1e-9 || vs.GPUHours < (sc.Duration+lastOnRemoved).Hours() {
		t.Errorf("GPU-hours %g, want about %g", vs.GPUHours, wantHours)
	}
	if vs.ScaleEvents != 1 || vs.Reversals != 0 {
		t.Errorf("scale events %d reversals %d, want 1 and 0", vs.ScaleEvents, vs.Reversals)
	}
}

func TestRouterPicksLeastLoadedReadyReplica(t *testing.T) {
	sc := NewScenario("router", nil, fixedVariant("a", time.Minute, 3), fixedVariant("b", time.Minute, 1))
	sc.Duration = time.Hour
	f := newFleet(sc, false)
	a, b := f.variants[0], f.variants[1]
	// Load a-1 with 3 requests, a-2 with 1, a-3 with 2 and b-1 with 2.
	load := map[*replica]int{a.live[0]: 3, a.live[1]: 1, a.live[2]: 2, b.live[0]: 2}
	id := 100
	for r, n := range load {
		for range n {
			req := newRequest(id, workload.Request{InputTokens: 10, OutputTokens: 1000})
			id++
			r.srv.Enqueue(&req, 0)
		}
	}
	// b gets a starting replica (empty, but not ready) and a-2 starts draining.
	if _, err := f.scale("b", 2); err != nil {
		t.Fatal(err)
	}
	route := func() string {
		r := newRequest(id, workload.Request{InputTokens: 10, OutputTokens: 1000})
		id++
		f.dispatch(&r)
		return r.Replica
	}
	if got := route(); got != "a-00002" {
		t.Fatalf("first request went to %q, want the least-loaded a-00002", got)
	}
	if got := route(); got != "a-00002" {
		t.Fatalf("second request went to %q, want a-00002 (2 requests; a-3 has 2 too but a-2 comes first)", got)
	}
	a.live[1].state, a.live[1].drained = Draining, 0
	for range 3 {
		if got := route(); got == "a-00002" || got == "b-00002" {
			t.Fatalf("request went to %q, which is draining or starting", got)
		}
	}
	// With every replica starting or draining, requests wait in the router.
	for _, v := range f.variants {
		for _, r := range v.live {
			if r.state == Serving {
				r.state = Draining
			}
		}
	}
	if got := route(); got != "" || f.pending[0].len() != 1 {
		t.Fatalf("request went to %q with %d pending, want it queued in the router", got, f.pending[0].len())
	}
}

func TestCollectReportsPeaksOfReadyReplicas(t *testing.T) {
	sc := NewScenario("collect", nil, fixedVariant("v", time.Minute, 2))
	sc.Duration, sc.PeakWindow = time.Hour, time.Minute
	f := newFleet(sc, false)
	r1, r2 := f.variants[0].live[0], f.variants[0].live[1]
	at := func(d time.Duration, g1, g2 Gauges) {
		r1.samples = append(r1.samples, sample{at: d, g: g1})
		r2.samples = append(r2.samples, sample{at: d, g: g2})
	}
	at(0, Gauges{KVCacheUsage: 0.9, Waiting: 7, Running: 9}, Gauges{KVCacheUsage: 0.1})
	at(30*time.Second, Gauges{KVCacheUsage: 0.5, Waiting: 1, Running: 4}, Gauges{KVCacheUsage: 0.2, Waiting: 2, Running: 1})
	at(60*time.Second, Gauges{KVCacheUsage: 0.4, Waiting: 0, Running: 3}, Gauges{KVCacheUsage: 0.3, Waiting: 0, Running: 2})
	if _, err := f.scale("v", 3); err != nil { // one more replica, still starting
		t.Fatal(err)
	}
	target := sc.Variants[0].Target()
	now := DefaultStart.Add(60 * time.Second)

	got, err := f.Collect(context.Background(), []collector.Target{target, {VariantAutoscaling: types.NamespacedName{Namespace: "sim", Name: "gone"}, Deployment: "gone"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := collector.Snapshot{
		CollectedAt: now,
		Variants: map[types.NamespacedName]collector.VariantObservation{
			target.VariantAutoscaling: {
				TargetFound: true, CurrentReplicas: 3, ReadyReplicas: 2, KvCacheTokens: 100000,
				// The scrape at 0 s is outside (now-1m, now]: peaks of 30 s and 60 s.
				Pods: []analysis.PodMetrics{
					{Name: "v-00001", KvCacheUsage: 0.5, QueueLength: 1, RunningRequests: 4},
					{Name: "v-00002", KvCacheUsage: 0.3, QueueLength: 2, RunningRequests: 2},
				},
				Metrics: collector.Status{Available: true, Reason: ReasonMetricsFound, Message: "Fresh vLLM metrics were read for all 2 ready pods."},
			},
			{Namespace: "sim", Name: "gone"}: {Metrics: collector.Status{Reason: ReasonMetricsMissing, Message: "Deployment gone not found."}},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Collect (-want +got):\n%s", d)
	}

	latest, err := f.Window(0).Collect(context.Background(), []collector.Target{target}, now)
	if err != nil {
		t.Fatal(err)
	}
	wantLatest := []analysis.PodMetrics{
		{Name: "v-00001", KvCacheUsage: 0.4, RunningRequests: 3},
		{Name: "v-00002", KvCacheUsage: 0.3, RunningRequests: 2},
	}
	if d := cmp.Diff(wantLatest, latest.Variants[target.VariantAutoscaling].Pods); d != "" {
		t.Errorf("Window(0) pods (-want +got):\n%s", d)
	}

	// The statuses of the Prometheus source.
	statuses := map[string]struct {
		current, ready, reporting int
		want                      collector.Status
	}{
		"a ready pod not scraped yet": {current: 3, ready: 3, reporting: 2,
			want: collector.Status{Reason: ReasonMetricsMissing, Message: "1 of 3 ready pods report no metrics (not scraped yet)."}},
		"no pod ready yet": {current: 2,
			want: collector.Status{Reason: ReasonMetricsMissing, Message: "None of the 2 replicas of Deployment sim/v is ready yet, so no pod can report metrics."}},
		"scaled to zero": {
			want: collector.Status{Available: true, Reason: ReasonMetricsFound, Message: "Deployment sim/v has 0 replicas, so there is nothing to measure."}},
	}
	for name, tc := range statuses {
		obs := collector.VariantObservation{CurrentReplicas: tc.current, ReadyReplicas: tc.ready, Pods: make([]analysis.PodMetrics, tc.reporting)}
		if d := cmp.Diff(tc.want, status(sc.Variants[0], obs)); d != "" {
			t.Errorf("%s (-want +got):\n%s", name, d)
		}
	}
}

func TestScaleDownRemovesStartingReplicasFirst(t *testing.T) {
	sc := NewScenario("order", nil, fixedVariant("v", time.Minute, 2))
	sc.Duration = time.Hour
	f := newFleet(sc, false)
	f.advanceTo(10 * time.Second)
	if _, err := f.scale("v", 4); err != nil {
		t.Fatal(err)
	}
	states := func() map[string]ReplicaState {
		m := map[string]ReplicaState{}
		for _, r := range f.variants[0].all {
			m[r.name] = r.state
		}
		return m
	}
	if _, err := f.scale("v", 3); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]ReplicaState{"v-00001": Serving, "v-00002": Serving, "v-00003": Starting, "v-00004": Gone}, states()); d != "" {
		t.Errorf("after 4 -> 3 (-want +got):\n%s", d)
	}
	if _, err := f.scale("v", 1); err != nil {
		t.Fatal(err)
	}
	// Idle ready replicas are removed at once; the most recently ready one goes first.
	if d := cmp.Diff(map[string]ReplicaState{"v-00001": Serving, "v-00002": Gone, "v-00003": Gone, "v-00004": Gone}, states()); d != "" {
		t.Errorf("after 3 -> 1 (-want +got):\n%s", d)
	}
	if v := f.variants[0]; v.events != 3 || v.reverses != 1 || v.peak != 4 {
		t.Errorf("events %d reversals %d peak %d, want 3, 1, 4", v.events, v.reverses, v.peak)
	}
}

// A spread start-up delay is drawn per replica, uniformly within [d-s, d+s], the same for the
// same seed, variant and replica index, and differently for another seed.
func TestStartupJitterIsSeededAndWithinRange(t *testing.T) {
	v := fixedVariant("v", 120*time.Second, 0)
	v.StartupJitter = 30 * time.Second
	draws := func(seed uint64) []time.Duration {
		out := make([]time.Duration, 200)
		for i := range out {
			out[i] = v.startupDelay(seed, i+1)
		}
		return out
	}
	a, b, c := draws(1), draws(1), draws(2)
	if d := cmp.Diff(a, b); d != "" {
		t.Errorf("same seed, different delays (-first +second):\n%s", d)
	}
	if cmp.Equal(a, c) {
		t.Error("seeds 1 and 2 drew the same delays")
	}
	lo, hi := a[0], a[0]
	for _, d := range a {
		if d < 90*time.Second || d > 150*time.Second {
			t.Fatalf("delay %s outside [90s, 150s]", d)
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo > 95*time.Second || hi < 145*time.Second {
		t.Errorf("200 draws span [%s, %s], want nearly [90s, 150s]", lo, hi)
	}
	if v.MinStartupDelay() != 90*time.Second {
		t.Errorf("MinStartupDelay = %s, want 90s", v.MinStartupDelay())
	}
	v.StartupJitter = 200 * time.Second
	for i := range 100 {
		if d := v.startupDelay(1, i); d < 0 {
			t.Fatalf("delay %s below zero", d)
		}
	}
	if v.MinStartupDelay() != 0 {
		t.Errorf("MinStartupDelay = %s, want 0 (clamped)", v.MinStartupDelay())
	}

	// In a run, replicas become ready at their drawn delays.
	v.StartupJitter = 30 * time.Second
	sc := NewScenario("jitter", nil, v)
	sc.Duration, sc.Seed = time.Hour, 7
	f := newFleet(sc, false)
	if _, err := f.scale("v", 3); err != nil {
		t.Fatal(err)
	}
	for i, r := range f.variants[0].live {
		if want := v.startupDelay(7, i+1); r.readyAt != want {
			t.Errorf("replica %s ready at %s, want %s", r.name, r.readyAt, want)
		}
	}
}

// A draining replica that still holds requests when its drain timeout passes is stopped: its
// requests fail (they are not unfinished) and its GPUs are released at the deadline.
func TestDrainTimeoutFailsWhatIsLeft(t *testing.T) {
	// Two replicas serve very long requests; at 20 s the policy scales to one. With a 1-minute
	// drain timeout the removed replica is stopped at 80 s.
	v := fixedVariant("v", 0, 2)
	v.DrainTimeout = time.Minute
	sc := NewScenario("drain-timeout", paced(t, 1, 10*time.Second, 200, 20000), v)
	res, err := Run(context.Background(), sc, scripted{20 * time.Second: {"v": 1}})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Score
	if s.Failed == 0 || s.Failed+s.Finished+s.Unfinished != s.Requests {
		t.Fatalf("failed %d finished %d unfinished %d of %d; want some failed and every request counted once", s.Failed, s.Finished, s.Unfinished, s.Requests)
	}
	failedOn := map[string]int{}
	for _, r := range res.Requests {
		if r.Failed {
			failedOn[r.Replica]++
			if r.Finished >= 0 || sc.SLO.Met(&r) {
				t.Errorf("failed request %d finished at %s", r.ID, r.Finished)
			}
		}
	}
	if len(failedOn) != 1 || failedOn["v-00002"] == 0 {
		t.Errorf("failed requests per replica %v, want them all on the removed v-00002", failedOn)
	}
	// GPU-hours: one replica all run, the removed one from 0 s to 80 s.
	if want := (sc.Duration + 80*time.Second).Hours(); !near(s.GPUHours, want) {
		t.Errorf("GPU-hours %g, want %g", s.GPUHours, want)
	}
}
