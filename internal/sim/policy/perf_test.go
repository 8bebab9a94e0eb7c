package policy

import (
	"context"
	"testing"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

// fullTraceBudget is the most the full-trace comparison may take: an hour of the Azure trace at
// rate scale 6 (116,196 requests) under five policy runs on two variants. Measured on 2 cores
// (go1.26, no race detector): about 1.5 s, so the budget leaves room for slow CI machines while
// still catching a change that makes the model per-step instead of per-event.
const fullTraceBudget = 15 * time.Second

func TestFullTraceFiveRunsWithinBudget(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("performance check: skipped with -short and under the race detector")
	}
	base, err := workload.LoadAzureCSV(tracePath)
	if err != nil {
		t.Fatal(err)
	}
	reqs, err := workload.Scale(base, 6, 1, workload.DefaultJitter)
	if err != nil {
		t.Fatal(err)
	}
	a100, _ := sim.LookupProfile(sim.ProfileA100)
	h100, _ := sim.LookupProfile(sim.ProfileH100)
	sc := sim.NewScenario("azure-x6", reqs, sim.NewVariant("a100", a100), sim.NewVariant("h100", h100))

	start := time.Now()
	oracle, err := NewOracle(sc, DefaultOracleConfig())
	if err != nil {
		t.Fatal(err)
	}
	peak := oracle.PeakReplicas()
	static := withInitial(sc, peak)
	queueHPA := DefaultHPAConfig()
	queueHPA.Metrics = append(queueHPA.Metrics, MetricTarget{Metric: PodMetricWaiting, AverageValue: 2})
	runs := []struct {
		sc sim.Scenario
		p  sim.Policy
	}{
		{static, NewStatic(peak)},
		{sc, mustHPA(t)},
		{sc, must(NewHPA(queueHPA))},
		{sc, oracle},
		{static, NewStatic(peak)},
	}
	for _, r := range runs {
		res, err := sim.Run(context.Background(), r.sc, r.p)
		if err != nil {
			t.Fatal(err)
		}
		s := res.Score
		peaks := 0
		for _, v := range s.Variants {
			peaks += v.PeakReplicas
		}
		t.Logf("%s: attainment %.4f, %.2f GPU-hours (%.2f x oracle), cost %.2f, %d scale events, %d reversals, peak replicas %d",
			r.p.Name(), s.SLOAttainment, s.GPUHours, oracle.GPUHoursRatio(s), s.Cost, s.ScaleEvents, s.Reversals, peaks)
		if res.Score.Requests != len(reqs) {
			t.Fatalf("%s replayed %d requests, want %d", r.p.Name(), res.Score.Requests, len(reqs))
		}
	}
	elapsed := time.Since(start)
	t.Logf("oracle schedule + 5 runs of %d requests: %s", len(reqs), elapsed)
	if elapsed > fullTraceBudget {
		t.Errorf("took %s, budget %s", elapsed, fullTraceBudget)
	}
}

// withInitial returns sc with the given initial replicas (0 for the variants not named).
func withInitial(sc sim.Scenario, replicas map[string]int) sim.Scenario {
	sc.Variants = append([]sim.VariantSpec(nil), sc.Variants...)
	for i := range sc.Variants {
		sc.Variants[i].InitialReplicas = replicas[sc.Variants[i].Name]
	}
	return sc
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
