package promsim

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
)

var t0 = sim.DefaultStart

// program gives a pod's gauges as a function of the virtual time.
type program func(at time.Duration) sim.Gauges

// testCluster is a cluster of hand-programmed pods of one variant.
type testCluster struct {
	variant sim.VariantSpec
	now     time.Duration
	pods    map[string]program
	states  map[string]sim.ReplicaState
	order   []string
	// created and readyAt are each pod's times from the start (0 when not set).
	created, readyAt map[string]time.Duration
}

func (c *testCluster) Collect(context.Context, []collector.Target, time.Time) (collector.Snapshot, error) {
	panic("the pipeline must not read the idealised source")
}
func (c *testCluster) Variants() []sim.VariantSpec           { return []sim.VariantSpec{c.variant} }
func (c *testCluster) Window(time.Duration) collector.Source { return c }
func (c *testCluster) Pods() []sim.Pod {
	var out []sim.Pod
	for _, name := range c.order {
		prog, ok := c.pods[name]
		if !ok {
			continue
		}
		out = append(out, sim.Pod{Name: name, Variant: c.variant, State: c.states[name], Created: c.created[name], ReadyAt: c.readyAt[name],
			Read: func() sim.ReplicaMetrics { return sim.ReplicaMetrics{Name: name, Gauges: prog(c.now)} }})
	}
	return out
}

// runUntil observes the cluster as sim.Run does, up to and including until.
func runUntil(t *testing.T, p *Pipeline, c *testCluster, until time.Duration) {
	t.Helper()
	for at := p.NextObservation(); at >= 0 && at <= until; at = p.NextObservation() {
		c.now = at
		if err := p.Observe(context.Background(), at, c); err != nil {
			t.Fatalf("observing at %s: %v", at, err)
		}
	}
	c.now = until
}

