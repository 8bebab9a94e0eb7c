package perfmodel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// a100 is the simulator's A100-40GB profile.
var a100 = Params{AlphaMs: 13.3, BetaMs: 0.146, GammaMs: 13.3, DeltaMs: 0.086}

// noisy returns y with relative Gaussian noise sd, and with probability pOut a gross outlier
// (the value times 3..10, or divided by 3..10).
func noisy(rng *rand.Rand, y, sd, pOut float64) float64 {
	if rng.Float64() < pOut {
		f := 3 + 7*rng.Float64()
		if rng.IntN(2) == 0 {
			return y * f
		}
		return y / f
	}
	return y * (1 + sd*rng.NormFloat64())
}

func within(t *testing.T, name string, got, want, rel float64) {
	t.Helper()
	if math.Abs(got-want) > rel*math.Abs(want) {
		t.Errorf("%s = %.6g, want %.6g within %.0f%%", name, got, want, rel*100)
	}
}

// feed gives the estimator n decode and n prefill samples of truth, with 5 % noise and pOut
// outliers.
func feed(rng *rand.Rand, e *Estimator, truth Params, n int, pOut float64) {
	for range n {
		batch := 1 + 255*rng.Float64()
		kv := batch * (200 + 2800*rng.Float64())
		e.ObserveDecode(DecodeSample{Batch: batch, KVTokens: kv, ITLMs: noisy(rng, truth.DecodeStepMs(batch, kv), 0.05, pOut)})
		prompt := 20 + 4000*rng.Float64()
		e.ObservePrefill(PrefillSample{PromptTokens: prompt, PrefillMs: noisy(rng, truth.PrefillMs(prompt), 0.05, pOut)})
	}
}

func TestEstimatorConvergesFromWrongPrior(t *testing.T) {
	wrong := Params{AlphaMs: 40, BetaMs: 0.5, GammaMs: 60, DeltaMs: 0.02}
	for name, tc := range map[string]struct {
		truth Params
		cfg   Config
		prior Params
	}{
		"linear":            {truth: a100, prior: wrong},
		"zero prior":        {truth: a100, prior: Params{}},
		"kv term":           {truth: Params{AlphaMs: 6.5, BetaMs: 0.02, EpsilonMs: 4e-5, GammaMs: 6.5, DeltaMs: 0.027}, prior: wrong, cfg: Config{FitKV: true, Forgetting: 0.995}}, // three correlated regressors need a longer memory
		"superlinear":       {truth: Params{AlphaMs: 13.3, BetaMs: 0.146, GammaMs: 13.3, DeltaMs: 0.06, ZetaMs: 1e-5}, prior: wrong, cfg: Config{FitSuperlinear: true}},
		"slower forgetting": {truth: a100, prior: wrong, cfg: Config{Forgetting: 0.995}},
	} {
		for seed := range uint64(5) {
			t.Run(fmt.Sprintf("%s/seed=%d", name, seed), func(t *testing.T) {
				e, err := NewEstimator(tc.prior, tc.cfg)
				if err != nil {
					t.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(seed, 2))
				feed(rng, &e, tc.truth, 3000, 0.05)
				got := e.Params()
				within(t, "alpha", got.AlphaMs, tc.truth.AlphaMs, 0.05)
				within(t, "beta", got.BetaMs, tc.truth.BetaMs, 0.05)
				within(t, "gamma", got.GammaMs, tc.truth.GammaMs, 0.10)
				within(t, "delta", got.DeltaMs, tc.truth.DeltaMs, 0.05)
				if tc.truth.EpsilonMs > 0 {
					within(t, "epsilon", got.EpsilonMs, tc.truth.EpsilonMs, 0.10)
				}
				if tc.truth.ZetaMs > 0 {
					within(t, "zeta", got.ZetaMs, tc.truth.ZetaMs, 0.10)
				}
				q := e.Quality()
				// 5 % Gaussian noise has a mean absolute error of 4 %; 5 % outliers add at most 5 %.
				if q.DecodeMAPE > 0.12 || q.PrefillMAPE > 0.12 {
					t.Errorf("MAPE decode %.3f prefill %.3f, want <= 0.12", q.DecodeMAPE, q.PrefillMAPE)
				}
				if q.DecodeOutlierRate > 0.15 {
					t.Errorf("decode outlier rate %.3f over the last samples, want about 0.05", q.DecodeOutlierRate)
				}
				if r := float64(e.Decode.Rejected) / float64(e.Decode.Samples); r < 0.04 || r > 0.06 {
					t.Errorf("rejected %.3f of the decode samples, want the 5 %% outliers", r)
				}
				if q.Std.AlphaMs <= 0 || q.Std.AlphaMs > 2 {
					t.Errorf("alpha std %.3g, want in (0, 2]", q.Std.AlphaMs)
				}
			})
		}
	}
}

