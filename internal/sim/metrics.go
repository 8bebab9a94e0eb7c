package sim

import "math"

// Names of the vLLM metrics a Server reports. The gauges are what the saturation collector reads
// (SPEC.md §5.4); the counters are the histogram sums and counts of the allocation metrics
// (SPEC.md §5.3).
const (
	MetricKVCacheUsage          = "vllm:kv_cache_usage_perc"
	MetricNumRequestsWaiting    = "vllm:num_requests_waiting"
	MetricNumRequestsRunning    = "vllm:num_requests_running"
	MetricRequestSuccessTotal   = "vllm:request_success_total"
	MetricPromptTokensSum       = "vllm:request_prompt_tokens_sum"
	MetricPromptTokensCount     = "vllm:request_prompt_tokens_count"
	MetricGenerationTokensSum   = "vllm:request_generation_tokens_sum"
	MetricGenerationTokensCount = "vllm:request_generation_tokens_count"
	MetricTTFTSecondsSum        = "vllm:time_to_first_token_seconds_sum"
	MetricTTFTSecondsCount      = "vllm:time_to_first_token_seconds_count"
	MetricTPOTSecondsSum        = "vllm:time_per_output_token_seconds_sum"
	MetricTPOTSecondsCount      = "vllm:time_per_output_token_seconds_count"
	MetricNumPreemptionsTotal   = "vllm:num_preemptions_total"
)

// Gauges are a replica's instantaneous vLLM readings.
type Gauges struct {
	// KVCacheUsage is the fraction (0..1) of the KV cache in use (vllm:kv_cache_usage_perc).
	KVCacheUsage float64
	// Waiting is the number of requests waiting to be scheduled (vllm:num_requests_waiting).
	Waiting int
	// Running is the number of requests in the running batch, prefilling or decoding
	// (vllm:num_requests_running).
	Running int
}

// Counters are a replica's cumulative vLLM counters since it started.
type Counters struct {
	// RequestSuccess counts finished requests (vllm:request_success_total); it is also the
	// count of the prompt and generation token histograms.
	RequestSuccess int64
	// PromptTokens sums the prompt lengths of finished requests.
	PromptTokens int64
	// GenerationTokens sums the output lengths of finished requests.
	GenerationTokens int64
	// TTFTSeconds and TTFTCount are the sum and count of the time-to-first-token histogram,
	// observed when a request's first token is produced.
	TTFTSeconds float64
	TTFTCount   int64 // count of the time-to-first-token histogram
	// TPOTSeconds and TPOTCount are the sum and count of the time-per-output-token histogram:
	// each finished request adds its first-to-last-token time and its number of gaps.
	TPOTSeconds float64
	TPOTCount   int64 // count of the time-per-output-token histogram
	// Preemptions counts preemptions (vllm:num_preemptions_total).
	Preemptions int64
	// PromptTokensTotal counts prompt tokens as vLLM V1 does (vllm:prompt_tokens_total): a
	// request's prompt length is added when its first token is produced.
	PromptTokensTotal int64
	// GenerationTokensTotal counts output tokens as they are produced
	// (vllm:generation_tokens_total).
	GenerationTokensTotal int64
	// PrefixCacheQueries counts the tokens looked up in the prefix cache at each admission
	// (vllm:prefix_cache_queries_total): the prompt, plus the tokens generated before a
	// preemption.
	PrefixCacheQueries int64
	// PrefixCacheHits counts the tokens of those found in the cache and not prefilled again
	// (vllm:prefix_cache_hits_total); only requests with PrefixBlocks can hit.
	PrefixCacheHits int64
}

// Values returns the gauges and counters keyed by their vLLM metric names.
func Values(g Gauges, c Counters) map[string]float64 {
	return map[string]float64{
		MetricKVCacheUsage:          g.KVCacheUsage,
		MetricNumRequestsWaiting:    float64(g.Waiting),
		MetricNumRequestsRunning:    float64(g.Running),
		MetricRequestSuccessTotal:   float64(c.RequestSuccess),
		MetricPromptTokensSum:       float64(c.PromptTokens),
		MetricPromptTokensCount:     float64(c.RequestSuccess),
		MetricGenerationTokensSum:   float64(c.GenerationTokens),
		MetricGenerationTokensCount: float64(c.RequestSuccess),
		MetricTTFTSecondsSum:        c.TTFTSeconds,
		MetricTTFTSecondsCount:      float64(c.TTFTCount),
		MetricTPOTSecondsSum:        c.TPOTSeconds,
		MetricTPOTSecondsCount:      float64(c.TPOTCount),
		MetricNumPreemptionsTotal:   float64(c.Preemptions),
	}
}

