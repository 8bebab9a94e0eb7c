package sim

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
