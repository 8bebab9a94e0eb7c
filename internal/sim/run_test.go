package sim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

// followQueue is a small reactive policy: every 15 s it adds a replica when the mean waiting
// queue of the ready replicas exceeds 2 and removes one when nothing waits and KV usage is low.
type followQueue struct{ next time.Time }

func (*followQueue) Name() string { return "follow-queue" }

func (p *followQueue) Decide(ctx context.Context, now time.Time, c Cluster) (map[string]int, error) {
	if now.Before(p.next) {
		return nil, nil
	}
	p.next = now.Add(15 * time.Second)
	out := map[string]int{}
	for _, v := range c.Variants() {
		snap, err := c.Collect(ctx, []collector.Target{v.Target()}, now)
		if err != nil {
			return nil, err
		}
		obs := snap.Variants[v.Key()]
		if !obs.Metrics.Available || obs.ReadyReplicas < obs.CurrentReplicas {
			continue
		}
		var q, kv float64
		for _, pm := range obs.Pods {
			q += pm.QueueLength
			kv += pm.KvCacheUsage
		}
		n := float64(len(obs.Pods))
		switch {
		case q/n > 2:
			out[v.Name] = obs.CurrentReplicas + 1
		case q == 0 && kv/n < 0.2 && obs.CurrentReplicas > 1:
			out[v.Name] = obs.CurrentReplicas - 1
		}
	}
	return out, nil
}

func burstScenario(t *testing.T, seed uint64) Scenario {
	t.Helper()
	reqs, err := workload.Poisson(workload.Burst(2, 12, 4*time.Minute, time.Minute, 12*time.Minute), workload.FixedTokens(1000, 200), seed)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := LookupProfile(ProfileA100)
	v := NewVariant("a100", p)
	v.StartupDelay = 30 * time.Second
	return NewScenario("burst", reqs, v)
}

