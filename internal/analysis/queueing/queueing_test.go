package queueing

import (
	"math"
	"testing"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/perfmodel"
)

var (
	a100  = perfmodel.Params{AlphaMs: 13.3, BetaMs: 0.146, GammaMs: 13.3, DeltaMs: 0.086}
	chat  = Mix{PromptTokens: 1155, OutputTokens: 211, PromptCV: 1, OutputCV: 1}
	lim   = Limits{MaxBatch: 256, KVTokens: 157040, MaxBatchedTokens: 2048}
	slo   = SLO{TTFTMs: 2000, ITLMs: 50, Attainment: 0.95}
	fixed = Mix{PromptTokens: 100, OutputTokens: 11}
)

func TestPredictClosedForms(t *testing.T) {
	// Fixed lengths, no limits: at rate λ (req/ms), ρ = λ(γ + δI), n = λ·D·α/(1 − ρ − λ·D·β),
	// step = (α + β·n)/(1 − ρ).
	p := perfmodel.Params{AlphaMs: 10, BetaMs: 0.5, GammaMs: 5, DeltaMs: 0.05}
	lambda := 0.01 // 10 req/s
	rho := lambda * (5 + 0.05*100)
	n := lambda * 10 * 10 / (1 - rho - lambda*10*0.5)
	step := (10 + 0.5*n) / (1 - rho)
	pr := Predict(p, fixed, Limits{}, SLO{}, 10)
	if !pr.Stable {
		t.Fatalf("unstable: %+v", pr)
	}
	for name, c := range map[string][2]float64{"share": {pr.PrefillShare, rho}, "batch": {pr.Batch, n}, "step": {pr.StepMs, step}} {
		if math.Abs(c[0]-c[1]) > 1e-9*c[1] {
			t.Errorf("%s = %.12g, want %.12g", name, c[0], c[1])
		}
	}
	// Zero load: a lone request decodes alone (α + β) and its TTFT is one step to the boundary
	// plus its prefill step (γ + δI + α, the model's pessimistic decode share).
	z := Predict(p, fixed, Limits{}, SLO{}, 0)
	if math.Abs(z.ITLMs-10.5) > 1e-9 || math.Abs(z.TTFTMs-(10+10+5+5)) > 1e-9 || z.WaitMs != 0 {
		t.Errorf("zero load: ITL %g TTFT %g wait %g, want 10.5, 30, 0", z.ITLMs, z.TTFTMs, z.WaitMs)
	}
	// Compute saturation: 1 − ρ − λ·D·β <= 0 at λ = 1/(10 + 5) req/ms.
	if pr := Predict(p, fixed, Limits{}, SLO{}, 1000.0/15*1.0001); pr.Stable || !math.IsInf(pr.ITLMs, 1) {
		t.Errorf("beyond saturation: %+v, want unstable", pr)
	}
}

func TestErlangC(t *testing.T) {
	for _, tc := range []struct{ c, a, want float64 }{
		{1, 0.5, 0.5},        // M/M/1: ρ
		{2, 1, 1.0 / 3},      // textbook
		{10, 8, 0.409},       // tables: 0.4092
		{100, 50, 0},         // Halfin–Whitt cut-off
		{256, 250, 0.607596}, // recursion, large c (exact sum in log space: 0.6075963)
	} {
		if got := erlangC(tc.c, tc.a); math.Abs(got-tc.want) > 1e-3 {
			t.Errorf("erlangC(%g, %g) = %.6f, want %.6f", tc.c, tc.a, got, tc.want)
		}
	}
}

