package queueing_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/perfmodel"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/queueing"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

// lognormal returns a sample of mean m and coefficient of variation cv, at least lo.
func lognormal(rng *rand.Rand, m, cv, lo float64) int {
	if cv == 0 {
		return int(math.Max(math.Round(m), lo))
	}
	s2 := math.Log(1 + cv*cv)
	return int(math.Max(math.Round(math.Exp(math.Log(m)-s2/2+math.Sqrt(s2)*rng.NormFloat64())), lo))
}

// poisson returns d of Poisson arrivals at rate req/s with the mix's lengths.
func poisson(rng *rand.Rand, rate float64, mix queueing.Mix, d time.Duration) []workload.Request {
	var reqs []workload.Request
	for t := 0.0; ; {
		t += rng.ExpFloat64() / rate
		if t > d.Seconds() {
			return reqs
		}
		reqs = append(reqs, workload.Request{
			Arrival:      time.Duration(t * float64(time.Second)),
			InputTokens:  lognormal(rng, mix.PromptTokens, mix.PromptCV, 1),
			OutputTokens: lognormal(rng, mix.OutputTokens, mix.OutputCV, 2),
		})
	}
}

// params maps a simulator profile onto the model: the per-step overhead joins α; the simulator's
// attention term ζ·P·(c + P/2) is ζ/2·P² for a fresh prompt (c = 0).
func params(p sim.Profile) (perfmodel.Params, queueing.Limits) {
	return perfmodel.Params{AlphaMs: p.Overhead + p.Alpha, BetaMs: p.Beta, EpsilonMs: p.Epsilon, GammaMs: p.Gamma, DeltaMs: p.Delta, ZetaMs: p.Zeta / 2},
		queueing.Limits{MaxBatch: p.MaxBatchSize, KVTokens: float64(p.KVCacheTokens), MaxBatchedTokens: p.MaxBatchedTokens}
}

// TestAgainstSimulator serves Poisson traffic at fractions of the predicted capacity on one
// simulated replica (sim.Attainment, the simulator's ground truth) and checks that the
// prediction sits at the knee: at 0.7 μ the attainment target is met (within 0.06), at 1.6 μ it
// is missed. The logged attainments at 1.0 μ are the model's error: it is optimistic close to
// compute saturation (see docs/analyzers.md).
func TestAgainstSimulator(t *testing.T) {
	for _, prof := range []string{sim.ProfileA100, sim.ProfileH100} {
		p, _ := sim.LookupProfile(prof)
		pp, lim := params(p)
		for _, mix := range []queueing.Mix{
			{PromptTokens: 1155, OutputTokens: 211, PromptCV: 1, OutputCV: 1}, // the Azure conversation trace
			{PromptTokens: 200, OutputTokens: 500, PromptCV: 0.5, OutputCV: 0.5},
			{PromptTokens: 3000, OutputTokens: 100, PromptCV: 0.3, OutputCV: 0.5},
		} {
			for _, slo := range []queueing.SLO{{TTFTMs: 2000, ITLMs: 50, Attainment: 0.95}, {TTFTMs: 500, ITLMs: 30, Attainment: 0.99}} {
				c := queueing.MaxRate(pp, mix, lim, slo)
				name := fmt.Sprintf("%s I=%g O=%g TTFT=%g ITL=%g att=%g", prof, mix.PromptTokens, mix.OutputTokens, slo.TTFTMs, slo.ITLMs, slo.Attainment)
				if !c.Feasible {
					t.Logf("%s: infeasible: %s", name, c.Reason)
					continue
				}
				att := map[float64]float64{}
				for _, f := range []float64{0.7, 1, 1.6} {
					reqs := poisson(rand.New(rand.NewPCG(1, 1)), c.RatePerSec*f, mix, 20*time.Minute)
					a, err := sim.Attainment(sim.NewVariant("v", p), 1, reqs, sim.SLO{TTFT: time.Duration(slo.TTFTMs * 1e6), ITL: time.Duration(slo.ITLMs * 1e6)})
					if err != nil {
						t.Fatal(err)
					}
					att[f] = a
				}
				t.Logf("%s: mu %.2f req/s (%s); attainment x0.7 %.3f, x1.0 %.3f, x1.6 %.3f", name, c.RatePerSec, c.Bound, att[0.7], att[1], att[1.6])
				if att[0.7] < slo.Attainment-0.06 {
					t.Errorf("%s: attainment %.3f at 0.7 mu, want >= %.2f", name, att[0.7], slo.Attainment-0.06)
				}
				if att[1.6] >= slo.Attainment {
					t.Errorf("%s: attainment %.3f at 1.6 mu: the model is too conservative", name, att[1.6])
				}
			}
		}
	}
}

