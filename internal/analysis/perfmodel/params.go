package perfmodel

import (
	"errors"
	"fmt"
	"math"
)

// Params is the step-time model of one replica, in milliseconds.
//
//	decode step  = α + β·n + ε·K        n sequences decoding, K KV tokens they hold
//	prefill part = γ + δ·P + ζ·P²       P prompt tokens prefilled in the step (0 when P = 0)
//
// A step that both decodes and prefills takes the sum (vLLM's chunked prefill, as in the
// simulator).
type Params struct {
	// AlphaMs (α) is the fixed part of a decode step.
	AlphaMs float64 `json:"alphaMs"`
	// BetaMs (β) is the decode time per sequence in the batch.
	BetaMs float64 `json:"betaMs"`
	// EpsilonMs (ε) is the decode time per KV token held by the batch (attention reads); 0 when
	// the model has no KV term.
	EpsilonMs float64 `json:"epsilonMs,omitempty"`
	// GammaMs (γ) is the fixed part of a step that prefills.
	GammaMs float64 `json:"gammaMs"`
	// DeltaMs (δ) is the prefill time per prompt token.
	DeltaMs float64 `json:"deltaMs"`
	// ZetaMs (ζ) is the prefill time per squared prompt token of a step (attention over the
	// prompt); 0 when prefill is linear.
	ZetaMs float64 `json:"zetaMs,omitempty"`
}

// Upper bounds of the parameters: beyond them a replica would take more than a minute for
// a step of realistic size. The estimator never leaves [0, max].
const (
	MaxAlphaMs   = 6e4
	MaxBetaMs    = 1e3
	MaxEpsilonMs = 1
	MaxGammaMs   = 6e4
	MaxDeltaMs   = 100
	MaxZetaMs    = 1e-2
)

// DecodeStepMs is the duration of a step that decodes batch sequences holding kvTokens KV tokens
// (0 when batch <= 0).
func (p Params) DecodeStepMs(batch, kvTokens float64) float64 {
	if !(batch > 0) {
		return 0
	}
	return p.AlphaMs + p.BetaMs*batch + p.EpsilonMs*max(kvTokens, 0)
}

// PrefillMs is the extra duration of a step that prefills tokens prompt tokens (0 for none).
func (p Params) PrefillMs(tokens float64) float64 {
	if !(tokens > 0) {
		return 0
	}
	return p.GammaMs + p.DeltaMs*tokens + p.ZetaMs*tokens*tokens
}

// Validate reports every parameter that is not a finite number within [0, its maximum], and a
// model whose decode step takes no time.
func (p Params) Validate() error {
	if err := p.validateRanges(); err != nil {
		return err
	}
	if p.AlphaMs+p.BetaMs <= 0 {
		return errors.New("alpha + beta must be positive, or decoding takes no time")
	}
	return nil
}

// validateRanges reports every parameter that is not a finite number within [0, its maximum].
// An all-zero Params passes: it is a usable (if uninformative) prior.
func (p Params) validateRanges() error {
	var errs []error
	for _, f := range p.fields() {
		if !(f.v >= 0 && f.v <= f.hi) {
			errs = append(errs, fmt.Errorf("%s must be a finite number in [0, %g], got %g", f.name, f.hi, f.v))
		}
	}
	return errors.Join(errs...)
}

// Clamp returns p with every parameter moved into [0, its maximum]; NaN reads as 0.
func (p Params) Clamp() Params {
	c := func(v, hi float64) float64 {
		if !(v > 0) {
			return 0
		}
		return min(v, hi)
	}
	return Params{
		AlphaMs:   c(p.AlphaMs, MaxAlphaMs),
		BetaMs:    c(p.BetaMs, MaxBetaMs),
		EpsilonMs: c(p.EpsilonMs, MaxEpsilonMs),
		GammaMs:   c(p.GammaMs, MaxGammaMs),
		DeltaMs:   c(p.DeltaMs, MaxDeltaMs),
		ZetaMs:    c(p.ZetaMs, MaxZetaMs),
	}
}

type field struct {
	name  string
	v, hi float64
}

func (p Params) fields() []field {
	return []field{
		{"alpha", p.AlphaMs, MaxAlphaMs},
		{"beta", p.BetaMs, MaxBetaMs},
		{"epsilon", p.EpsilonMs, MaxEpsilonMs},
		{"gamma", p.GammaMs, MaxGammaMs},
		{"delta", p.DeltaMs, MaxDeltaMs},
		{"zeta", p.ZetaMs, MaxZetaMs},
	}
}

// finite reports whether every value is a finite number.
func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}
