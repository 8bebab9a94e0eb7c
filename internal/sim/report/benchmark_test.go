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
// seeds 1-3, a 60 s start-up delay, policies wva, wva-v1 and hpa, with static and oracle-warm as
// the brackets (checked in every cell: oracle plan <= oracle-warm plan <= static, and no policy
// beats oracle-warm on both feasible attainment and cost).
//
// The engine reads the simulated pods as in production: scraped every 15 s at each pod's own
// phase into an in-memory TSDB and queried with the collector's own PromQL (--metrics
// prometheus, the default).
//
// Azure conversation trace at twice its rate, default SLO (TTFT 2 s, ITL 50 ms). Measured:
//
//	wva     feasible 0.9913 / 0.9959 / 0.9800 (seeds 1/2/3), 1.13 / 1.13 / 1.26× oracle-warm, 1.42-1.59 GPU-hours
//	wva-v1  feasible 0.9920-0.9931, 1.28×, 2.25-2.39 GPU-hours
//	hpa     feasible 0.9914-0.9925, 1.18-1.20×, 2.11 GPU-hours
//
// (Before the replica model had context terms, a step overhead and prefix caching, wva measured
// 0.9908-0.9982 here and 0.825-0.877 on Mooncake; the thresholds were lowered with that change.)
//
// (With the idealised source, --metrics ideal, wva measured 0.9892-0.9948 at 1.09-1.20×.)
//
// Mooncake synthetic trace at half its rate (the oracle-warm plan uses up to about 6 A100 and 5
// H100 replicas), TTFT 10 s (DefaultMooncakeSLO: its prompts average 15,300 tokens). Measured:
//
//	wva     feasible 0.7413 / 0.8319 / 0.6980 (seeds 1/2/3), 0.69-0.78× oracle-warm
//	wva-v1  feasible 0.4690 / 0.4270 / 0.4021,               0.54-0.58×
//	hpa     feasible 0.6266 / 0.6167 / 0.6510,               0.55-0.62×
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
	cfg.Policies = []string{"wva", "wva-v1", "hpa", "static", "oracle-warm"}
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
		wva := runs["wva"]
		cell := fmt.Sprintf("%s seed %d", cc.Name, cc.Config.Seed)
		// The brackets: the instant oracle's plan costs no more than the start-up-aware one, which
		// costs no more than the peak-sized static fleet; and no policy facing the start-up delay
		// beats oracle-warm on both attainment and cost.
		warm, static := runs["oracle-warm"], runs["static"]
		if !(cc.Oracle.Cost <= cc.OracleWarm.Cost+1e-9 && cc.OracleWarm.Cost <= static.Score.Cost) {
			t.Errorf("%s: want oracle plan $%.3f <= oracle-warm plan $%.3f <= static run $%.3f", cell, cc.Oracle.Cost, cc.OracleWarm.Cost, static.Score.Cost)
		}
		for _, name := range []string{"wva", "wva-v1", "hpa", "static"} {
			if r := runs[name]; r.Score.FeasibleAttainment > warm.Score.FeasibleAttainment && r.Score.Cost < warm.Score.Cost {
				t.Errorf("%s: %s beats oracle-warm on both attainment (%.4f > %.4f) and cost ($%.3f < $%.3f): the bound is not one",
					cell, name, r.Score.FeasibleAttainment, warm.Score.FeasibleAttainment, r.Score.Cost, warm.Score.Cost)
			}
		}
		switch c.TraceName {
		case cfg.Traces[0].Name():
			if wva.Score.FeasibleAttainment < 0.975 || wva.CostRatioToOracleWarm > 1.45 {
				t.Errorf("%s: wva feasible attainment %.4f at %.2f× oracle-warm, want >= 0.975 at <= 1.45×", cell, wva.Score.FeasibleAttainment, wva.CostRatioToOracleWarm)
			}
			for _, other := range []string{"wva-v1", "hpa"} {
				if o := runs[other]; wva.Score.GPUHours >= o.Score.GPUHours {
					t.Errorf("%s: wva uses %.2f GPU-hours, %s %.2f: want fewer", cell, wva.Score.GPUHours, other, o.Score.GPUHours)
				}
			}
		case cfg.Traces[1].Name():
			if wva.Score.FeasibleAttainment < 0.68 || wva.CostRatioToOracleWarm > 1.30 {
				t.Errorf("%s: wva feasible attainment %.4f at %.2f× oracle-warm, want >= 0.68 at <= 1.30×", cell, wva.Score.FeasibleAttainment, wva.CostRatioToOracleWarm)
			}
		}
	}
	// Over the Mooncake seeds, wva keeps the SLO for more requests than the reference analyzer
	// and the HPA (measured means 0.757, 0.433 and 0.631).
	mc := mean[cfg.Traces[1].Name()]
	for _, other := range []string{"wva-v1", "hpa"} {
		if mc["wva"] <= mc[other] {
			t.Errorf("mooncake: wva's mean feasible attainment %.4f, %s %.4f: want higher", mc["wva"], other, mc[other])
		}
	}
	if len(m.Cells) != 6 {
		t.Errorf("%d cells, want 2 traces × 3 seeds", len(m.Cells))
	}
}
