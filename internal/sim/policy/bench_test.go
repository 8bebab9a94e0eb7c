package policy

import (
	"context"
	"testing"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

const tracePath = "../../../testdata/traces/azure-llm-inference-2023-conv.csv"

// BenchmarkAzureTrace replays the full hour of the Azure conversation trace at rate scale 6
// (116,196 requests) on A100-40GB replicas with each reference policy; the oracle's iterations
// include computing its schedule.
//
// Reference (2 cores, go1.26, no race detector): static 0.1-0.2 s (19 replicas all along), hpa
// 0.1 s, oracle 0.4-0.5 s per run, so five policies of this size take about 1-2 s.
func BenchmarkAzureTrace(b *testing.B) {
	base, err := workload.LoadAzureCSV(tracePath)
	if err != nil {
		b.Fatal(err)
	}
	reqs, err := workload.Scale(base, 6, 1, workload.DefaultJitter)
	if err != nil {
		b.Fatal(err)
	}
	a100, err := sim.LookupProfile(sim.ProfileA100)
	if err != nil {
		b.Fatal(err)
	}
	sc := sim.NewScenario("azure-x6", reqs, sim.NewVariant("a100", a100))
	oracle, err := NewOracle(sc, DefaultOracleConfig())
	if err != nil {
		b.Fatal(err)
	}
	peak := oracle.PeakReplicas()
	static := sc
	static.Variants = []sim.VariantSpec{sc.Variants[0]}
	static.Variants[0].InitialReplicas = peak["a100"]
	autoscaled := sc
	autoscaled.Variants = []sim.VariantSpec{sc.Variants[0]}
	autoscaled.Variants[0].InitialReplicas = oracle.Schedule()[0].Replicas["a100"]

	for _, bc := range []struct {
		name string
		sc   sim.Scenario
		mk   func() sim.Policy
	}{
		{NameStatic, static, func() sim.Policy { return NewStatic(peak) }},
		{NameHPA, autoscaled, func() sim.Policy { return mustHPA(b) }},
		{NameOracle, sc, func() sim.Policy { return mustOracle(b, sc) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var res sim.Result
			for b.Loop() {
				res, err = sim.Run(context.Background(), bc.sc, bc.mk())
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(res.Score.Requests), "requests")
			b.ReportMetric(res.Score.GPUHours, "GPU-hours")
			b.ReportMetric(res.Score.SLOAttainment, "attainment")
		})
	}
}