func TestMaxRateMonotone(t *testing.T) {
	base := MaxRate(a100, chat, lim, slo)
	if !base.Feasible || !(base.RatePerSec > 1 && base.RatePerSec < 20) {
		t.Fatalf("base: %+v", base)
	}
	// At the returned rate the targets hold; just above, one does not.
	if base.At.ITLMs > slo.ITLMs || base.At.TTFTMs > slo.TTFTMs {
		t.Errorf("at capacity: %+v exceeds %+v", base.At, slo)
	}
	above := Predict(a100, chat, lim, slo, base.RatePerSec*1.001)
	if above.Stable && above.ITLMs <= slo.ITLMs && above.TTFTMs <= slo.TTFTMs {
		t.Errorf("0.1 %% above capacity still meets the SLO: %+v", above)
	}
	more := func(name string, looser, tighter Capacity) {
		t.Helper()
		if !(looser.RatePerSec >= tighter.RatePerSec) {
			t.Errorf("%s: %.4g < %.4g", name, looser.RatePerSec, tighter.RatePerSec)
		}
	}
	slower := func(f func(*perfmodel.Params)) perfmodel.Params { p := a100; f(&p); return p }
	more("looser ITL", MaxRate(a100, chat, lim, SLO{TTFTMs: 2000, ITLMs: 60, Attainment: 0.95}), base)
	more("tighter ITL", base, MaxRate(a100, chat, lim, SLO{TTFTMs: 2000, ITLMs: 40, Attainment: 0.95}))
	more("tighter TTFT", base, MaxRate(a100, chat, lim, SLO{TTFTMs: 300, ITLMs: 50, Attainment: 0.95}))
	more("higher attainment", base, MaxRate(a100, chat, lim, SLO{TTFTMs: 2000, ITLMs: 50, Attainment: 0.99}))
	more("larger alpha", base, MaxRate(slower(func(p *perfmodel.Params) { p.AlphaMs *= 1.2 }), chat, lim, slo))
	more("larger beta", base, MaxRate(slower(func(p *perfmodel.Params) { p.BetaMs *= 1.5 }), chat, lim, slo))
	more("larger delta", base, MaxRate(slower(func(p *perfmodel.Params) { p.DeltaMs *= 1.5 }), chat, lim, slo))
	more("kv term", base, MaxRate(slower(func(p *perfmodel.Params) { p.EpsilonMs = 1e-5 }), chat, lim, slo))
	more("superlinear prefill", base, MaxRate(slower(func(p *perfmodel.Params) { p.ZetaMs = 1e-5 }), chat, lim, slo))
	more("smaller KV cache", base, MaxRate(a100, chat, Limits{MaxBatch: 256, KVTokens: 20000, MaxBatchedTokens: 2048}, slo))
	more("no ITL target", MaxRate(a100, chat, lim, SLO{TTFTMs: 2000}), base)
}

func TestMaxRateInfeasible(t *testing.T) {
	for name, tc := range map[string]struct {
		p     perfmodel.Params
		m     Mix
		l     Limits
		s     SLO
		bound Bound
	}{
		"alpha above the ITL target": {p: a100, m: chat, l: lim, s: SLO{ITLMs: 10}, bound: BoundITL},
		"prefill above the TTFT":     {p: a100, m: Mix{PromptTokens: 30000, OutputTokens: 10}, l: Limits{}, s: SLO{TTFTMs: 1000}, bound: BoundTTFT},
		"request beyond the KV":      {p: a100, m: Mix{PromptTokens: 200000, OutputTokens: 10}, l: lim, s: slo, bound: BoundSlots},
		"NaN alpha":                  {p: perfmodel.Params{AlphaMs: math.NaN()}, m: chat, l: lim, s: slo, bound: BoundInput},
		"no decode time":             {p: perfmodel.Params{}, m: chat, l: lim, s: slo, bound: BoundInput},
		"zero output":                {p: a100, m: Mix{PromptTokens: 10}, l: lim, s: slo, bound: BoundInput},
		"attainment 1":               {p: a100, m: chat, l: lim, s: SLO{ITLMs: 50, Attainment: 1}, bound: BoundInput},
		"negative target":            {p: a100, m: chat, l: lim, s: SLO{ITLMs: -5}, bound: BoundInput},
	} {
		t.Run(name, func(t *testing.T) {
			c := MaxRate(tc.p, tc.m, tc.l, tc.s)
			if c.Feasible || c.RatePerSec != 0 || c.Bound != tc.bound || c.Reason == "" {
				t.Errorf("MaxRate = %+v, want infeasible, bound %s", c, tc.bound)
			}
		})
	}
}

