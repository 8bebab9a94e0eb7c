package policy

import (
	"testing"
	"time"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/promsim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

// idleScenario is one A100 variant with a 60 s start-up serving three 3-minute bursts of
// 0.5 req/s, each after 30 idle minutes.
func idleScenario(t *testing.T) sim.Scenario {
	t.Helper()
	reqs, err := workload.Poisson(workload.IdleBursts(30*time.Minute, 3*time.Minute, 0.5, 3), workload.FixedTokens(1000, 200), 7)
	if err != nil {
		t.Fatal(err)
	}
	p, err := sim.LookupProfile(sim.ProfileA100)
	if err != nil {
		t.Fatal(err)
	}
	v := sim.NewVariant("a100", p)
	v.StartupDelay = time.Minute
	return sim.NewScenario("idle bursts", reqs, v)
}

// runZero runs cfg on sc through the production metrics pipeline, the gateway queue scraped as
// well.
func runZero(t *testing.T, sc sim.Scenario, cfg WVAConfig) sim.Result {
	t.Helper()
	scrape := promsim.DefaultScrapeConfig()
	scrape.Gateway = true
	_, res, _ := runPipeline(t, sc, cfg, scrape, nil)
	return res
}

// coldStats returns the attainment of the requests that waited in the gateway queue (arrived
// while the model had no ready replica), how many there were, and the TTFT of the first request
// of each burst.
func coldStats(res sim.Result, slo sim.SLO) (attainment float64, queued int, firstTTFT []time.Duration) {
	met := 0
	prev := time.Duration(-1)
	for i := range res.Requests {
		r := &res.Requests[i]
		if prev < 0 || r.Arrival-prev > 10*time.Minute {
			firstTTFT = append(firstTTFT, r.TTFT())
		}
		prev = r.Arrival
		if r.Gateway {
			queued++
			if slo.Met(r) {
				met++
			}
		}
	}
	attainment = 1
	if queued > 0 {
		attainment = float64(met) / float64(queued)
	}
	return attainment, queued, firstTTFT
}

// TestScaleToZeroOnIdleGaps: with spec.scaleToZero (5 min retention) on a trace with 30-minute
// idle gaps, the model goes to zero in each gap, FromZero wakes it on the gateway queue, cost
// falls, and the requests that arrive at the idle model wait in the gateway queue and count
// against the SLO from their arrival.
func TestScaleToZeroOnIdleGaps(t *testing.T) {
	sc := idleScenario(t)
	cfg := DefaultWVAConfig()
	cfg.Actuation = wvav1alpha1.ActuationDirect

	always := runZero(t, sc, cfg)
	cfg.ScaleToZero, cfg.ScaleToZeroRetention = true, 5*time.Minute
	zero := runZero(t, sc, cfg)

	att, queued, first := coldStats(zero, sc.SLO)
	_, alwaysQueued, alwaysFirst := coldStats(always, sc.SLO)
	t.Logf("without scale to zero: cost %.4f (%.4f GPU-hours), attainment %.4f, %d requests queued at the gateway, first TTFT per burst %v",
		always.Score.Cost, always.Score.GPUHours, always.Score.SLOAttainment, alwaysQueued, alwaysFirst)
	t.Logf("with scale to zero:    cost %.4f (%.4f GPU-hours), attainment %.4f, %d requests queued at the gateway (attainment %.4f), first TTFT per burst %v",
		zero.Score.Cost, zero.Score.GPUHours, zero.Score.SLOAttainment, queued, att, first)

	if zero.Score.Cost >= 0.7*always.Score.Cost {
		t.Errorf("cost %.4f with scale to zero, %.4f without: want it to fall by more than 30%%", zero.Score.Cost, always.Score.Cost)
	}
	if alwaysQueued != 0 {
		t.Errorf("without scale to zero %d requests waited in the gateway queue, want 0 (one replica stays)", alwaysQueued)
	}
	if queued == 0 || len(first) != 3 {
		t.Fatalf("with scale to zero %d requests waited in the gateway queue and %d bursts were found, want some and 3", queued, len(first))
	}
	// Each burst finds the model at zero: its first request waits for a replica to start (60 s)
	// and is served, within the poll, scrape and actuation delays.
	for i, d := range first {
		if d < sc.Variants[0].StartupDelay || d > sc.Variants[0].StartupDelay+30*time.Second {
			t.Errorf("burst %d: first request's TTFT %s, want the 60 s start-up plus at most 30 s of detection", i, d)
		}
	}
	if zero.Score.Unfinished != 0 || zero.Score.Finished != zero.Score.Requests {
		t.Errorf("%d of %d requests finished (%d unfinished): every queued request must be served", zero.Score.Finished, zero.Score.Requests, zero.Score.Unfinished)
	}
}