func newTestPipeline(t *testing.T, cfg ScrapeConfig) *Pipeline {
	t.Helper()
	p, err := NewPipeline(cfg, t0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

// Two pods with programmed gauges, scraped at their own phases: the production collector,
// through the real PromQL engine, reads each pod's peak over the last minute of scrapes; a burst
// leaves the window a minute after its scrape; a removed pod's series are marked stale.
func TestPipelineAnswersTheCollectorWithWhatThePodsExposed(t *testing.T) {
	a100, err := sim.LookupProfile(sim.ProfileA100)
	if err != nil {
		t.Fatal(err)
	}
	v := sim.NewVariant("v", a100)
	p := newTestPipeline(t, ScrapeConfig{Interval: 15 * time.Second, Seed: 7})
	pa, pb := p.Scraper().phaseOf(v, "v-a"), p.Scraper().phaseOf(v, "v-b")
	if pa == pb || pa < 0 || pa >= 15*time.Second || pb < 0 || pb >= 15*time.Second {
		t.Fatalf("phases %s and %s: want two different phases in [0, 15s)", pa, pb)
	}
	scrape := func(phase time.Duration, k int) time.Duration { return phase + time.Duration(k)*15*time.Second }
	// Pod a queues 9 requests at its scrape k=6 only, else 3; its KV usage rises by 0.01 per
	// scrape. Pod b reports a constant state.
	c := &testCluster{variant: v, states: map[string]sim.ReplicaState{"v-a": sim.Serving, "v-b": sim.Serving}, order: []string{"v-a", "v-b"},
		pods: map[string]program{
			"v-a": func(at time.Duration) sim.Gauges {
				k := int((at - pa) / (15 * time.Second))
				w := 3
				if k == 6 {
					w = 9
				}
				return sim.Gauges{KVCacheUsage: 0.01 * float64(k), Waiting: w, Running: 20 + k}
			},
			"v-b": func(time.Duration) sim.Gauges { return sim.Gauges{KVCacheUsage: 0.5, Waiting: 0, Running: 4} },
		}}

	collect := func(at time.Duration) collector.VariantObservation {
		t.Helper()
		runUntil(t, p, c, at)
		snap, err := p.Collect(context.Background(), []collector.Target{v.Target()}, t0.Add(at))
		if err != nil {
			t.Fatalf("collect at %s: %v", at, err)
		}
		return snap.Variants[v.Key()]
	}
	// At a's scrape 9 plus 1 ms, the minute window (now-1m, now] holds a's scrapes 6 to 9 (and
	// four of b's).
	t1 := scrape(pa, 9) + time.Millisecond
	got := collect(t1)
	want := collector.VariantObservation{TargetFound: true, CurrentReplicas: 2, ReadyReplicas: 2, KvCacheTokens: 157040,
		Pods: []analysis.PodMetrics{
			{Name: "v-a", KvCacheUsage: 0.09, QueueLength: 9, RunningRequests: 29},
			{Name: "v-b", KvCacheUsage: 0.5, QueueLength: 0, RunningRequests: 4},
		},
		Metrics: collector.Status{Available: true, Reason: "MetricsFound", Message: "Fresh vLLM metrics were read for all 2 ready pods"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("at a's scrape 9 (-want +got):\n%s", diff)
	}
	// One scrape later the burst of scrape 6 has left the window.
	got = collect(scrape(pa, 10) + time.Millisecond)
	want.Pods[0] = analysis.PodMetrics{Name: "v-a", KvCacheUsage: 0.10, QueueLength: 3, RunningRequests: 30}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("at a's scrape 10 (-want +got):\n%s", diff)
	}

	// Pod b is removed: at the next discovery update (every 5 s) its series are marked stale.
	removed := scrape(pa, 10) + 2*time.Millisecond
	runUntil(t, p, c, removed)
	delete(c.pods, "v-b")
	sd := (removed/DefaultDiscoveryInterval + 1) * DefaultDiscoveryInterval
	query := func(q string, at time.Duration) model.Vector {
		t.Helper()
		runUntil(t, p, c, at)
		v, _, _, err := p.TSDB().Query(context.Background(), q, t0.Add(at))
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return v.(model.Vector)
	}
	if got := query(`vllm:num_requests_waiting{pod="v-b"}`, sd-time.Millisecond); len(got) != 1 {
		t.Fatalf("before the discovery update: %v, want b's last sample", got)
	}
	if got := query(`vllm:num_requests_waiting{pod="v-b"}`, sd); len(got) != 0 {
		t.Fatalf("at the discovery update: %v, want nothing (stale)", got)
	}
	// A range selector still sees b's samples before the marker, as in Prometheus.
	if got := query(`max_over_time(vllm:num_requests_running{pod="v-b"}[1m])`, sd); len(got) != 1 || got[0].Value != 4 {
		t.Fatalf("max_over_time after the marker: %v, want 4", got)
	}
	got = collect(sd + time.Second)
	want.CurrentReplicas, want.ReadyReplicas = 1, 1
	want.Pods = want.Pods[:1]
	want.Metrics.Message = "Fresh vLLM metrics were read for all 1 ready pods"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("after b's removal (-want +got):\n%s", diff)
	}
}

// When every scrape fails, the collector sees no current sample: failed scrapes write up 0 and
// mark the previous series stale.
func TestPipelineFailedScrapesLeaveNoCurrentSample(t *testing.T) {
	a100, err := sim.LookupProfile(sim.ProfileA100)
	if err != nil {
		t.Fatal(err)
	}
	v := sim.NewVariant("v", a100)
	p := newTestPipeline(t, ScrapeConfig{Interval: 15 * time.Second, FailureRate: 1})
	c := &testCluster{variant: v, states: map[string]sim.ReplicaState{"v-a": sim.Serving}, order: []string{"v-a"},
		pods: map[string]program{"v-a": func(time.Duration) sim.Gauges { return sim.Gauges{Waiting: 1} }}}
	runUntil(t, p, c, time.Minute)
	snap, err := p.Collect(context.Background(), []collector.Target{v.Target()}, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	obs := snap.Variants[v.Key()]
	if obs.Metrics.Available || obs.Metrics.Reason != "MetricsMissing" || len(obs.Pods) != 0 {
		t.Errorf("observation %+v, want MetricsMissing without pods", obs)
	}
	total, failed := p.Scraper().Scrapes()
	if total < 4 || failed != total {
		t.Errorf("scrapes %d, failed %d: want at least 4, all failed", total, failed)
	}
	up, _, _, err := p.TSDB().Query(context.Background(), `up{pod="v-a"}`, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if vec := up.(model.Vector); len(vec) != 1 || vec[0].Value != 0 {
		t.Errorf("up = %v, want 0", vec)
	}
}

// A starting pod is not ready and is not scraped successfully; once it serves, its pod turns
// Ready in the store the collector reads, and its metrics are read from its next scrape.
func TestPipelinePodTurnsReadyWhenItServes(t *testing.T) {
	a100, err := sim.LookupProfile(sim.ProfileA100)
	if err != nil {
		t.Fatal(err)
	}
	v := sim.NewVariant("v", a100)
	p := newTestPipeline(t, DefaultScrapeConfig())
	c := &testCluster{variant: v, states: map[string]sim.ReplicaState{"v-a": sim.Starting}, order: []string{"v-a"},
		pods: map[string]program{"v-a": func(time.Duration) sim.Gauges { return sim.Gauges{Waiting: 2, Running: 1} }}}
	collect := func(at time.Duration) collector.VariantObservation {
		t.Helper()
		runUntil(t, p, c, at)
		snap, err := p.Collect(context.Background(), []collector.Target{v.Target()}, t0.Add(at))
		if err != nil {
			t.Fatal(err)
		}
		return snap.Variants[v.Key()]
	}
	if obs := collect(time.Minute); obs.ReadyReplicas != 0 || obs.CurrentReplicas != 1 || obs.Metrics.Reason != "MetricsMissing" {
		t.Fatalf("while starting: %+v, want 1 replica, none ready, MetricsMissing", obs)
	}
	c.states["v-a"] = sim.Serving
	obs := collect(time.Minute + 16*time.Second) // at least one scrape since
	want := []analysis.PodMetrics{{Name: "v-a", QueueLength: 2, RunningRequests: 1}}
	if obs.ReadyReplicas != 1 || !obs.Metrics.Available || !cmp.Equal(want, obs.Pods) {
		t.Fatalf("once serving: %+v, want 1 ready pod with metrics %v", obs, want)
	}
}

// The store stamps a pod's creation and Ready times in virtual time, so the collector reports
// the simulated start-up delay of a pod once it serves, and none while it starts.
func TestPipelineReportsTheStartupDelay(t *testing.T) {
	a100, err := sim.LookupProfile(sim.ProfileA100)
	if err != nil {
		t.Fatal(err)
	}
	v := sim.NewVariant("v", a100)
	p := newTestPipeline(t, DefaultScrapeConfig())
	c := &testCluster{variant: v, states: map[string]sim.ReplicaState{"v-a": sim.Starting}, order: []string{"v-a"},
		created: map[string]time.Duration{"v-a": 20 * time.Second}, readyAt: map[string]time.Duration{"v-a": 200 * time.Second},
		pods: map[string]program{"v-a": func(time.Duration) sim.Gauges { return sim.Gauges{Waiting: 0, Running: 1} }}}
	collect := func(at time.Duration) collector.VariantObservation {
		t.Helper()
		runUntil(t, p, c, at)
		snap, err := p.Collect(context.Background(), []collector.Target{v.Target()}, t0.Add(at))
		if err != nil {
			t.Fatal(err)
		}
		return snap.Variants[v.Key()]
	}
	if obs := collect(time.Minute); len(obs.StartupSamples) != 0 {
		t.Fatalf("while starting: StartupSamples %v, want none", obs.StartupSamples)
	}
	c.states["v-a"] = sim.Serving
	if obs := collect(200 * time.Second); !cmp.Equal(obs.StartupSamples, []time.Duration{180 * time.Second}) {
		t.Fatalf("once serving: StartupSamples %v, want [3m0s]", obs.StartupSamples)
	}
}