// TestLongPromptsAgainstSimulator checks the model where it used to be most optimistic: long
// prompts (the Mooncake trace's 15,000-token mean, cv 1.2) with short outputs (150, cv 1.2) on
// an H100, whose 8,192-token step budget prefills such a prompt in two to seven chunk steps of
// 250-550 ms each. A short output that meets one such run misses a 50 ms ITL target. Before
// the chunk-run term (itlChunkMiss) and the attention work of later chunks, the predicted rate
// was 0.99 req/s and the simulator met the target for 91 % of requests at half of it, 61 % at
// it. Now: at half the predicted rate within 0.02 of the 99 % goal, at twice it clearly below.
func TestLongPromptsAgainstSimulator(t *testing.T) {
	p, _ := sim.LookupProfile(sim.ProfileH100)
	pp, lim := params(p)
	mix := queueing.Mix{PromptTokens: 15000, OutputTokens: 150, PromptCV: 1.2, OutputCV: 1.2}
	slo := queueing.SLO{TTFTMs: 10000, ITLMs: 50, Attainment: 0.99}
	c := queueing.MaxRate(pp, mix, lim, slo)
	if !c.Feasible || c.Bound != queueing.BoundITL {
		t.Fatalf("capacity %+v, want feasible and bound by ITL", c)
	}
	att := map[float64]float64{}
	for _, f := range []float64{0.5, 2} {
		reqs := poisson(rand.New(rand.NewPCG(1, 1)), c.RatePerSec*f, mix, 30*time.Minute)
		s := sim.SLO{TTFT: 10 * time.Second, ITL: 50 * time.Millisecond}
		a, err := sim.Attainment(sim.NewVariant("v", p), 1, reqs, s)
		if err != nil {
			t.Fatal(err)
		}
		best, err := sim.BestAttainment(sim.NewVariant("v", p), reqs, s)
		if err != nil {
			t.Fatal(err)
		}
		att[f] = 1 - (1-a)/best // among the requests an idle replica could serve in time
	}
	t.Logf("mu %.3f req/s; feasible attainment x0.5 %.4f, x2 %.4f", c.RatePerSec, att[0.5], att[2])
	if att[0.5] < slo.Attainment-0.02 {
		t.Errorf("attainment %.4f at 0.5 mu (%.3f req/s), want >= %.2f: the model is optimistic", att[0.5], c.RatePerSec/2, slo.Attainment-0.02)
	}
	if att[2] >= slo.Attainment {
		t.Errorf("attainment %.4f at 2 mu: the model is too conservative", att[2])
	}
}

// TestPoolAgainstSimulator checks the pool term (Limits.Replicas) where it matters most: long
// prompts with short outputs on a pool of six H100 replicas behind the simulator's least-loaded
// router. A lone replica's prompts stall every request it decodes; in the pool a prompt goes to
// an idle replica while there is one, and the lone-replica capacity is far too pessimistic for
// the pool. The pooled capacity must sit at the knee of the simulated pool: within 0.02 of the
// goal at half of it, clearly below at twice it.
func TestPoolAgainstSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates a pool for an hour of traffic")
	}
	p, _ := sim.LookupProfile(sim.ProfileH100)
	pp, lim := params(p)
	mix := queueing.Mix{PromptTokens: 20000, OutputTokens: 80, PromptCV: 1, OutputCV: 1}
	slo := queueing.SLO{TTFTMs: 10000, ITLMs: 50, Attainment: 0.99}
	const pool = 6
	lone := queueing.MaxRate(pp, mix, lim, slo)
	lim.Replicas = pool
	c := queueing.MaxRate(pp, mix, lim, slo)
	if !c.Feasible || !(c.RatePerSec > lone.RatePerSec) {
		t.Fatalf("pooled capacity %+v, want feasible and above the lone replica's %.3f req/s", c, lone.RatePerSec)
	}
	att := map[float64]float64{}
	for _, f := range []float64{0.5, 1, 2} {
		reqs := poisson(rand.New(rand.NewPCG(2, 2)), pool*c.RatePerSec*f, mix, 30*time.Minute)
		s := sim.SLO{TTFT: 10 * time.Second, ITL: 50 * time.Millisecond}
		a, err := sim.Attainment(sim.NewVariant("v", p), pool, reqs, s)
		if err != nil {
			t.Fatal(err)
		}
		best, err := sim.BestAttainment(sim.NewVariant("v", p), reqs, s)
		if err != nil {
			t.Fatal(err)
		}
		att[f] = 1 - (1-a)/best
	}
	t.Logf("lone mu %.3f req/s (%s), pooled mu %.3f req/s (%s); pool feasible attainment x0.5 %.4f, x1 %.4f, x2 %.4f",
		lone.RatePerSec, lone.Bound, c.RatePerSec, c.Bound, att[0.5], att[1], att[2])
	if att[0.5] < slo.Attainment-0.02 {
		t.Errorf("pool attainment %.4f at 0.5 mu, want >= %.2f: the pool term is optimistic", att[0.5], slo.Attainment-0.02)
	}
	if att[2] >= slo.Attainment {
		t.Errorf("pool attainment %.4f at 2 mu: the pool term is too conservative", att[2])
	}
	// Chat traffic is bound by its batch, not by stalls: the pool must not change it much.
	chat := queueing.Mix{PromptTokens: 1155, OutputTokens: 211, PromptCV: 1, OutputCV: 1}
	chatSLO := queueing.SLO{TTFTMs: 2000, ITLMs: 50, Attainment: 0.99}
	l1, l6 := lim, lim
	l1.Replicas = 1
	a, b := queueing.MaxRate(pp, chat, l1, chatSLO).RatePerSec, queueing.MaxRate(pp, chat, l6, chatSLO).RatePerSec
	t.Logf("chat: lone %.3f req/s, pooled %.3f req/s", a, b)
	if !(a > 0) || b > 1.3*a || b < a {
		t.Errorf("chat capacity lone %.3f, pooled %.3f: want the pool within [1, 1.3] of the lone replica", a, b)
	}
}
