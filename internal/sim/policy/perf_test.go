package policy

import (
	"context"
	"testing"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

// TestFullTraceReplaysEveryRequest runs an hour of the Azure trace at rate scale 6 (116,196
// requests) under five policy runs on two variants and checks every request is replayed.
func TestFullTraceReplaysEveryRequest(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("full trace: skipped with -short and under the race detector (slow there)")
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
		t.Logf("%s: attainment %.4f, %.2f GPU-hours, cost %.2f (%.2f x oracle), %d scale events, %d reversals, peak replicas %d",
			r.p.Name(), s.SLOAttainment, s.GPUHours, s.Cost, s.Cost/oracle.Plan().Cost, s.ScaleEvents, s.Reversals, peaks)
		if res.Score.Requests != len(reqs) {
			t.Fatalf("%s replayed %d requests, want %d", r.p.Name(), res.Score.Requests, len(reqs))
		}
	}
	t.Logf("oracle schedule + 5 runs of %d requests: %s (speed is measured by BenchmarkAzureTrace)", len(reqs), time.Since(start))
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
