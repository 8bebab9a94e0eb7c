package promsource

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
)

// vLLM metric names read by the collector.
const (
	// MetricKvCacheUsage is the fraction (0..1) of the KV cache in use.
	MetricKvCacheUsage = "vllm:kv_cache_usage_perc"
	// MetricGpuCacheUsage is the name older vLLM releases use for MetricKvCacheUsage; both are read.
	MetricGpuCacheUsage = "vllm:gpu_cache_usage_perc"
	// MetricRequestsWaiting is the number of requests waiting to be scheduled.
	MetricRequestsWaiting = "vllm:num_requests_waiting"
	// MetricRequestsRunning is the number of requests being served.
	MetricRequestsRunning = "vllm:num_requests_running"
	// MetricCacheConfigInfo is an info series (value 1) whose labels describe the KV cache.
	MetricCacheConfigInfo = "vllm:cache_config_info"

	// MetricRequestSuccess counts finished requests.
	MetricRequestSuccess = "vllm:request_success_total"
	// MetricPromptTokens and MetricGenerationTokens count processed prompt and generated tokens.
	MetricPromptTokens     = "vllm:prompt_tokens_total"
	MetricGenerationTokens = "vllm:generation_tokens_total"
	// MetricRequestPromptTokens and MetricRequestGenerationTokens are histograms of the prompt
	// and output length of each finished request; their _sum and _count are read.
	MetricRequestPromptTokens     = "vllm:request_prompt_tokens"
	MetricRequestGenerationTokens = "vllm:request_generation_tokens"
	// MetricPrefixCacheHits and MetricPrefixCacheQueries count prompt tokens found in, and looked
	// up in, the prefix cache.
	MetricPrefixCacheHits    = "vllm:prefix_cache_hits_total"
	MetricPrefixCacheQueries = "vllm:prefix_cache_queries_total"
	// MetricTTFT is the time-to-first-token histogram, in seconds.
	MetricTTFT = "vllm:time_to_first_token_seconds"
	// MetricITL is the inter-token latency histogram, in seconds; MetricTPOT is the name older
	// vLLM releases give it. Both are read; the newer wins where a pod exports both.
	MetricITL  = "vllm:inter_token_latency_seconds"
	MetricTPOT = "vllm:time_per_output_token_seconds"
	// MetricRequestTPOT is the per-request histogram of the mean time per output token (vLLM
	// V1): the request-level ITL an SLO on the mean ITL is met or missed on.
	MetricRequestTPOT = "vllm:request_time_per_output_token_seconds"
	// MetricRequestPrefillTime is the per-request histogram of the time from a request's first
	// scheduling to its first token (vLLM V1): its prompt's prefill, chunks and all.
	MetricRequestPrefillTime = "vllm:request_prefill_time_seconds"
)

// GatewayMetric names the request counter of an inference gateway (the llm-d / Gateway API
// Inference Extension endpoint picker, EPP) and the label holding the served model name. Its
// rate, where present, is the arrival rate of the model: requests counted as they enter the
// gateway, before any queue. The zero value reads no gateway metric.
type GatewayMetric struct {
	// Metric is the counter, e.g. inference_objective_request_total.
	Metric string
	// ModelLabel is the label whose value is the model name vLLM serves (spec.modelID).
	ModelLabel string
}

// DefaultGatewayMetric is the EPP's per-model request counter. Its labels are model_name (the
// name the client asked for) and target_model_name (the name after the gateway's rewrite, the
// one vLLM serves); releases before the InferenceObjective API named it
// inference_model_request_total. The EPP pod's namespace label must be the namespace of the
// VariantAutoscalings.
var DefaultGatewayMetric = GatewayMetric{Metric: "inference_objective_request_total", ModelLabel: "target_model_name"}

// Labels read from the series.
const (
	labelNamespace    = "namespace"
	labelPod          = "pod"
	labelPodName      = "pod_name" // fallback when a relabeling produced pod_name instead of pod
	labelModelName    = "model_name"
	labelNumGPUBlocks = "num_gpu_blocks"
	labelBlockSize    = "block_size"
	labelEngine       = "engine" // one vLLM engine of a (data-parallel) pod
)