func TestMaxRateSlotBound(t *testing.T) {
	// A tiny batch limit binds before compute: max 4 sequences of 10 output tokens.
	c := MaxRate(perfmodel.Params{AlphaMs: 1, BetaMs: 0.01}, Mix{PromptTokens: 10, OutputTokens: 10}, Limits{MaxBatch: 4}, SLO{})
	if !c.Feasible || c.Bound != BoundSlots || c.At.Occupancy >= 1 {
		t.Errorf("MaxRate = %+v, want bound Slots", c)
	}
}

func TestPrefillShare(t *testing.T) {
	if got := PrefillShare(a100, chat, lim, 2); !(got > 0.2 && got < 0.3) {
		t.Errorf("PrefillShare at 2 req/s = %g, want about 2 × (13.3 + 0.086·1155) / 1000 = 0.225", got)
	}
	if got := PrefillShare(a100, chat, lim, 1e9); got != 0 {
		t.Errorf("PrefillShare beyond saturation = %g, want 0", got)
	}
}

// TestCachedPromptTokens: prompt tokens found in the prefix cache are not prefilled again, so a
// cached share raises the rate; but they are still held in the KV cache, decoded against and
// attended to by the new tokens, so the rate stays below that of a prompt as short as its new
// tokens alone (what treating the cached tokens as absent would predict).
func TestCachedPromptTokens(t *testing.T) {
	long := Mix{PromptTokens: 15000, OutputTokens: 150, PromptCV: 1, OutputCV: 1}
	cached := long
	cached.CachedShare = 0.6
	short := long
	short.PromptTokens = long.PromptTokens * (1 - cached.CachedShare)
	s := SLO{TTFTMs: 10000, ITLMs: 50, Attainment: 0.99}
	l := Limits{MaxBatch: 1024, KVTokens: 444208, MaxBatchedTokens: 8192}
	// The simulator's H100 profile: decode time per KV token ε and attention time per pair ζ.
	h100 := perfmodel.Params{AlphaMs: 6.42, EpsilonMs: 5.2168e-5, GammaMs: 5.92, DeltaMs: 0.02706, ZetaMs: 8.8353e-7 / 2}
	none, part, absent := MaxRate(h100, long, l, s), MaxRate(h100, cached, l, s), MaxRate(h100, short, l, s)
	if !none.Feasible || !part.Feasible || !absent.Feasible {
		t.Fatalf("infeasible: %+v / %+v / %+v", none, part, absent)
	}
	if !(none.RatePerSec < part.RatePerSec && part.RatePerSec < absent.RatePerSec) {
		t.Errorf("rates uncached %.3g, 60 %% cached %.3g, short prompt %.3g req/s: want strictly increasing", none.RatePerSec, part.RatePerSec, absent.RatePerSec)
	}
	bad := long
	bad.CachedShare = 1
	if err := Validate(h100, bad, l, s); err == nil {
		t.Errorf("cached share 1 accepted")
	}
}

