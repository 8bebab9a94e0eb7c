package sim

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

// twoModels returns variants "chat" (model chat, A100) and "code" (model code, A100) and a
// stream in which model chat gets rateChat and model code rateCode requests per second.
func twoModels(t *testing.T, rateChat, rateCode float64, d time.Duration) Scenario {
	t.Helper()
	p, _ := LookupProfile(ProfileA100)
	chat, code := NewVariant("chat", p), NewVariant("code", p)
	chat.ModelID, code.ModelID = "chat", "code"
	return NewScenario("two models", mergeModels(t, map[string]float64{"chat": rateChat, "code": rateCode}, d), chat, code)
}

// mergeModels draws a Poisson stream per model and merges them by arrival.
func mergeModels(t *testing.T, rates map[string]float64, d time.Duration) []workload.Request {
	t.Helper()
	var all []workload.Request
	seed := uint64(1)
	for _, m := range []string{"chat", "code"} {
		if rates[m] == 0 {
			continue
		}
		reqs, err := workload.Poisson(workload.Steady(rates[m], d), workload.FixedTokens(500, 100), seed)
		if err != nil {
			t.Fatal(err)
		}
		seed++
		for i := range reqs {
			reqs[i].Model = m
		}
		all = append(all, reqs...)
	}
	sortRequests(all)
	return all
}

func sortRequests(reqs []workload.Request) {
	for i := 1; i < len(reqs); i++ {
		for j := i; j > 0 && reqs[j].Arrival < reqs[j-1].Arrival; j-- {
			reqs[j], reqs[j-1] = reqs[j-1], reqs[j]
		}
	}
}

type noop struct{}

func (noop) Name() string { return "noop" }
func (noop) Decide(context.Context, time.Time, Cluster) (map[string]int, error) {
	return nil, nil
}