func TestRunIsDeterministic(t *testing.T) {
	run := func(seed uint64) Result {
		res, err := Run(context.Background(), burstScenario(t, seed), &followQueue{}, WithTimeline(15*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b := run(42), run(42)
	if d := cmp.Diff(a.Score, b.Score); d != "" {
		t.Errorf("same seed, different scores (-first +second):\n%s", d)
	}
	if d := cmp.Diff(a.Timeline, b.Timeline); d != "" {
		t.Errorf("same seed, different timelines (-first +second):\n%s", d)
	}
	if a.Score.ScaleEvents == 0 {
		t.Error("the scenario should make the policy scale")
	}
	if c := run(43); cmp.Equal(a.Score, c.Score) {
		t.Error("another seed gave the same score; is the seed used?")
	}
}

func TestActuationDelayAndInstantStart(t *testing.T) {
	reqs := []workload.Request{{Arrival: 0, InputTokens: 10, OutputTokens: 2}}
	v := fixedVariant("v", time.Minute, 1)
	sc := NewScenario("delay", reqs, v)
	sc.Duration = 2 * time.Minute
	replicasAt := func(res Result, at time.Duration) VariantTick {
		for _, r := range res.Timeline {
			if r.At == at {
				return r.Variants[0]
			}
		}
		t.Fatalf("no record at %s", at)
		return VariantTick{}
	}

	res, err := Run(context.Background(), sc, scripted{10 * time.Second: {"v": 3}}, WithTimeline(time.Second), WithActuationDelay(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got := replicasAt(res, 14*time.Second).Replicas; got != 1 {
		t.Errorf("4 s after the decision: %d replicas, want 1 (5 s actuation delay)", got)
	}
	if got := replicasAt(res, 15*time.Second); got.Replicas != 3 || got.Starting != 2 {
		t.Errorf("5 s after the decision: %+v, want 3 replicas, 2 starting", got)
	}

	res, err = Run(context.Background(), sc, instant{scripted{10 * time.Second: {"v": 3}}}, WithTimeline(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got := replicasAt(res, 10*time.Second); got.Ready != 3 {
		t.Errorf("instant start: %+v at the decision, want 3 ready", got)
	}
}

type instant struct{ scripted }

func (instant) InstantStart() bool { return true }

type clockCheck struct {
	clk  *testingclock.FakeClock
	seen []time.Time
}

func (*clockCheck) Name() string { return "clock" }

func (c *clockCheck) Decide(_ context.Context, now time.Time, _ Cluster) (map[string]int, error) {
	if !c.clk.Now().Equal(now) {
		return nil, errors.New("the injected clock is not at the virtual time")
	}
	c.seen = append(c.seen, now)
	return nil, nil
}

func TestRunStepsInjectedClock(t *testing.T) {
	sc := NewScenario("clock", nil, fixedVariant("v", 0, 1))
	sc.Duration = time.Minute
	clk := testingclock.NewFakeClock(time.Time{})
	p := &clockCheck{clk: clk}
	if _, err := Run(context.Background(), sc, p, WithClock(clk), WithTick(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	want := []time.Time{DefaultStart, DefaultStart.Add(30 * time.Second), DefaultStart.Add(time.Minute)}
	if d := cmp.Diff(want, p.seen); d != "" {
		t.Errorf("decision times (-want +got):\n%s", d)
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	good := NewScenario("x", nil, fixedVariant("v", 0, 1))
	tests := map[string]struct {
		sc      Scenario
		policy  Policy
		opts    []RunOption
		wantErr string
	}{
		"no variants":        {sc: NewScenario("x", nil), policy: scripted{}, wantErr: "at least one variant"},
		"duplicate variants": {sc: NewScenario("x", nil, fixedVariant("v", 0, 1), fixedVariant("v", 0, 1)), policy: scripted{}, wantErr: "used twice"},
		"unsorted requests": {sc: NewScenario("x", []workload.Request{{Arrival: time.Second, OutputTokens: 1}, {Arrival: 0, OutputTokens: 1}}, fixedVariant("v", 0, 1)),
			policy: scripted{}, wantErr: "sorted by arrival"},
		"bad tick":             {sc: good, policy: scripted{}, opts: []RunOption{WithTick(0)}, wantErr: "tick must be positive"},
		"unknown variant name": {sc: good, policy: scripted{0: {"w": 2}}, wantErr: `unknown variant "w"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Run(context.Background(), tc.sc, tc.policy, tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Run() error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestScoreCountsEveryRequest(t *testing.T) {
	// Two tiny requests meet the SLO; one needs more KV than the cache (rejected); one arrives
	// just before the end and cannot finish.
	v := fixedVariant("v", 0, 1)
	v.Profile.KVCacheTokens = 1000
	reqs := []workload.Request{
		{Arrival: 0, InputTokens: 10, OutputTokens: 5},
		{Arrival: time.Second, InputTokens: 10, OutputTokens: 1},
		{Arrival: 2 * time.Second, InputTokens: 2000, OutputTokens: 5},
		{Arrival: 9 * time.Second, InputTokens: 10, OutputTokens: 500},
	}
	sc := NewScenario("score", reqs, v)
	sc.Duration = 10 * time.Second
	res, err := Run(context.Background(), sc, scripted{})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Score
	// The rejected request cannot meet the SLO on this variant at all, so feasible attainment
	// leaves it out: 2 of the 3 others met it.
	want := Score{Policy: "scripted", Requests: 4, Finished: 2, Unfinished: 1, Rejected: 1, SLOMet: 2, SLOAttainment: 0.5,
		Feasible: 3, FeasibleMet: 2, FeasibleAttainment: 2.0 / 3}
	if d := cmp.Diff(want, s, cmpIgnoreLatencyAndReplicas); d != "" {
		t.Errorf("score (-want +got):\n%s", d)
	}
	// TTFT percentiles cover the three requests that got a first token.
	if s.TTFTP50 != msToDuration(1+0.01*10) || s.ITLP99 != msToDuration(10) {
		t.Errorf("TTFT p50 %s ITL p99 %s", s.TTFTP50, s.ITLP99)
	}
	if !near(s.GPUHours, 10.0/3600) || !near(s.Cost, 10.0/3600) {
		t.Errorf("GPU-hours %g cost %g, want one replica for 10 s", s.GPUHours, s.Cost)
	}
}

var cmpIgnoreLatencyAndReplicas = cmp.FilterPath(func(p cmp.Path) bool {
	switch p.Last().String() {
	case ".TTFTP50", ".TTFTP99", ".ITLP50", ".ITLP99", ".GPUHours", ".Cost", ".Variants":
		return true
	}
	return false
}, cmp.Ignore())

func TestPercentiles(t *testing.T) {
	ds := make([]time.Duration, 200)
	for i := range ds {
		ds[len(ds)-1-i] = time.Duration(i+1) * time.Millisecond
	}
	p50, p99 := percentiles(ds)
	if p50 != 100*time.Millisecond || p99 != 198*time.Millisecond {
		t.Errorf("p50 %s p99 %s, want 100ms and 198ms", p50, p99)
	}
}

// The Llama-3.1-70B profile serves in a scenario of its own: each replica holds four GPUs, so
// GPU-hours are four times the replica-hours.
func TestLlama70BProfileRuns(t *testing.T) {
	p, err := LookupProfile(ProfileH100TP4Llama70B)
	if err != nil {
		t.Fatal(err)
	}
	reqs, err := workload.Poisson(workload.Steady(2, 2*time.Minute), workload.UniformTokens(500, 4000, 50, 400), 1)
	if err != nil {
		t.Fatal(err)
	}
	v := NewVariant("h100-70b", p)
	sc := NewScenario("70b", reqs, v)
	res, err := Run(context.Background(), sc, scripted{})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Score
	if s.Finished != s.Requests || s.SLOAttainment < 0.99 {
		t.Errorf("finished %d of %d, SLO attainment %g; want all finished within the SLO", s.Finished, s.Requests, s.SLOAttainment)
	}
	if want := 4 * sc.Duration.Hours(); !near(s.GPUHours, want) || !near(s.Cost, want*p.CostPerGPUHour) {
		t.Errorf("GPU-hours %g cost %g, want %g and %g (one replica of 4 GPUs)", s.GPUHours, s.Cost, want, want*p.CostPerGPUHour)
	}
	if s.ITLP50 < msToDuration(p.Overhead+p.Alpha) {
		t.Errorf("ITL p50 %s below the batch-1 step %s", s.ITLP50, msToDuration(p.Overhead+p.Alpha))
	}

	// A scenario mixing the 70B and an 8B variant serves two models: its requests must say
	// which one they ask for.
	h100, _ := LookupProfile(ProfileH100)
	mixed := NewScenario("mixed", reqs, v, NewVariant("h100", h100))
	if err := mixed.Validate(); err == nil || !strings.Contains(err.Error(), "must name one of the scenario's models") {
		t.Errorf("Validate() of a scenario of two models = %v, want an error", err)
	}
}