// Names of the queries of one cycle, as used in errors and in Query.Name.
const (
	// QueryKvCacheUsage is each pod's peak KV-cache usage over the window.
	QueryKvCacheUsage = "kv_cache_usage"
	// QueryRequestsWaiting is each pod's peak waiting-queue length over the window.
	QueryRequestsWaiting = "num_requests_waiting"
	// QueryRequestsRunning is each pod's peak number of running requests over the window.
	QueryRequestsRunning = "num_requests_running"
	// QueryRunningMean is each pod's mean number of running requests over the window and
	// QueryITLMedian the median of its inter-token latency histogram over the window: a point
	// (batch, ITL) of the pod's decode speed, for the slo analyzer's estimator.
	QueryRunningMean = "num_requests_running_mean"
	QueryITLMedian   = "itl_median"
	// QueryPrefillMean is each pod's mean prefill time over the requests that finished in the
	// window and QueryPodPromptMean their mean prompt length: a point (prompt, prefill time)
	// of the pod's prefill speed, for the slo analyzer's estimator.
	QueryPrefillMean   = "prefill_time_mean"
	QueryPodPromptMean = "pod_prompt_tokens_mean"
	// QueryPodFinishRate is each pod's rate of finished requests over the window: how often
	// its prompts share their steps with other prompts, which lengthens their prefill time.
	QueryPodFinishRate = "pod_finish_rate"
	// QueryLastSample is the time of each pod's newest vllm:num_requests_waiting sample.
	QueryLastSample = "last_sample"
	// QueryKvCacheBlocks is each pod's KV-cache geometry (vllm:cache_config_info labels).
	QueryKvCacheBlocks = "kv_cache_blocks"

	// Per model (namespace, model_name), over the window:

	// QueryRequestRate is the rate of finished requests.
	QueryRequestRate = "request_rate"
	// QueryPromptTokensRate and QueryGenerationTokensRate are the processed tokens per second.
	QueryPromptTokensRate     = "prompt_tokens_rate"
	QueryGenerationTokensRate = "generation_tokens_rate"
	// QueryMeanPromptTokens and QueryMeanOutputTokens are the mean lengths of finished requests.
	QueryMeanPromptTokens = "mean_prompt_tokens"
	QueryMeanOutputTokens = "mean_output_tokens"
	// QueryPrefixCacheHitRate is the share of prompt tokens found in the prefix cache.
	QueryPrefixCacheHitRate = "prefix_cache_hit_rate"
	// QueryWaitingNow is the number of waiting requests at the evaluation time.
	QueryWaitingNow = "waiting_now"
	// QueryWaitingGrowth and QueryRunningGrowth are the slopes of the waiting and running requests.
	QueryWaitingGrowth = "waiting_growth"
	QueryRunningGrowth = "running_growth"
	// QueryTTFTBuckets and QueryITLBuckets are the bucket rates of the latency histograms.
	QueryTTFTBuckets = "ttft_buckets"
	QueryITLBuckets  = "itl_buckets"
	// QueryRequestTPOTBuckets is the bucket rate of the per-request TPOT histogram.
	QueryRequestTPOTBuckets = "request_tpot_buckets"
	// QueryOutputLengthBuckets is the bucket rate of the requests' output-length histogram.
	QueryOutputLengthBuckets = "output_length_buckets"
	// QueryGatewayRequestRate is the gateway's request rate per model (only with a GatewayMetric).
	QueryGatewayRequestRate = "gateway_request_rate"
)

// Grouping labels of the aggregations.
const (
	modelGrouping       = "namespace, model_name"
	seriesGrouping      = "namespace, pod, pod_name, model_name"
	cacheConfigGrouping = "namespace, pod, pod_name, engine, num_gpu_blocks, block_size"
)

// Query is one PromQL instant query of a collection cycle.
type Query struct {
	// Name identifies the query (one of the Query* constants).
	Name string
	// PromQL is the query text.
	PromQL string
}

// Selector is the set of namespaces and served model names of one cycle's targets. Both lists
// are sorted and free of duplicates, so equal target sets give identical queries.
//
// The queries name the namespaces only: every vLLM series of those namespaces that carries a
// model name is read, and the join keeps the series of the targets' models (a series is looked
// up by namespace, pod and model, or by namespace and model). So the size of a query grows with
// the number of namespaces, not with the number of models: a regex over 2,000 model names was
// 29 KB in each selector, 58 KB for one query and 610 KB per cycle, and Prometheus evaluates such
// a regex against every model_name value. The price is the series of vLLM models in the
// targets' namespaces that no VariantAutoscaling manages, read and dropped each cycle (and
// counted against Config.MaxSeries).
type Selector struct {
	// Namespaces are the namespaces of the targets.
	Namespaces []string
	// Models are the served model names (model_name label) of the targets; the queries do not
	// name them (see above).
	Models []string
}

