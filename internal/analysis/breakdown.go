package analysis

import (
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/forecast"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/mix"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/perfmodel"
)

// SLOBreakdown is the slo analyzer's decision for one model, number by number, for `wva explain`:
// the demand, the forecast, the SLO feedback, each variant's per-replica capacity and the
// optimisation result. Only the slo analyzer fills it (Result.Breakdown), and only when it sized
// the model itself (not on a capacity fallback).
type SLOBreakdown struct {
	// ArrivalRate is the offered load read this cycle (req/s) and ArrivalSource where it came from.
	ArrivalRate   float64 `json:"arrivalRate"`
	ArrivalSource string  `json:"arrivalSource"`
	// Horizon is the forecast horizon (the longest start-up delay of the model's variants).
	Horizon time.Duration `json:"horizon"`
	// Level, Expected and Margin are the forecaster's smoothed rate, highest expected rate
	// within the horizon and burst margin; Planned is the rate provisioned for (at least the
	// arrival rate).
	Level    float64 `json:"level"`
	Expected float64 `json:"expected"`
	Margin   float64 `json:"margin"`
	Planned  float64 `json:"planned"`
	// Headroom is the SLO feedback multiplier (>= 1) and Feedback says how this cycle moved it.
	Headroom float64 `json:"headroom"`
	Feedback string  `json:"feedback"`
	// Needed is Planned × Headroom: the capacity the chosen fleet must sustain (req/s).
	Needed float64 `json:"needed"`
	// CurrentCapacity is what the current fleet sustains (req/s); ChosenCapacity and ChosenCost
	// what the chosen one sustains and costs; Feasible is false when no fleet within the bounds
	// covers Needed.
	CurrentCapacity float64 `json:"currentCapacity"`
	ChosenCapacity  float64 `json:"chosenCapacity"`
	ChosenCost      float64 `json:"chosenCost"`
	Feasible        bool    `json:"feasible"`
	// Verdict is the optimisation's outcome in words (scale-up, scale-down or no change and why).
	Verdict string `json:"verdict"`
	// Variants holds each variant's per-replica capacity and replicas, sorted by name.
	Variants []SLOVariantBreakdown `json:"variants"`
}

// SLOVariantBreakdown is one variant's part of an SLOBreakdown.
type SLOVariantBreakdown struct {
	Name string  `json:"name"`
	Cost float64 `json:"cost"`
	// CapacityPerReplica is the planned req/s of one replica (SLOSafety × the queueing model's
	// MaxRate at the SLO); 0 when the variant cannot be sized, and Bound then says why, else what
	// bounds the rate (TTFT, ITL, batch, KV).
	CapacityPerReplica float64 `json:"capacityPerReplica"`
	Bound              string  `json:"bound"`
	// Fitted is true when the decode parameters come from the online estimator, not perfParms;
	// PrefillFitted the same for the prefill parameters (γ, δ, ζ).
	Fitted        bool `json:"fitted"`
	PrefillFitted bool `json:"prefillFitted,omitempty"`
	// Current is the current replicas within the bounds; Target the chosen replicas.
	Current int `json:"current"`
	Target  int `json:"target"`
	// Params are the performance parameters the capacity was computed with (perfParms, with
	// the fitted decode parameters when Fitted and the fitted prefill ones when PrefillFitted).
	Params perfmodel.Params `json:"params"`
	// DecodeSamples is the number of decode samples the estimator accepted and DecodeError its
	// mean absolute relative error on them (0 before any): how far to trust the fit.
	DecodeSamples int64   `json:"decodeSamples"`
	DecodeError   float64 `json:"decodeError"`
	// PrefillSamples and PrefillError are the same for the prefill samples.
	PrefillSamples int64   `json:"prefillSamples,omitempty"`
	PrefillError   float64 `json:"prefillError,omitempty"`
}

// newSLOBreakdown assembles the breakdown from the slo analyzer's working values; slo.go calls it
// once the targets are chosen.
func newSLOBreakdown(lambda float64, source string, horizon time.Duration, fc forecast.Forecast, planned float64, st SLOState,
	feedback string, need, current float64, chosen mix.Result, verdict string, entries []*sloVariant, targets []int) *SLOBreakdown {
	b := &SLOBreakdown{ArrivalRate: lambda, ArrivalSource: source, Horizon: horizon, Level: fc.Level, Expected: fc.Expected,
		Margin: fc.Margin, Planned: planned, Headroom: st.Headroom, Feedback: feedback, Needed: need, CurrentCapacity: current,
		ChosenCapacity: chosen.Capacity, Feasible: chosen.Feasible || !greater(need, chosen.Capacity), Verdict: verdict}
	for i, e := range entries {
		t := e.base
		if i < len(targets) {
			t = targets[i]
		}
		b.ChosenCost += float64(t) * e.st.Cost
		b.Variants = append(b.Variants, SLOVariantBreakdown{Name: e.st.Name, Cost: e.st.Cost, CapacityPerReplica: e.capacity,
			Bound: e.why, Fitted: e.fitted, PrefillFitted: e.prefillFitted, Current: e.base, Target: t, Params: e.params,
			DecodeSamples: e.quality.DecodeSamples, DecodeError: e.quality.DecodeMAPE,
			PrefillSamples: e.quality.PrefillSamples, PrefillError: e.quality.PrefillMAPE})
	}
	return b
}
