package perfmodel

import (
	"errors"
	"fmt"
)

// Config tunes the Estimator. The zero value selects every default.
type Config struct {
	// Forgetting is the weight kept by the past at each sample, in [0.5, 1]; 1 never forgets.
	// The memory is about 1/(1 − Forgetting) samples. Default 0.98 (50 samples).
	Forgetting float64
	// PriorRelStd is the prior's standard deviation relative to each prior value (with an
	// absolute floor per parameter, so a prior of 0 can still move). Default 1.
	PriorRelStd float64
	// OutlierK rejects a sample whose innovation exceeds OutlierK standard deviations. Default 5.
	OutlierK float64
	// HuberK down-weights a sample whose innovation exceeds HuberK standard deviations.
	// Default 2.
	HuberK float64
	// ChangeRun is the number of consecutive rejected samples read as a change of the replica,
	// which reopens the covariance. Default 6.
	ChangeRun int
	// ErrorWindow is the number of samples the prediction error and outlier rate average over.
	// Default 50.
	ErrorWindow int
	// FitKV fits ε (decode time per KV token) even when the prior's ε is 0.
	FitKV bool
	// FitSuperlinear fits ζ (prefill time per squared prompt token) even when the prior's ζ is 0.
	FitSuperlinear bool
}

// Defaults of Config.
const (
	DefaultForgetting  = 0.98
	DefaultPriorRelStd = 1.0
	DefaultOutlierK    = 5.0
	DefaultHuberK      = 2.0
	DefaultChangeRun   = 6
	DefaultErrorWindow = 50
)

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Forgetting == 0 {
		c.Forgetting = DefaultForgetting
	}
	if c.PriorRelStd == 0 {
		c.PriorRelStd = DefaultPriorRelStd
	}
	if c.OutlierK == 0 {
		c.OutlierK = DefaultOutlierK
	}
	if c.HuberK == 0 {
		c.HuberK = DefaultHuberK
	}
	if c.ChangeRun == 0 {
		c.ChangeRun = DefaultChangeRun
	}
	if c.ErrorWindow == 0 {
		c.ErrorWindow = DefaultErrorWindow
	}
	return c
}

// Validate reports every field of c (after defaults) outside its range.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if !(c.Forgetting >= 0.5 && c.Forgetting <= 1) {
		errs = append(errs, fmt.Errorf("forgetting must be in [0.5, 1], got %g", c.Forgetting))
	}
	if !(c.PriorRelStd > 0 && c.PriorRelStd <= 100) {
		errs = append(errs, fmt.Errorf("prior relative std must be in (0, 100], got %g", c.PriorRelStd))
	}
	if !(c.HuberK >= 0.5 && c.HuberK <= 100) {
		errs = append(errs, fmt.Errorf("huber k must be in [0.5, 100], got %g", c.HuberK))
	}
	if !(c.OutlierK >= c.HuberK && c.OutlierK <= 1000) {
		errs = append(errs, fmt.Errorf("outlier k must be in [huber k, 1000], got %g", c.OutlierK))
	}
	if c.ChangeRun < 1 || c.ChangeRun > 1000 {
		errs = append(errs, fmt.Errorf("change run must be in [1, 1000], got %d", c.ChangeRun))
	}
	if c.ErrorWindow < 1 || c.ErrorWindow > 1e6 {
		errs = append(errs, fmt.Errorf("error window must be in [1, 1000000], got %d", c.ErrorWindow))
	}
	return errors.Join(errs...)
}

// DecodeSample is one observation of decoding on a replica over a window: mean running batch,
// mean KV tokens held, and mean inter-token latency.
type DecodeSample struct {
	// Batch is the mean number of sequences decoding (vllm:num_requests_running), > 0.
	Batch float64
	// KVTokens is the mean number of KV tokens they hold (KV usage × capacity); 0 when unknown.
	KVTokens float64
	// ITLMs is the mean inter-token latency in milliseconds, > 0.
	ITLMs float64
	// PrefillShare is the share of the replica's time spent prefilling in the window, in
	// [0, 0.95] (prefill steps stall decoding, so ITL = decode step / (1 − share)); 0 when
	// unknown. queueing.PrefillShare computes it from the arrival rate and the prompt length.
	PrefillShare float64
}

// PrefillSample is one observation of prefill: mean prompt length and mean prefill time (TTFT
// less queue time less the decode step the prefill shared, in milliseconds).
type PrefillSample struct {
	// PromptTokens is the mean prompt length, > 0.
	PromptTokens float64
	// PrefillMs is the mean prefill time in milliseconds, > 0.
	PrefillMs float64
	// PromptSquare is the mean squared prompt length, the regressor of ζ; 0 means
	// PromptTokens². A window's mean prompt hides the spread of its prompts, and the attention
	// work grows with the mean of the squares, not the square of the mean.
	PromptSquare float64
}

// Input ranges of samples; a sample outside them is ignored.
const (
	maxSampleBatch  = 1e6
	maxSampleKV     = 1e12
	maxSampleMs     = 1e7
	maxSamplePrompt = 1e7
	maxPrefillShare = 0.95
)

// Feature scales: KV tokens in thousands, prompt tokens in thousands.
var (
	decodeScale  = [dim]float64{1, 1, 1e-3}
	prefillScale = [dim]float64{1, 1e-3, 1e-6}
	// Absolute floors of the prior standard deviation, physical units.
	decodeStdFloor  = [dim]float64{5, 0.1, 1e-4}
	prefillStdFloor = [dim]float64{5, 0.05, 2e-6}
)

// Estimator fits Params online. It is a plain value; the zero value is not usable, build one
// with NewEstimator.
type Estimator struct {
	// Config is the estimator's configuration with defaults applied.
	Config Config
	// Decode fits α, β, ε; Prefill fits γ, δ, ζ.
	Decode, Prefill Filter
}

