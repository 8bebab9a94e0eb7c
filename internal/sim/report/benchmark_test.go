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
// seeds 1-3, a 60 s start-up delay; policies wva as shipped (30 s interval, Metrics mode through
// the sample HPA), wva in Direct mode, wva-v1 and hpa, with static and oracle-warm as the
// brackets (checked in every cell: oracle plan <= oracle-warm plan <= static, and no policy beats
// oracle-warm on both feasible attainment and cost). The engine reads the simulated pods as in
// production (scraped every 15 s into a TSDB, the collector's own PromQL); the replica model
// has context-dependent step times and prefix caching.
//
// The shipped wva costs more than Direct mode on Azure because the sample HPA has minReplicas 1
// (0 needs the HPAScaleToZero feature gate): it keeps an A100 that the engine would remove while
// the H100s serve. Measured (seeds 1/2/3; feasible attainment at cost × oracle-warm):
//
//	Azure x2, default SLO (TTFT 2 s, ITL 50 ms)
//	  wva            0.9964 / 0.9971 / 0.9964 at 1.46 / 1.63 / 1.48×
//	  wva direct     0.9913 / 0.9957 / 0.9963 at 1.12 / 1.18 / 1.25×
//	  wva-v1         0.9920 / 0.9931 / 0.9927 at 1.28×
//	  hpa            0.9914 / 0.9924 / 0.9925 at 1.18-1.20×
//	  oracle-warm    0.9992-0.9995; static 0.9999-1.0000 at 1.66-1.68×
//	Mooncake x0.5, TTFT 10 s (DefaultMooncakeSLO: prompts average 15,300 tokens)
//	  wva            0.8772 / 0.8781 / 0.9267 at 0.97 / 0.87 / 1.22×
//	  wva direct     0.7856 / 0.8159 / 0.7835 at 0.73 / 0.65 / 0.70×
//	  wva-v1         0.4690 / 0.4270 / 0.4021 at 0.54-0.58×
//	  hpa            0.6266 / 0.6167 / 0.6510 at 0.55-0.62×
//	  oracle-warm    0.9950-0.9960; static 0.9995-1.0000 at 1.69-1.88×
//
// On Mooncake every real policy is under-provisioned: it spends less than oracle-warm and misses
// the SLO, mostly the ITL (long prefills stall the decode of the batch), which neither the
// KV-cache nor the queue signal shows. That gap is WVA's to close (the SLO-driven analyzer); the
// thresholds below only keep it from widening. Raise them when it closes.
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
	cfg.Policies = []string{"wva", direct, "wva-v1", "hpa", "static", "oracle-warm"}
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
		// The brackets: the instant oracle's plan costs no more than the start-up-aware one, which
		// costs no more than the peak-sized static fleet; and no policy facing the start-up delay
		// beats oracle-warm on both attainment and cost.
		warm, static := runs["oracle-warm"], runs["static"]
		if !(cc.Oracle.Cost <= cc.OracleWarm.Cost+1e-9 && cc.OracleWarm.Cost <= static.Score.Cost) {
			t.Errorf("%s: want oracle plan $%.3f <= oracle-warm plan $%.3f <= static run $%.3f", cell, cc.Oracle.Cost, cc.OracleWarm.Cost, static.Score.Cost)
		}
		for _, name := range []string{"wva", direct, "wva-v1", "hpa", "static"} {
			if r := runs[name]; r.Score.FeasibleAttainment > warm.Score.FeasibleAttainment && r.Score.Cost < warm.Score.Cost {
				t.Errorf("%s: %s beats oracle-warm on both attainment (%.4f > %.4f) and cost ($%.3f < $%.3f): the bound is not one",
					cell, name, r.Score.FeasibleAttainment, warm.Score.FeasibleAttainment, r.Score.Cost, warm.Score.Cost)
			}
		}
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
				if r.Score.FeasibleAttainment < 0.75 || r.CostRatioToOracleWarm > 1.40 {
					t.Errorf("%s: %s feasible attainment %.4f at %.2f× oracle-warm, want >= 0.75 at <= 1.40×", cell, r.Name, r.Score.FeasibleAttainment, r.CostRatioToOracleWarm)
				}
			}
		}
	}
	// Over the Mooncake seeds, wva keeps the SLO for more requests than the reference analyzer
	// and the HPA in both modes (measured means 0.894 shipped, 0.795 direct; wva-v1 0.433, hpa 0.631).
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