// SelectorFor returns the Selector covering targets. It deduplicates before it sorts, so its
// cost grows with the number of targets plus the sorting of the distinct namespaces and models,
// not with sorting every target's copy of them.
func SelectorFor(targets []collector.Target) Selector {
	namespaces := map[string]struct{}{}
	models := make(map[string]struct{}, len(targets)/4+1)
	for _, t := range targets {
		namespaces[t.VariantAutoscaling.Namespace] = struct{}{}
		models[t.ModelID] = struct{}{}
	}
	return Selector{Namespaces: slices.Sorted(maps.Keys(namespaces)), Models: slices.Sorted(maps.Keys(models))}
}

// BuildQueries returns the queries of one cycle for sel: their number is fixed, whatever the
// number of targets, namespaces or models, and their size does not grow with the number of
// models (see Selector). window is the range of the max_over_time peaks.
//
// Every vLLM series is aggregated by (namespace, pod, pod_name, model_name) so each pod's
// readings can be joined to the pods the informer cache attributes to each scale target.
func BuildQueries(sel Selector, window time.Duration) []Query {
	vllm := "{" + labelNamespace + "=~" + regexAlternation(sel.Namespaces) + "," + labelModelName + `!=""}`
	nsOnly := "{" + labelNamespace + "=~" + regexAlternation(sel.Namespaces) + "}"
	w := "[" + model.Duration(window).String() + "]"

	peak := func(metric string) string { return "max_over_time(" + metric + vllm + w + ")" }
	byPod := func(expr string) string { return "max by (" + seriesGrouping + ") (" + expr + ")" }

	perPodMean := func(metric string) string {
		sum := func(suffix string) string {
			return "sum by (" + seriesGrouping + ") (rate(" + metric + suffix + vllm + w + "))"
		}
		return sum("_sum") + " / " + sum("_count")
	}

	return []Query{
		// Older vLLM exports gpu_cache_usage_perc instead; `or` keeps the newer series when a
		// pod exports both (the label sets are identical once max_over_time drops the name).
		{QueryKvCacheUsage, byPod(peak(MetricKvCacheUsage) + " or " + peak(MetricGpuCacheUsage))},
		{QueryRequestsWaiting, byPod(peak(MetricRequestsWaiting))},
		{QueryRequestsRunning, byPod(peak(MetricRequestsRunning))},
		{QueryRunningMean, byPod("avg_over_time(" + MetricRequestsRunning + vllm + w + ")")},
		// One series per pod: histogram_quantile runs in Prometheus, the buckets stay there.
		{QueryITLMedian, "histogram_quantile(0.5, sum by (" + seriesGrouping + ", le) (rate(" + MetricITL + "_bucket" + vllm + w +
			") or rate(" + MetricTPOT + "_bucket" + vllm + w + ")))"},
		// NaN (absent once parsed) for a pod with no request finished in the window.
		{QueryPrefillMean, perPodMean(MetricRequestPrefillTime)},
		{QueryPodPromptMean, perPodMean(MetricRequestPromptTokens)},
		{QueryPodFinishRate, "sum by (" + seriesGrouping + ") (rate(" + MetricRequestPromptTokens + "_count" + vllm + w + "))"},
		// timestamp() of an instant selector is the time of the newest sample (within
		// Prometheus' 5m lookback); a series whose target vanished is staleness-marked and absent.
		{QueryLastSample, byPod("timestamp(" + MetricRequestsWaiting + vllm + ")")},
		// The info series has no model_name label; it is joined by namespace and pod only.
		{QueryKvCacheBlocks, "max by (" + cacheConfigGrouping + ") (" + MetricCacheConfigInfo + nsOnly + ")"},
	}
}