// NewEstimator returns an estimator starting at prior (the VariantAutoscaling's perfParms or a
// per-accelerator default).
func NewEstimator(prior Params, cfg Config) (Estimator, error) {
	if err := cfg.Validate(); err != nil {
		return Estimator{}, fmt.Errorf("estimator config: %w", err)
	}
	if err := prior.validateRanges(); err != nil {
		return Estimator{}, fmt.Errorf("prior parameters: %w", err)
	}
	cfg = cfg.WithDefaults()
	std := func(v [dim]float64, floor [dim]float64) [dim]float64 {
		var s [dim]float64
		for j := range dim {
			s[j] = max(cfg.PriorRelStd*v[j], floor[j])
		}
		return s
	}
	scaled := func(v, scale [dim]float64) [dim]float64 {
		var s [dim]float64
		for j := range dim {
			s[j] = v[j] / scale[j]
		}
		return s
	}
	dv := [dim]float64{prior.AlphaMs, prior.BetaMs, prior.EpsilonMs}
	pv := [dim]float64{prior.GammaMs, prior.DeltaMs, prior.ZetaMs}
	dHi := [dim]float64{MaxAlphaMs, MaxBetaMs, MaxEpsilonMs}
	pHi := [dim]float64{MaxGammaMs, MaxDeltaMs, MaxZetaMs}
	return Estimator{
		Config: cfg,
		Decode: newFilter(dv, scaled(std(dv, decodeStdFloor), decodeScale), scaled(dHi, decodeScale), decodeScale,
			[dim]bool{true, true, cfg.FitKV || prior.EpsilonMs > 0}),
		Prefill: newFilter(pv, scaled(std(pv, prefillStdFloor), prefillScale), scaled(pHi, prefillScale), prefillScale,
			[dim]bool{true, true, cfg.FitSuperlinear || prior.ZetaMs > 0}),
	}, nil
}

// ObserveDecode updates α, β (and ε) with one decode sample.
func (e *Estimator) ObserveDecode(s DecodeSample) Outcome {
	if !finite(s.Batch, s.KVTokens, s.ITLMs, s.PrefillShare) ||
		!(s.Batch > 0 && s.Batch <= maxSampleBatch) || !(s.KVTokens >= 0 && s.KVTokens <= maxSampleKV) ||
		!(s.ITLMs > 0 && s.ITLMs <= maxSampleMs) || !(s.PrefillShare >= 0 && s.PrefillShare <= maxPrefillShare) {
		e.Decode.IgnoredSamples++
		return Ignored
	}
	h := [dim]float64{1, s.Batch, s.KVTokens * decodeScale[2]}
	return e.Decode.observe(h, s.ITLMs*(1-s.PrefillShare), e.Config)
}

// ObservePrefill updates γ, δ (and ζ) with one prefill sample.
func (e *Estimator) ObservePrefill(s PrefillSample) Outcome {
	if !finite(s.PromptTokens, s.PrefillMs, s.PromptSquare) || !(s.PromptTokens > 0 && s.PromptTokens <= maxSamplePrompt) ||
		!(s.PrefillMs > 0 && s.PrefillMs <= maxSampleMs) || !(s.PromptSquare >= 0 && s.PromptSquare <= maxSamplePrompt*maxSamplePrompt) {
		e.Prefill.IgnoredSamples++
		return Ignored
	}
	p := s.PromptTokens * prefillScale[1]
	sq := p * p
	if s.PromptSquare > 0 {
		sq = s.PromptSquare * prefillScale[1] * prefillScale[1]
	}
	h := [dim]float64{1, p, sq}
	return e.Prefill.observe(h, s.PrefillMs, e.Config)
}

// Params returns the current estimate, always within [0, max] per parameter.
func (e Estimator) Params() Params {
	return Params{
		AlphaMs: e.Decode.value(0), BetaMs: e.Decode.value(1), EpsilonMs: e.Decode.value(2),
		GammaMs: e.Prefill.value(0), DeltaMs: e.Prefill.value(1), ZetaMs: e.Prefill.value(2),
	}.Clamp()
}

// Quality is what a user needs to judge whether to trust the fitted model.
type Quality struct {
	// DecodeMAPE and PrefillMAPE are the mean absolute relative errors of the one-step-ahead
	// predictions over about the last ErrorWindow samples (each sample capped at 1, so 0.05 is
	// 5 %); 0 before the first sample.
	DecodeMAPE, PrefillMAPE float64
	// DecodeOutlierRate and PrefillOutlierRate are the shares of recent samples rejected as
	// outliers.
	DecodeOutlierRate, PrefillOutlierRate float64
	// DecodeSamples and PrefillSamples count the valid samples seen.
	DecodeSamples, PrefillSamples int64
	// Std is the standard deviation of each parameter (0 for parameters not fitted).
	Std Params
}

// Quality returns the estimator's prediction error and parameter uncertainty.
func (e Estimator) Quality() Quality {
	return Quality{
		DecodeMAPE: e.Decode.MAPE, PrefillMAPE: e.Prefill.MAPE,
		DecodeOutlierRate: e.Decode.OutlierRate, PrefillOutlierRate: e.Prefill.OutlierRate,
		DecodeSamples: e.Decode.Samples, PrefillSamples: e.Prefill.Samples,
		Std: Params{
			AlphaMs: e.Decode.std(0), BetaMs: e.Decode.std(1), EpsilonMs: e.Decode.std(2),
			GammaMs: e.Prefill.std(0), DeltaMs: e.Prefill.std(1), ZetaMs: e.Prefill.std(2),
		},
	}
}