// Names of the vLLM series the exposition (package vllmmetrics) adds to the ones above: the
// counters as vLLM V1 exports them, the remaining gauges and the histograms (each exposed as
// _bucket, _sum and _count series).
const (
	MetricPromptTokensTotal      = "vllm:prompt_tokens_total"
	MetricGenerationTokensTotal  = "vllm:generation_tokens_total"
	MetricPrefixCacheQueries     = "vllm:prefix_cache_queries_total"
	MetricPrefixCacheHits        = "vllm:prefix_cache_hits_total"
	MetricCacheConfigInfo        = "vllm:cache_config_info"
	MetricTTFTSeconds            = "vllm:time_to_first_token_seconds"
	MetricInterTokenLatency      = "vllm:inter_token_latency_seconds"
	MetricRequestTPOT            = "vllm:request_time_per_output_token_seconds"
	MetricE2ERequestLatency      = "vllm:e2e_request_latency_seconds"
	MetricRequestQueueTime       = "vllm:request_queue_time_seconds"
	MetricRequestPrefillTime     = "vllm:request_prefill_time_seconds"
	MetricRequestPromptTokens    = "vllm:request_prompt_tokens"
	MetricRequestGenerationToken = "vllm:request_generation_tokens"
)

// MaxModelLen is the context length the token-count histograms are bucketed up to: vLLM's
// default for the profiles' model (Llama 3.1 8B, 128k tokens).
const MaxModelLen = 131072

// KVBlockSize is the KV-cache block size in tokens (vLLM's default on GPUs); the
// vllm:cache_config_info series reports KVCacheTokens / KVBlockSize blocks of this size.
const KVBlockSize = 16

// TTFTBuckets returns the bucket upper bounds of vllm:time_to_first_token_seconds, as vLLM V1
// defines them (vllm/v1/metrics/loggers.py).
func TTFTBuckets() []float64 {
	return []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
		10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0}
}

// ITLBuckets returns the bucket upper bounds of vllm:inter_token_latency_seconds (also those of
// the older vllm:time_per_output_token_seconds and of vllm:request_time_per_output_token_seconds).
func ITLBuckets() []float64 {
	return []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
		20.0, 40.0, 80.0}
}

// RequestLatencyBuckets returns the bucket upper bounds vLLM shares between
// vllm:e2e_request_latency_seconds and vllm:request_queue_time_seconds.
func RequestLatencyBuckets() []float64 {
	return []float64{0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0,
		240.0, 480.0, 960.0, 1920.0, 7680.0}
}

// TokenBuckets returns vLLM's 1-2-5 buckets up to maxValue (1, 2, 5, 10, 20, 50, ...), the bounds
// of vllm:request_prompt_tokens and vllm:request_generation_tokens with maxValue = max_model_len.
func TokenBuckets(maxValue int) []float64 {
	var out []float64
	for scale := 1; ; scale *= 10 {
		for _, m := range []int{1, 2, 5} {
			if m*scale > maxValue {
				return out
			}
			out = append(out, float64(m*scale))
		}
	}
}

// Histogram is a cumulative Prometheus-style histogram with fixed bucket bounds.
type Histogram struct {
	// Bounds are the bucket upper bounds, ascending, without +Inf.
	Bounds []float64
	// Counts[i] counts the observations v with Bounds[i-1] < v <= Bounds[i] (not cumulative);
	// observations above the last bound are only in Count.
	Counts []uint64
	// Count is the number of observations.
	Count uint64
	// Sum is the sum of the observations.
	Sum float64
}