func TestRouterSendsEachRequestToItsModel(t *testing.T) {
	sc := twoModels(t, 1, 1, 5*time.Minute)
	res, err := Run(context.Background(), sc, noop{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Requests {
		if !strings.HasPrefix(r.Replica, r.Model+"-") {
			t.Fatalf("request %d of model %s went to replica %q", r.ID, r.Model, r.Replica)
		}
	}
	if got := len(res.Score.Models); got != 2 {
		t.Fatalf("got %d model scores, want 2", got)
	}
	var requests int
	var cost float64
	for _, m := range res.Score.Models {
		requests += m.Requests
		cost += m.Cost
	}
	if requests != res.Score.Requests || math.Abs(cost-res.Score.Cost) > 1e-9 {
		t.Errorf("model scores add up to %d requests and cost %g, want %d and %g", requests, cost, res.Score.Requests, res.Score.Cost)
	}
}

// A model with no replica queues its requests in the router; the other model's replicas never
// take them.
func TestModelWithoutReplicasQueuesInTheRouter(t *testing.T) {
	sc := twoModels(t, 1, 1, 2*time.Minute)
	sc.Variants[1].InitialReplicas = 0
	res, err := Run(context.Background(), sc, noop{})
	if err != nil {
		t.Fatal(err)
	}
	chat, code := res.Score.Models[0], res.Score.Models[1]
	if chat.Model != "chat" || code.Model != "code" {
		t.Fatalf("models %q, %q, want chat, code", chat.Model, code.Model)
	}
	if chat.SLOAttainment < 0.99 || code.SLOMet != 0 || code.Requests == 0 {
		t.Errorf("chat attainment %.3f (want ~1), code %d of %d met (want 0 of >0)", chat.SLOAttainment, code.SLOMet, code.Requests)
	}
	if code.Cost != 0 || chat.Cost <= 0 {
		t.Errorf("cost chat %g code %g, want >0 and 0", chat.Cost, code.Cost)
	}
}

func TestScenarioRejectsRequestsOfUnknownModels(t *testing.T) {
	sc := twoModels(t, 1, 1, time.Minute)
	sc.Requests[0].Model = "other"
	if err := sc.Validate(); err == nil || !strings.Contains(err.Error(), `"other"`) {
		t.Errorf("unknown model: got %v", err)
	}
	sc.Requests[0].Model = ""
	if err := sc.Validate(); err == nil || !strings.Contains(err.Error(), "empty only with one model") {
		t.Errorf("no model with two models: got %v", err)
	}
}

// Replicas beyond the inventory stay Pending: not serving, not billed, bound (and started)
// when GPUs free up.
func TestReplicasBeyondTheInventoryStayPending(t *testing.T) {
	p, _ := LookupProfile(ProfileA100)
	v := NewVariant("a100", p)
	v.StartupDelay = 10 * time.Second
	sc := NewScenario("inventory", nil, v)
	sc.Duration, sc.GPUs = time.Hour, map[string]int{ProfileA100: 2}
	f := newFleet(sc, false)
	if _, err := f.scale("a100", 3); err != nil {
		t.Fatal(err)
	}
	states := func() (out []ReplicaState) {
		for _, r := range f.variants[0].live {
			out = append(out, r.state)
		}
		return out
	}
	if got := states(); !slices.Equal(got, []ReplicaState{Serving, Starting, Pending}) {
		t.Fatalf("after scaling to 3 with 2 GPUs: states %v, want serving, starting, pending", got)
	}
	f.advanceTo(30 * time.Minute)
	if got := f.GPUsInUse()[ProfileA100]; got != 2 {
		t.Errorf("GPUs in use %d, want 2", got)
	}
	// Scaling to 2 removes the Pending replica, not a serving one.
	if _, err := f.scale("a100", 2); err != nil {
		t.Fatal(err)
	}
	if got := states(); !slices.Equal(got, []ReplicaState{Serving, Serving}) {
		t.Fatalf("after scaling to 2: states %v, want two serving", got)
	}
	f.advanceTo(time.Hour)
	s := scoreRun("x", sc.SLO, nil, f, time.Hour)
	// Replica 1: 1 h; replica 2: from 0 s, 1 h; replica 3: Pending, removed, never billed.
	if want := 2.0; math.Abs(s.GPUHours-want) > 1e-9 {
		t.Errorf("GPU-hours %g, want %g: Pending replicas are not billed", s.GPUHours, want)
	}
}

// A Pending replica of one variant binds when a replica of another variant on the same
// accelerator releases its GPUs.
func TestPendingReplicaBindsWhenGPUsFreeUp(t *testing.T) {
	p, _ := LookupProfile(ProfileA100)
	a, b := NewVariant("a", p), NewVariant("b", p)
	a.InitialReplicas, b.InitialReplicas, b.StartupDelay = 2, 0, 10*time.Second
	sc := NewScenario("shared", nil, a, b)
	sc.Duration, sc.GPUs = time.Hour, map[string]int{ProfileA100: 2}
	f := newFleet(sc, false)
	if _, err := f.scale("b", 1); err != nil {
		t.Fatal(err)
	}
	f.advanceTo(20 * time.Minute)
	if got := f.variants[1].live[0].state; got != Pending {
		t.Fatalf("b's replica is %v, want Pending while a holds both GPUs", got)
	}
	if _, err := f.scale("a", 1); err != nil {
		t.Fatal(err)
	}
	r := f.variants[1].live[0]
	if r.state != Starting || r.bound != 20*time.Minute || r.readyAt != 20*time.Minute+10*time.Second {
		t.Fatalf("b's replica: state %v bound %s ready at %s, want Starting, bound at 20m, ready 10 s later", r.state, r.bound, r.readyAt)
	}
	f.advanceTo(time.Hour)
	s := scoreRun("x", sc.SLO, nil, f, time.Hour)
	// a: 1 h + 20 min; b: 40 min, from binding.
	if want := 2.0; math.Abs(s.GPUHours-want) > 1e-9 {
		t.Errorf("GPU-hours %g, want %g: b is billed from binding", s.GPUHours, want)
	}
}