// TestWorkMs checks the work unit against its closed form and that it is linear: a request of a
// longer prompt or output costs more, in proportion to the added tokens.
func TestWorkMs(t *testing.T) {
	p := perfmodel.Params{AlphaMs: 10, BetaMs: 0.5, EpsilonMs: 0.001, GammaMs: 5, DeltaMs: 0.05}
	m := Mix{PromptTokens: 1000, OutputTokens: 101}
	kv := 1000 + 101.0/2
	want := 5 + 0.05*1000 + 100*(0.5+0.001*kv)
	if got := WorkMs(p, m); math.Abs(got-want) > 1e-9 {
		t.Errorf("WorkMs = %g, want %g", got, want)
	}
	// Cached tokens are not prefilled again.
	c := m
	c.CachedShare = 0.5
	if got, want := WorkMs(p, m)-WorkMs(p, c), 0.05*500.0; math.Abs(got-want) > 1e-9 {
		t.Errorf("a half-cached prompt saves %g ms, want %g", got, want)
	}
	// Linear in the prompt without ζ: the extra tokens cost δ each and the extra KV ε per step.
	l := m
	l.PromptTokens = 2000
	if got, want := WorkMs(p, l)-WorkMs(p, m), 0.05*1000+100*0.001*1000; math.Abs(got-want) > 1e-9 {
		t.Errorf("1,000 more prompt tokens cost %g ms, want %g", got, want)
	}
	if got := WorkMs(p, Mix{PromptTokens: 10, OutputTokens: 0}); got != 0 {
		t.Errorf("invalid mix: WorkMs = %g, want 0", got)
	}
}

// TestOutputCDF: the measured output-length distribution replaces the lognormal in the ITL
// chunk-miss share. At the Mooncake trace's mix (15,000-token prompts, 149 output tokens on
// average) on the H100 profile, the trace's own distribution, a quarter of its requests within 10
// tokens, cuts the ITL-bound rate well below what the lognormal of the same mean allows; a CDF
// drawn from that lognormal gives about the lognormal's rate; an invalid CDF is not used.
func TestOutputCDF(t *testing.T) {
	h100 := perfmodel.Params{AlphaMs: 6.4, GammaMs: 5.92, DeltaMs: 0.02706, ZetaMs: 8.8e-7}
	l := Limits{MaxBatch: 1024, KVTokens: 444208, MaxBatchedTokens: 8192, Replicas: 4}
	slo := SLO{TTFTMs: 10000, ITLMs: 50, Attainment: 0.99}
	base := Mix{PromptTokens: 15000, OutputTokens: 149, PromptCV: 1, OutputCV: 1}
	rate := func(m Mix) float64 {
		t.Helper()
		c := MaxRate(h100, m, l, slo)
		if !c.Feasible {
			t.Fatalf("MaxRate(%+v) infeasible: %s", m, c.Reason)
		}
		return c.RatePerSec
	}
	lognormal := rate(base)

	trace := base // the bundled Mooncake trace's output lengths at 1, 2, 5, ... 1000 tokens
	copy(trace.OutputCDF[:], []float64{0.001, 0.0591, 0.1483, 0.2494, 0.3391, 0.4548, 0.5632, 0.686, 0.9447, 1, 1, 1, 1, 1, 1, 1})
	if got := rate(trace); !(got < 0.6*lognormal) {
		t.Errorf("with the trace's short outputs %.3f req/s, want under 60 %% of the lognormal's %.3f", got, lognormal)
	}

	drawn := base // the lognormal of mean 149 and CV 1 at the bounds
	s2 := math.Log(2)
	mu := math.Log(149) - s2/2
	for i, b := range OutputBounds {
		drawn.OutputCDF[i] = 0.5 * math.Erfc(-(math.Log(b)-mu)/math.Sqrt(2*s2))
	}
	if got := rate(drawn); math.Abs(got-lognormal) > 0.15*lognormal {
		t.Errorf("with the lognormal's own CDF %.3f req/s, want within 15 %% of %.3f", got, lognormal)
	}

	for name, cdf := range map[string][]float64{
		"decreasing": {0.5, 0.4, 1},
		"above 1":    {0.5, 1.5},
		"NaN":        {math.NaN(), 1},
		"all zero":   {},
	} {
		bad := base
		copy(bad.OutputCDF[:], cdf)
		if got := rate(bad); got != lognormal {
			t.Errorf("%s CDF: %.4f req/s, want the lognormal's %.4f (not used)", name, got, lognormal)
		}
	}
}
