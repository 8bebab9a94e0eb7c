package policy

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/promsim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

// twoModelScenario serves models "gold" and "bronze", one A100 variant each, each with the
// same step: 1 req/s for 3 min, peak req/s for 6 min, 1 req/s for 3 min (1000/200 tokens).
func twoModelScenario(t *testing.T, peak float64) sim.Scenario {
	t.Helper()
	p, err := sim.LookupProfile(sim.ProfileA100)
	if err != nil {
		t.Fatal(err)
	}
	var reqs []workload.Request
	var variants []sim.VariantSpec
	for i, model := range []string{"gold", "bronze"} {
		r, err := workload.Poisson(workload.Steps(3*time.Minute, 1, peak, peak, 1), workload.FixedTokens(1000, 200), uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		for j := range r {
			r[j].Model = model
		}
		reqs = append(reqs, r...)
		v := sim.NewVariant(model, p)
		v.ModelID, v.StartupDelay = model, time.Minute
		variants = append(variants, v)
	}
	slices.SortStableFunc(reqs, func(a, b workload.Request) int { return int(a.Arrival - b.Arrival) })
	return sim.NewScenario("gold and bronze", reqs, variants...)
}

// inventoryCheck wraps a policy and records every breach of the inventory: a tick after which
// the GPUs of the engine's decisions, of the replicas the Deployments ask for (spec replicas,
// Pending ones included) or held by the fleet exceed it.
type inventoryCheck struct {
	sim.Policy
	wva      *WVA
	gpus     map[string]int
	breaches []string
	maxAsked map[string]int
}

func (c *inventoryCheck) Decide(ctx context.Context, now time.Time, cl sim.Cluster) (map[string]int, error) {
	out, err := c.Policy.Decide(ctx, now, cl)
	if err != nil {
		return out, err
	}
	asked := map[string]int{}
	for _, p := range cl.Pods() {
		if _, changed := out[p.Variant.Name]; !changed && p.State != sim.Draining {
			asked[p.Variant.Profile.Name] += p.Variant.Profile.GPUsPerReplica
		}
	}
	for _, v := range cl.Variants() {
		if n, ok := out[v.Name]; ok {
			asked[v.Profile.Name] += n * v.Profile.GPUsPerReplica
		}
	}
	decided := map[string]int{}
	for _, v := range cl.Variants() {
		if d, ok := c.wva.decisions.Get(v.Name, v.Namespace); ok {
			decided[v.Profile.Name] += d.TargetReplicas * v.Profile.GPUsPerReplica
		}
	}
	held := cl.(*sim.Fleet).GPUsInUse()
	for acc, limit := range c.gpus {
		c.maxAsked[acc] = max(c.maxAsked[acc], asked[acc])
		if asked[acc] > limit || held[acc] > limit || decided[acc] > limit {
			c.breaches = append(c.breaches, fmt.Sprintf("%s %s: decided %d, spec replicas %d, held %d", now.Format(time.TimeOnly), acc, decided[acc], asked[acc], held[acc]))
		}
	}
	return out, nil
}

// TestLimitedFleetKeepsThePriorityModelsSLO: two models whose peaks together need more A100s
// than the cluster has. With the limiter on and gold more important, gold keeps its attainment
// and bronze loses; no decision and no moment of the fleet exceeds the inventory.
func TestLimitedFleetKeepsThePriorityModelsSLO(t *testing.T) {
	const peak = 8
	cfg := DefaultWVAConfig()
	// Direct mode: the engine's decisions are the Deployments' spec replicas. (Through the
	// sample HPA, whose scale-down waits 5 min, the spec replicas of a model the limiter cut can
	// exceed the inventory for that long; the excess replicas stay Pending.)
	cfg.Actuation, cfg.MinReplicas = wvav1alpha1.ActuationDirect, 1

	_, free, _ := runWVA(t, twoModelScenario(t, peak), cfg)
	var need int
	for _, v := range free.Score.Variants {
		need += v.PeakReplicas
	}
	// The unlimited run peaks at 7 replicas (3 gold, 4 bronze); gold alone needs 3.
	const limit = 4
	if need <= limit {
		t.Fatalf("the unlimited run peaks at %d replicas, not above the limit %d", need, limit)
	}
	t.Logf("unlimited: peak replicas %d; gold %.4f bronze %.4f", need, free.Score.Models[0].SLOAttainment, free.Score.Models[1].SLOAttainment)

	sc := twoModelScenario(t, peak)
	sc.GPUs = map[string]int{sim.ProfileA100: limit}
	cfg.GPUs = sc.GPUs
	cfg.Priorities = map[string]int{"gold": 1, "bronze": 5}
	_, limited := runLimited(t, sc, cfg)
	gold, bronze := limited.Score.Models[0], limited.Score.Models[1]
	t.Logf("limited to %d A100: gold %.4f (cost %.2f) bronze %.4f (cost %.2f)", limit, gold.SLOAttainment, gold.Cost, bronze.SLOAttainment, bronze.Cost)
	if freeGold := free.Score.Models[0].SLOAttainment; gold.SLOAttainment < freeGold-0.02 {
		t.Errorf("gold attainment %.4f under the limit, %.4f without: the priority model lost its SLO", gold.SLOAttainment, freeGold)
	}
	if freeBronze := free.Score.Models[1].SLOAttainment; bronze.SLOAttainment > freeBronze-0.05 {
		t.Errorf("bronze attainment %.4f under the limit, %.4f without: want it degraded", bronze.SLOAttainment, freeBronze)
	}

	// The check has teeth: the same cluster with the engine unaware of the inventory decides
	// beyond it (the fleet still holds no more than it has; the excess replicas stay Pending).
	cfg.GPUs, cfg.Priorities = nil, nil
	var check *inventoryCheck
	runWrapped(t, twoModelScenarioWith(t, peak, sc.GPUs), cfg, func(p sim.Policy) sim.Policy {
		check = &inventoryCheck{Policy: p, wva: p.(*WVA), gpus: sc.GPUs, maxAsked: map[string]int{}}
		return check
	})
	if len(check.breaches) == 0 {
		t.Errorf("without the limiter no decision exceeded the inventory %v (largest %v): the check cannot fail", sc.GPUs, check.maxAsked)
	}
}

// twoModelScenarioWith is twoModelScenario on a cluster of gpus.
func twoModelScenarioWith(t *testing.T, peak float64, gpus map[string]int) sim.Scenario {
	sc := twoModelScenario(t, peak)
	sc.GPUs = gpus
	return sc
}

// runLimited runs cfg on sc through the production metrics pipeline, checking the inventory
// after every tick.
func runLimited(t *testing.T, sc sim.Scenario, cfg WVAConfig) (*inventoryCheck, sim.Result) {
	t.Helper()
	var check *inventoryCheck
	res := runWrapped(t, sc, cfg, func(p sim.Policy) sim.Policy {
		check = &inventoryCheck{Policy: p, wva: p.(*WVA), gpus: sc.GPUs, maxAsked: map[string]int{}}
		return check
	})
	if len(check.breaches) > 0 {
		t.Errorf("the inventory %v was exceeded at %d ticks, first %s", sc.GPUs, len(check.breaches), check.breaches[0])
	}
	t.Logf("largest GPU count asked for: %v (inventory %v)", check.maxAsked, sc.GPUs)
	return check, res
}

// runWrapped runs cfg on sc as runWVA does, with the policy wrapped by wrap.
func runWrapped(t *testing.T, sc sim.Scenario, cfg WVAConfig, wrap func(sim.Policy) sim.Policy) sim.Result {
	t.Helper()
	_, res, _ := runPipeline(t, sc, cfg, promsim.DefaultScrapeConfig(), wrap)
	return res
}
