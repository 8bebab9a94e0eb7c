package report

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

// TestScalingQualityMatrix pins what a small benchmark matrix shows in every cell, so that a
// change to the analyzer or the engine that makes WVA worse fails here: both bundled traces,
// seeds 1-3, a 60 s start-up delay, policies wva (as shipped: Metrics mode through the sample
// HPA), wva in Direct mode (the engine without the HPA's bounds), wva-v1 and hpa. Runs in about 4 s.
//
// The shipped wva costs more than wva in Direct mode on Azure because the sample HPA has
// minReplicas 1 (0 needs the HPAScaleToZero feature gate): it keeps an A100 that the engine
// (VariantAutoscaling minReplicas 0) would remove while the H100s serve. In Direct mode the
// actuator writes the engine's 0. Measured with the shipped defaults (30 s interval):
//
//	wva                   Azure feasible 0.9978 / 0.9950 / 0.9977 at 1.49 / 1.65 / 1.59× oracle-warm;
//	                      Mooncake 0.9222 / 0.9104 / 0.8926 at 0.80 / 0.92 / 0.75×
//	wva:actuation=direct  Azure 0.9994 / 0.9892 / 0.9981 at 1.17 / 1.19 / 1.35×;
//	                      Mooncake 0.8600 / 0.8463 / 0.8790 at 0.64 / 0.61 / 0.58×
//
// The measurements below are of the earlier default, wva every 15 s in Direct mode.
//
// The engine reads the simulated pods as in production: scraped every 15 s at each pod's own
// phase into an in-memory TSDB and queried with the collector's own PromQL (--metrics
// prometheus, the default).
//
// Azure conversation trace at twice its rate, default SLO (TTFT 2 s, ITL 50 ms). Measured:
//
//	wva     feasible 0.9939 / 0.9908 / 0.9982 (seeds 1/2/3), 1.14 / 1.11 / 1.38× oracle-warm, 1.37-1.68 GPU-hours
//	wva-v1  feasible 0.9944-0.9946, 1.31-1.34×, 2.25-2.28 GPU-hours
//	hpa     feasible 0.9944-0.9946, 1.23-1.25×, 2.11 GPU-hours
//
// (With the idealised source, --metrics ideal, wva measured 0.9892-0.9948 at 1.09-1.20×.)
//
// Mooncake synthetic trace at half its rate (the oracle-warm plan uses up to about 6 A100 and 5
// H100 replicas), TTFT 10 s (DefaultMooncakeSLO: its prompts average 15,300 tokens). Measured:
//
//	wva     feasible 0.8254 / 0.8453 / 0.8770 (seeds 1/2/3), 0.58-0.61× oracle-warm
//	wva-v1  feasible 0.7983 / 0.6522 / 0.7651,               0.59-0.63×
//	hpa     feasible 0.8073 / 0.6662 / 0.7530,               0.49-0.58×
//
// On Mooncake every policy is under-provisioned: it spends less than the oracle's plan and
// misses the SLO, mostly the ITL (p99 ~235 ms against 50 ms: long prefills stall the decode of
// the batch), which neither the KV-cache nor the queue signal shows. That gap is WVA's to close;
// the thresholds below only keep it from widening. Raise them when it closes.
func TestScalingQualityMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("replays a small matrix of traces")
	}
	root := filepath.Join("..", "..", "..")
	cfg := DefaultMatrixConfig()
	cfg.Traces = []MatrixTrace{
		{Path: filepath.Join(root, DefaultTrace), Format: workload.FormatAzure, RateScales: []float64{2}},
		{Path: filepath.Join(root, DefaultMooncakeTrace), Format: workload.FormatMooncake, RateScales: []float64{0.5}, SLO: DefaultMooncakeSLO()},
	}
	cfg.StartupDelays = []time.Duration{60 * time.Second}
	cfg.Seeds = []uint64{1, 2, 3}
	const direct = "wva:actuation=direct"
	cfg.Policies = []string{"wva", direct, "wva-v1", "hpa"}
	m, err := RunMatrix(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	mean := map[string]map[string]float64{}
	for _, c := range m.Cells {
		cc := c.Comparison
		runs := map[string]PolicyRun{}
		for _, r := range cc.Policies {
			runs[r.Name] = r
			t.Logf("%s seed %d %-6s feasible %.4f (SLO %.4f), %.2f GPU-hours, %.2f× oracle-warm, %d reversals",
				cc.Name, cc.Config.Seed, r.Name, r.Score.FeasibleAttainment, r.Score.SLOAttainment, r.Score.GPUHours, r.CostRatioToOracleWarm, r.Score.Reversals)
			if mean[c.TraceName] == nil {
				mean[c.TraceName] = map[string]float64{}
			}
			mean[c.TraceName][r.Name] += r.Score.FeasibleAttainment / float64(len(cfg.Seeds))
		}
		wva, dir := runs["wva"], runs[direct]
		cell := fmt.Sprintf("%s seed %d", cc.Name, cc.Config.Seed)
		switch c.TraceName {
		case cfg.Traces[0].Name():
			if wva.Score.FeasibleAttainment < 0.985 || wva.CostRatioToOracleWarm > 1.75 {
				t.Errorf("%s: wva feasible attainment %.4f at %.2f× oracle-warm, want >= 0.985 at <= 1.75×", cell, wva.Score.FeasibleAttainment, wva.CostRatioToOracleWarm)
			}
			if dir.Score.FeasibleAttainment < 0.985 || dir.CostRatioToOracleWarm > 1.45 {
				t.Errorf("%s: %s feasible attainment %.4f at %.2f× oracle-warm, want >= 0.985 at <= 1.45×", cell, direct, dir.Score.FeasibleAttainment, dir.CostRatioToOracleWarm)
			}
			for _, other := range []string{"wva-v1", "hpa"} {
				if o := runs[other]; dir.Score.GPUHours >= o.Score.GPUHours {
					t.Errorf("%s: %s uses %.2f GPU-hours, %s %.2f: want fewer", cell, direct, dir.Score.GPUHours, other, o.Score.GPUHours)
				}
			}
		case cfg.Traces[1].Name():
			for _, r := range []PolicyRun{wva, dir} {
				if r.Score.FeasibleAttainment < 0.78 || r.CostRatioToOracleWarm > 1.30 {
					t.Errorf("%s: %s feasible attainment %.4f at %.2f× oracle-warm, want >= 0.78 at <= 1.30×", cell, r.Name, r.Score.FeasibleAttainment, r.CostRatioToOracleWarm)
				}
			}
		}
	}
	// Over the Mooncake seeds, wva keeps the SLO for more requests than the reference analyzer
	// and the HPA in both modes (measured means 0.908 shipped, 0.739 and 0.742).
	mc := mean[cfg.Traces[1].Name()]
	for _, w := range []string{"wva", direct} {
		for _, other := range []string{"wva-v1", "hpa"} {
			if mc[w] <= mc[other] {
				t.Errorf("mooncake: %s's mean feasible attainment %.4f, %s %.4f: want higher", w, mc[w], other, mc[other])
			}
		}
	}
	if len(m.Cells) != 6 {
		t.Errorf("%d cells, want 2 traces × 3 seeds", len(m.Cells))
	}
}