// BuildModelQueries returns the per-model demand and latency queries of one cycle for sel: 13
// queries, 14 with a gateway metric, whatever the number of targets, namespaces or models.
// window is the range of the rates and slopes. Every query sums over the pods of a model, so a
// result has one series per (namespace, model_name), or per (namespace, model_name, le) for the
// histograms.
//
// Counter resets (a restarted pod) are handled by rate(). A ratio whose denominator is 0 (no
// request finished in the window) is NaN in Prometheus; the parser reports it as missing.
func BuildModelQueries(sel Selector, window time.Duration, gw GatewayMetric) []Query {
	vllm := "{" + labelNamespace + "=~" + regexAlternation(sel.Namespaces) + "," + labelModelName + `!=""}`
	w := "[" + model.Duration(window).String() + "]"
	rate := func(metric string) string { return "rate(" + metric + vllm + w + ")" }
	sumBy := func(grouping, expr string) string { return "sum by (" + grouping + ") (" + expr + ")" }
	perModel := func(expr string) string { return sumBy(modelGrouping, expr) }
	ratio := func(num, den string) string { return perModel(rate(num)) + " / " + perModel(rate(den)) }
	buckets := modelGrouping + ", le"

	qs := []Query{
		{QueryRequestRate, perModel(rate(MetricRequestSuccess))},
		{QueryPromptTokensRate, perModel(rate(MetricPromptTokens))},
		{QueryGenerationTokensRate, perModel(rate(MetricGenerationTokens))},
		{QueryMeanPromptTokens, ratio(MetricRequestPromptTokens+"_sum", MetricRequestPromptTokens+"_count")},
		{QueryMeanOutputTokens, ratio(MetricRequestGenerationTokens+"_sum", MetricRequestGenerationTokens+"_count")},
		{QueryPrefixCacheHitRate, ratio(MetricPrefixCacheHits, MetricPrefixCacheQueries)},
		{QueryWaitingNow, perModel(MetricRequestsWaiting + vllm)},
		// deriv is the least-squares slope of a gauge: requests per second added to the queue.
		{QueryWaitingGrowth, perModel("deriv(" + MetricRequestsWaiting + vllm + w + ")")},
		{QueryRunningGrowth, perModel("deriv(" + MetricRequestsRunning + vllm + w + ")")},
		{QueryTTFTBuckets, sumBy(buckets, rate(MetricTTFT+"_bucket"))},
		// As for the KV cache: rate() drops the name, so where a pod exports both names the
		// label sets are equal and `or` keeps the newer one.
		{QueryITLBuckets, sumBy(buckets, rate(MetricITL+"_bucket")+" or "+rate(MetricTPOT+"_bucket"))},
		{QueryRequestTPOTBuckets, sumBy(buckets, rate(MetricRequestTPOT+"_bucket"))},
		{QueryOutputLengthBuckets, sumBy(buckets, rate(MetricRequestGenerationTokens+"_bucket"))},
	}
	if gw.Metric != "" && gw.Validate() == nil {
		sel := "{" + labelNamespace + "=~" + regexAlternation(sel.Namespaces) + "," + gw.ModelLabel + `!=""}`
		qs = append(qs, Query{QueryGatewayRequestRate,
			"sum by (" + labelNamespace + ", " + gw.ModelLabel + ") (rate(" + gw.Metric + sel + w + "))"})
	}
	return qs
}

// regexAlternation returns a PromQL string literal holding a regular expression that matches
// exactly the given values: each value is regex-quoted (regexp.QuoteMeta), the alternatives are
// joined with |, and the whole is quoted as a PromQL (Go syntax) double-quoted string, which
// escapes backslashes, quotes and control characters. No value can end the literal or widen
// the match.
func regexAlternation(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = regexp.QuoteMeta(v)
	}
	return strconv.Quote(strings.Join(quoted, "|"))
}

var (
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelNameRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// Validate checks that the metric and label are legal Prometheus names (they are written into
// PromQL as they are). The zero value is valid: no gateway metric.
func (g GatewayMetric) Validate() error {
	if g.Metric == "" && g.ModelLabel == "" {
		return nil
	}
	if !metricNameRE.MatchString(g.Metric) {
		return fmt.Errorf("gateway metric %q is not a Prometheus metric name", g.Metric)
	}
	if !labelNameRE.MatchString(g.ModelLabel) {
		return fmt.Errorf("gateway model label %q is not a Prometheus label name", g.ModelLabel)
	}
	return nil
}
