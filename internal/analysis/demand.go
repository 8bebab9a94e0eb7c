package analysis

import (
	"math"
	"time"
)

// Sources of ModelMetrics.ArrivalRate.
const (
	// ArrivalFromGateway: the inference gateway's (EPP's) request counter.
	ArrivalFromGateway = "gateway"
	// ArrivalFromVLLM: completed requests plus the growth of the requests in vLLM.
	ArrivalFromVLLM = "vllm"
)

// ModelMetrics is the demand and latency of one model in one namespace over the collector's
// window, summed over all its pods. Rates are per second. A signal that could not be read is 0
// and named in Missing; no field is ever NaN or infinite.
type ModelMetrics struct {
	// Window is the range the rates were taken over.
	Window time.Duration `json:"window"`

	// RequestRate is the rate of completed requests (vllm:request_success_total).
	RequestRate float64 `json:"requestRate"`
	// ArrivalRate estimates the offered load in requests per second: the gateway's request rate
	// when it exports one (ArrivalSource "gateway"), else the completion rate plus the growth of
	// the requests inside vLLM (waiting + running), which under overload is where the
	// completions fall short of the demand (ArrivalSource "vllm"). Never negative.
	ArrivalRate float64 `json:"arrivalRate"`
	// ArrivalSource is ArrivalFromGateway or ArrivalFromVLLM ("" when neither was read).
	ArrivalSource string `json:"arrivalSource,omitempty"`
	// GatewayRequestRate is the gateway's request rate for the model; 0 when it exports none.
	GatewayRequestRate float64 `json:"gatewayRequestRate,omitempty"`

	// PromptTokensRate and GenerationTokensRate are processed tokens per second
	// (vllm:prompt_tokens_total, vllm:generation_tokens_total).
	PromptTokensRate     float64 `json:"promptTokensRate"`
	GenerationTokensRate float64 `json:"generationTokensRate"`
	// MeanPromptTokens and MeanOutputTokens are the mean lengths of the requests completed in
	// the window (vllm:request_prompt_tokens, vllm:request_generation_tokens histograms).
	MeanPromptTokens float64 `json:"meanPromptTokens"`
	MeanOutputTokens float64 `json:"meanOutputTokens"`

	// Waiting is the number of requests waiting now, over all pods.
	Waiting float64 `json:"waiting"`
	// WaitingTokens estimates the prompt tokens of the waiting requests: Waiting ×
	// MeanPromptTokens (vLLM exports no count of queued tokens).
	WaitingTokens float64 `json:"waitingTokens"`
	// WaitingGrowth and RunningGrowth are the per-second slopes (deriv) of the waiting and
	// running requests over the window; negative while a backlog drains.
	WaitingGrowth float64 `json:"waitingGrowth"`
	RunningGrowth float64 `json:"runningGrowth"`

	// PrefixCacheHitRate is the share (0..1) of prompt tokens found in the prefix cache.
	PrefixCacheHitRate float64 `json:"prefixCacheHitRate"`

	// TTFT and ITL are the per-second bucket rates of the time-to-first-token and inter-token
	// latency histograms, in seconds; empty when not read.
	TTFT Histogram `json:"ttft,omitzero"`
	ITL  Histogram `json:"itl,omitzero"`
	// TTFTAttainment and ITLAttainment evaluate the histograms at the model's SLO targets (the
	// collector's Target.SLO); Target is 0 when the model has no such target.
	TTFTAttainment LatencySLI `json:"ttftAttainment,omitzero"`
	ITLAttainment  LatencySLI `json:"itlAttainment,omitzero"`
	// RequestTPOT is the per-request mean time per output token histogram
	// (vllm:request_time_per_output_token_seconds), and RequestTPOTAttainment its share of
	// requests within the ITL target: the request-level attainment of an SLO on the mean ITL.
	// The per-token ITL histogram counts every slow token (a prefill stall) against the target,
	// though a request's mean absorbs it. Empty on vLLM versions without the histogram.
	RequestTPOT           Histogram  `json:"requestTPOT,omitzero"`
	RequestTPOTAttainment LatencySLI `json:"requestTPOTAttainment,omitzero"`
	// OutputLengths is the per-second bucket rates of the requests' output lengths in tokens
	// (vllm:request_generation_tokens); empty when not read. Its shape, not only its mean,
	// decides how often a prefill stall breaks a request's mean ITL: a request of five tokens
	// that meets one long prompt's chunks misses a target that one of five hundred meets.
	OutputLengths Histogram `json:"outputLengths,omitzero"`

	// Missing lists the signals that could not be read, each with why, e.g.
	// "ttft: no vllm:time_to_first_token_seconds_bucket series".
	Missing []string `json:"missing,omitempty"`
}

// LatencySLI is the observed service level of one latency: the share of requests within the
// target and the 99th percentile.
type LatencySLI struct {
	// Target is the latency target the attainment is measured at; 0 when none is set.
	Target time.Duration `json:"target,omitempty"`
	// Known is false when the histogram had no observation in the window (or was not read):
	// Attainment and P99 are then 0 and mean nothing.
	Known bool `json:"known"`
	// Attainment is the share (0..1) of requests at or below Target (0 when no target).
	Attainment float64 `json:"attainment"`
	// P99 is the 99th percentile latency.
	P99 time.Duration `json:"p99"`
	// Requests is the rate of observations per second in the histogram.
	Requests float64 `json:"requests"`
}

// EvaluateSLI measures h at target (0: no target, only the p99).
func EvaluateSLI(h Histogram, target time.Duration) LatencySLI {
	sli := LatencySLI{Target: target, Requests: h.Total()}
	p99, ok := h.Quantile(0.99)
	if !ok {
		return sli
	}
	sli.Known, sli.P99 = true, time.Duration(math.Round(p99*float64(time.Second)))
	if target > 0 {
		sli.Attainment, _ = h.FractionBelow(target.Seconds())
	}
	return sli
}