// NewHistogram returns an empty histogram with the given bucket bounds.
func NewHistogram(bounds []float64) Histogram {
	return Histogram{Bounds: bounds, Counts: make([]uint64, len(bounds))}
}

// Observe records n observations of v.
func (h *Histogram) Observe(v float64, n uint64) {
	if n == 0 {
		return
	}
	// The first bound >= v: Prometheus buckets are "less than or equal".
	lo, hi := 0, len(h.Bounds)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if h.Bounds[mid] < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(h.Counts) {
		h.Counts[lo] += n
	}
	h.Count += n
	h.Sum += v * float64(n)
}

// ObserveRamp records, for i from 0 to k-1, n observations of v0 + dv·i (dv >= 0): the
// durations of k steps that each last dv longer than the one before.
func (h *Histogram) ObserveRamp(v0, dv float64, k, n uint64) {
	if k == 0 || n == 0 {
		return
	}
	if dv <= 0 || k == 1 {
		h.Observe(v0, k*n)
		return
	}
	// below is how many of the k values are <= bound, so bucket j gets below(j) - below(j-1).
	below := func(bound float64) uint64 {
		if bound < v0 {
			return 0
		}
		i := math.Floor((bound-v0)/dv) + 1
		if i >= float64(k) {
			return k
		}
		return uint64(i)
	}
	prev := uint64(0)
	for j, b := range h.Bounds {
		c := below(b)
		h.Counts[j] += (c - prev) * n
		prev = c
	}
	h.Count += k * n
	kf := float64(k)
	h.Sum += float64(n) * (kf*v0 + dv*kf*(kf-1)/2)
}

// Cumulative returns the cumulative count of each bound (the _bucket series without +Inf,
// whose count is Count).
func (h Histogram) Cumulative() map[float64]uint64 {
	out := make(map[float64]uint64, len(h.Bounds))
	var c uint64
	for i, b := range h.Bounds {
		c += h.Counts[i]
		out[b] = c
	}
	return out
}

// clone returns a copy of h that shares nothing mutable with it.
func (h Histogram) clone() Histogram {
	h.Counts = append([]uint64(nil), h.Counts...)
	return h
}

// Histograms are a replica's vLLM request histograms since it started.
type Histograms struct {
	// TTFT observes each request's time to first token when it is produced.
	TTFT Histogram
	// ITL observes every gap between two consecutive output tokens of a request.
	ITL Histogram
	// TPOT observes each finished request's mean time per output token after the first, the
	// mean ITL the SLO is scored on (requests of one output token are not observed).
	TPOT Histogram
	// E2E observes each finished request's arrival-to-last-token time.
	E2E Histogram
	// QueueTime observes each finished request's time from reaching the replica to its first
	// admission into the running batch.
	QueueTime Histogram
	// PrefillTime observes each finished request's time from its first admission into the
	// running batch to its first token (vLLM V1: first token less scheduled time).
	PrefillTime Histogram
	// PromptTokens and GenerationTokens observe each finished request's token counts.
	PromptTokens     Histogram
	GenerationTokens Histogram
}

// newHistograms returns empty histograms with vLLM's bucket bounds.
func newHistograms() Histograms {
	tokens := TokenBuckets(MaxModelLen)
	return Histograms{
		TTFT:             NewHistogram(TTFTBuckets()),
		ITL:              NewHistogram(ITLBuckets()),
		TPOT:             NewHistogram(ITLBuckets()),
		E2E:              NewHistogram(RequestLatencyBuckets()),
		QueueTime:        NewHistogram(RequestLatencyBuckets()),
		PrefillTime:      NewHistogram(RequestLatencyBuckets()),
		PromptTokens:     NewHistogram(tokens),
		GenerationTokens: NewHistogram(tokens),
	}
}

// clone returns a deep copy of h.
func (h Histograms) clone() Histograms {
	return Histograms{TTFT: h.TTFT.clone(), ITL: h.ITL.clone(), TPOT: h.TPOT.clone(), E2E: h.E2E.clone(), QueueTime: h.QueueTime.clone(),
		PrefillTime: h.PrefillTime.clone(), PromptTokens: h.PromptTokens.clone(), GenerationTokens: h.GenerationTokens.clone()}
}
