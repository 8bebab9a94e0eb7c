package report

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestScalingQualityOnTheAzureTrace pins the headline result of the scaling-quality benchmark,
// so that a change to the analyzer or the engine that makes WVA worse fails here: on the bundled
// conversation trace at twice its rate with a 60 s start-up delay, the production engine keeps
// the SLO for at least 99 % of requests with at most 1.15× the oracle's GPU-hours, and uses
// fewer GPU-hours than the reference analyzer and the plain HPA without worse attainment.
func TestScalingQualityOnTheAzureTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("replays an hour of trace")
	}
	cfg := DefaultConfig()
	cfg.Trace = filepath.Join("..", "..", "..", DefaultTrace)
	cfg.RateScale = 2
	cfg.StartupDelay = 60 * time.Second
	cfg.Policies = []string{"wva", "wva-v1", "hpa"}
	c, err := Compare(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]PolicyRun{}
	for _, r := range c.Policies {
		runs[r.Name] = r
		t.Logf("%-6s attainment %.4f, %.2f GPU-hours (%.2f× oracle), %d reversals",
			r.Name, r.Score.SLOAttainment, r.Score.GPUHours, r.RatioToOracle, r.Score.Reversals)
	}
	wva := runs["wva"]
	if wva.Score.SLOAttainment < 0.99 || wva.RatioToOracle > 1.15 {
		t.Errorf("wva: attainment %.4f at %.2f× oracle, want >= 0.99 at <= 1.15×", wva.Score.SLOAttainment, wva.RatioToOracle)
	}
	for _, other := range []string{"wva-v1", "hpa"} {
		o := runs[other]
		if wva.Score.GPUHours >= o.Score.GPUHours {
			t.Errorf("wva uses %.2f GPU-hours, %s %.2f: want fewer", wva.Score.GPUHours, other, o.Score.GPUHours)
		}
		if wva.Score.SLOAttainment < o.Score.SLOAttainment-0.005 {
			t.Errorf("wva attainment %.4f is worse than %s's %.4f", wva.Score.SLOAttainment, other, o.Score.SLOAttainment)
		}
	}
}
