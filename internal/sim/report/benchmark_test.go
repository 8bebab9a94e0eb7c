package report

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestScalingQualityOnTheAzureTrace pins what the scaling-quality benchmark shows for every
// seed, so that a change to the analyzer or the engine that makes WVA worse fails here: on the
// bundled conversation trace at twice its rate with a 60 s start-up delay, the production
// engine uses fewer GPU-hours than the reference analyzer and the plain HPA, stays within 1.35×
// the oracle's GPU-hours, and keeps the SLO for at least 98.5 % of requests. (Seed 1 reaches
// 99.07 % at 1.04×; seeds 1–4 range from 98.92 % to 99.96 % and 1.03× to 1.29×.)
func TestScalingQualityOnTheAzureTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("replays an hour of trace per seed")
	}
	for _, seed := range []uint64{1, 2, 3, 4} {
		cfg := DefaultConfig()
		cfg.Trace = filepath.Join("..", "..", "..", DefaultTrace)
		cfg.RateScale, cfg.Seed = 2, seed
		cfg.StartupDelay = 60 * time.Second
		cfg.Policies = []string{"wva", "wva-v1", "hpa"}
		c, err := Compare(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		runs := map[string]PolicyRun{}
		for _, r := range c.Policies {
			runs[r.Name] = r
			t.Logf("seed %d %-6s attainment %.4f (feasible %.4f), %.2f GPU-hours, $%.2f (%.2f× oracle-warm), %d reversals",
				seed, r.Name, r.Score.SLOAttainment, r.Score.FeasibleAttainment, r.Score.GPUHours, r.Score.Cost, r.CostRatioToOracleWarm, r.Score.Reversals)
		}
		wva := runs["wva"]
		if wva.Score.SLOAttainment < 0.985 || wva.CostRatioToOracleWarm > 1.35 {
			t.Errorf("seed %d: wva attainment %.4f at %.2f× oracle-warm, want >= 0.985 at <= 1.35×", seed, wva.Score.SLOAttainment, wva.CostRatioToOracleWarm)
		}
		for _, other := range []string{"wva-v1", "hpa"} {
			if o := runs[other]; wva.Score.GPUHours >= o.Score.GPUHours {
				t.Errorf("seed %d: wva uses %.2f GPU-hours, %s %.2f: want fewer", seed, wva.Score.GPUHours, other, o.Score.GPUHours)
			}
		}
	}
}