func TestEstimatorWithoutOutlierHandlingIsWorse(t *testing.T) {
	// Guard that the robust parts matter: with outlier rejection and Huber weighting turned
	// (nearly) off, the same data pull alpha far off.
	run := func(cfg Config) Params {
		e, err := NewEstimator(Params{AlphaMs: 40, BetaMs: 0.5, GammaMs: 60, DeltaMs: 0.02}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		feed(rand.New(rand.NewPCG(1, 2)), &e, a100, 3000, 0.05)
		return e.Params()
	}
	robust := run(Config{})
	naive := run(Config{HuberK: 100, OutlierK: 1000})
	errOf := func(p Params) float64 { return math.Abs(p.AlphaMs-a100.AlphaMs) / a100.AlphaMs }
	if !(errOf(naive) > 3*errOf(robust)) {
		t.Errorf("alpha error: robust %.3f, naive %.3f; want the naive error more than 3x", errOf(robust), errOf(naive))
	}
}

func TestEstimatorTracksChange(t *testing.T) {
	e, err := NewEstimator(a100, Config{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	feed(rng, &e, a100, 1000, 0.05)
	// The replica changes (say, a new vLLM version): everything 60 % slower.
	slower := Params{AlphaMs: 21.3, BetaMs: 0.234, GammaMs: 21.3, DeltaMs: 0.138}
	feed(rng, &e, slower, 300, 0.05)
	got := e.Params()
	within(t, "alpha", got.AlphaMs, slower.AlphaMs, 0.05)
	within(t, "beta", got.BetaMs, slower.BetaMs, 0.05)
	within(t, "delta", got.DeltaMs, slower.DeltaMs, 0.05)
}

func TestEstimatorStepChangeReopens(t *testing.T) {
	// Once converged, a 3x jump is far beyond OutlierK: the first samples are rejected, then
	// the run of outliers reopens the covariance.
	e, err := NewEstimator(a100, Config{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	feed(rng, &e, a100, 500, 0)
	three := Params{AlphaMs: 3 * a100.AlphaMs, BetaMs: 3 * a100.BetaMs, GammaMs: a100.GammaMs, DeltaMs: a100.DeltaMs}
	var outcomes []Outcome
	for range 200 {
		b := 1 + 200*rng.Float64()
		outcomes = append(outcomes, e.ObserveDecode(DecodeSample{Batch: b, ITLMs: noisy(rng, three.DecodeStepMs(b, 0), 0.05, 0)}))
	}
	if outcomes[0] != Rejected {
		t.Errorf("first sample after the jump: %v, want Rejected", outcomes[0])
	}
	reopened := false
	for _, o := range outcomes[:DefaultChangeRun] {
		reopened = reopened || o == Reopened
	}
	if !reopened {
		t.Errorf("outcomes %v: want Reopened within the first %d", outcomes[:DefaultChangeRun], DefaultChangeRun)
	}
	within(t, "alpha", e.Params().AlphaMs, three.AlphaMs, 0.05)
	within(t, "beta", e.Params().BetaMs, three.BetaMs, 0.05)
}

func TestEstimatorIgnoresInvalidSamples(t *testing.T) {
	e, err := NewEstimator(a100, Config{})
	if err != nil {
		t.Fatal(err)
	}
	before := e
	for _, s := range []DecodeSample{
		{Batch: math.NaN(), ITLMs: 10},
		{Batch: 10, ITLMs: math.Inf(1)},
		{Batch: 10, ITLMs: -1},
		{Batch: 0, ITLMs: 10},
		{Batch: 10, ITLMs: 10, KVTokens: -5},
		{Batch: 10, ITLMs: 10, PrefillShare: 1},
		{Batch: 1e9, ITLMs: 10},
	} {
		if o := e.ObserveDecode(s); o != Ignored {
			t.Errorf("ObserveDecode(%+v) = %v, want Ignored", s, o)
		}
	}
	for _, s := range []PrefillSample{{PromptTokens: math.NaN(), PrefillMs: 1}, {PromptTokens: 10, PrefillMs: 0}, {PromptTokens: -1, PrefillMs: 3}} {
		if o := e.ObservePrefill(s); o != Ignored {
			t.Errorf("ObservePrefill(%+v) = %v, want Ignored", s, o)
		}
	}
	if e.Params() != before.Params() || e.Decode.Samples != 0 || e.Decode.IgnoredSamples != 7 || e.Prefill.IgnoredSamples != 3 {
		t.Errorf("invalid samples changed the estimate: %+v, %+v", e.Params(), e.Decode)
	}
}

func TestEstimatorIsAValue(t *testing.T) {
	e, err := NewEstimator(a100, Config{})
	if err != nil {
		t.Fatal(err)
	}
	snap := e
	e.ObserveDecode(DecodeSample{Batch: 10, ITLMs: 30})
	if snap.Params() != a100.Clamp() || snap.Decode.Samples != 0 {
		t.Errorf("the copy changed with the original")
	}
}

func TestNewEstimatorRejectsBadInput(t *testing.T) {
	for name, tc := range map[string]struct {
		p   Params
		cfg Config
	}{
		"NaN alpha":        {p: Params{AlphaMs: math.NaN()}},
		"negative delta":   {p: Params{AlphaMs: 1, DeltaMs: -1}},
		"huge beta":        {p: Params{BetaMs: 1e9}},
		"forgetting 0.1":   {p: a100, cfg: Config{Forgetting: 0.1}},
		"forgetting 1.5":   {p: a100, cfg: Config{Forgetting: 1.5}},
		"outlier < huber":  {p: a100, cfg: Config{HuberK: 3, OutlierK: 2}},
		"negative std":     {p: a100, cfg: Config{PriorRelStd: -1}},
		"negative window":  {p: a100, cfg: Config{ErrorWindow: -1}},
		"NaN prior stddev": {p: a100, cfg: Config{PriorRelStd: math.NaN()}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewEstimator(tc.p, tc.cfg); err == nil {
				t.Error("want an error")
			}
		})
	}
}

func TestParams(t *testing.T) {
	p := Params{AlphaMs: 1, BetaMs: 0.01, EpsilonMs: 1e-4, GammaMs: 10, DeltaMs: 0.001, ZetaMs: 1e-6}
	if got := p.DecodeStepMs(8, 1000); math.Abs(got-(1+0.08+0.1)) > 1e-12 {
		t.Errorf("DecodeStepMs = %g", got)
	}
	if got := p.DecodeStepMs(0, 1000); got != 0 {
		t.Errorf("DecodeStepMs(0) = %g, want 0", got)
	}
	if got := p.PrefillMs(1000); math.Abs(got-(10+1+1)) > 1e-12 {
		t.Errorf("PrefillMs = %g", got)
	}
	if got := p.PrefillMs(0); got != 0 {
		t.Errorf("PrefillMs(0) = %g, want 0", got)
	}
	if err := (Params{}).Validate(); err == nil {
		t.Error("all-zero params: want an error (decoding takes no time)")
	}
	if err := a100.Validate(); err != nil {
		t.Error(err)
	}
	c := Params{AlphaMs: math.NaN(), BetaMs: -1, DeltaMs: math.Inf(1)}.Clamp()
	if c != (Params{DeltaMs: MaxDeltaMs}) {
		t.Errorf("Clamp = %+v", c)
	}
}

// TestEstimatorFitsZetaOnMeanSquares: window means of prompts that spread (each window's mean
// square is 1.5 to 3 times its squared mean) identify ζ only through the mean square: fed as
// PromptSquare it is fitted within 10 %; fed as the squared mean alone it is not.
func TestEstimatorFitsZetaOnMeanSquares(t *testing.T) {
	truth := Params{AlphaMs: 6, BetaMs: 0.07, GammaMs: 6, DeltaMs: 0.03, ZetaMs: 4e-7}
	fit := func(withSquare bool) Params {
		e, err := NewEstimator(Params{AlphaMs: 6, BetaMs: 0.07, GammaMs: 6, DeltaMs: 0.03}, Config{FitSuperlinear: true})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(7, 7))
		for range 2000 {
			mean := 1000 + 30000*rng.Float64()
			square := mean * mean * (1.5 + 1.5*rng.Float64())
			ms := truth.GammaMs + truth.DeltaMs*mean + truth.ZetaMs*square
			s := PrefillSample{PromptTokens: mean, PrefillMs: noisy(rng, ms, 0.05, 0)}
			if withSquare {
				s.PromptSquare = square
			}
			e.ObservePrefill(s)
		}
		return e.Params()
	}
	got := fit(true)
	within(t, "delta", got.DeltaMs, truth.DeltaMs, 0.10)
	within(t, "zeta", got.ZetaMs, truth.ZetaMs, 0.10)
	if plain := fit(false); math.Abs(plain.ZetaMs-truth.ZetaMs) < 0.3*truth.ZetaMs {
		t.Errorf("without PromptSquare zeta = %.3g, want it off the truth %.3g (the test would not tell the field's worth)", plain.ZetaMs, truth.ZetaMs)
	}
}

// TestEstimatorBoundDoesNotRatchet: a parameter the fit would push below 0 is held at its bound
// with the correlated parameters moved back with it. Clipping it alone kept their correlated
// move: on prefill times that grow less than linearly with the prompt (the latency of long
// prompts corrected for the prompts they share steps with), whose best fit has ζ < 0, each
// sample that drove ζ below 0 raised δ, and δ climbed to three times the data's slope while the
// error grew to 96 % and the noise estimate, not the parameters, absorbed it (the slo analyzer
// on the Mooncake trace, before the fix).
func TestEstimatorBoundDoesNotRatchet(t *testing.T) {
	e, err := NewEstimator(Params{AlphaMs: 6, GammaMs: 6.4, DeltaMs: 0.0276}, Config{FitSuperlinear: true})
	if err != nil {
		t.Fatal(err)
	}
	concave := func(p float64) float64 { return 6.4 + 0.04*p - 4e-7*p*p }
	rng := rand.New(rand.NewPCG(3, 9))
	for range 300 {
		mean := 5000 + 20000*rng.Float64()
		e.ObservePrefill(PrefillSample{PromptTokens: mean, PrefillMs: noisy(rng, concave(mean), 0.05, 0), PromptSquare: 2 * mean * mean})
	}
	got, q := e.Params(), e.Quality()
	// The best fit with ζ = 0 over [5,000, 25,000] has a slope of about 0.028 ms per token.
	if got.DeltaMs > 0.035 || got.DeltaMs < 0.02 {
		t.Errorf("delta = %.4g, want within [0.02, 0.035] (the data's slope, with zeta at its bound)", got.DeltaMs)
	}
	if q.PrefillMAPE > 0.15 {
		t.Errorf("prefill MAPE %.2f, want <= 0.15 on 5 %% noise and a slight curvature", q.PrefillMAPE)
	}
	for _, p := range []float64{5000, 15000, 25000} {
		within(t, fmt.Sprintf("prefill at %.0f tokens", p), got.PrefillMs(p), concave(p), 0.2)
	}
}
