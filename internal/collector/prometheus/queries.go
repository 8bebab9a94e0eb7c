package promsource

import (
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
)

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
	// QueryLastSample is the time of each pod's newest vllm:num_requests_waiting sample.
	QueryLastSample = "last_sample"
	// QueryKvCacheBlocks is each pod's KV-cache geometry (vllm:cache_config_info labels).
	QueryKvCacheBlocks = "kv_cache_blocks"
)

// Grouping labels of the aggregations.
const (
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

// Selector is the set of namespaces and served model names one cycle asks Prometheus about.
// Both lists are sorted and free of duplicates, so equal target sets give identical queries.
type Selector struct {
	// Namespaces are the namespaces of the targets.
	Namespaces []string
	// Models are the served model names (model_name label) of the targets.
	Models []string
}

// SelectorFor returns the Selector covering targets.
func SelectorFor(targets []collector.Target) Selector {
	var s Selector
	for _, t := range targets {
		s.Namespaces = append(s.Namespaces, t.VariantAutoscaling.Namespace)
		s.Models = append(s.Models, t.ModelID)
	}
	slices.Sort(s.Namespaces)
	slices.Sort(s.Models)
	s.Namespaces = slices.Compact(s.Namespaces)
	s.Models = slices.Compact(s.Models)
	return s
}

// BuildQueries returns the queries of one cycle for sel: their number is fixed, whatever the
// number of targets, namespaces or models. window is the range of the max_over_time peaks.
//
// Every vLLM series is aggregated by (namespace, pod, pod_name, model_name) so each pod's
// readings can be joined to the pods the informer cache attributes to each scale target.
func BuildQueries(sel Selector, window time.Duration) []Query {
	vllm := "{" + labelNamespace + "=~" + regexAlternation(sel.Namespaces) + "," +
		labelModelName + "=~" + regexAlternation(sel.Models) + "}"
	nsOnly := "{" + labelNamespace + "=~" + regexAlternation(sel.Namespaces) + "}"
	w := "[" + model.Duration(window).String() + "]"

	peak := func(metric string) string { return "max_over_time(" + metric + vllm + w + ")" }
	byPod := func(expr string) string { return "max by (" + seriesGrouping + ") (" + expr + ")" }

	return []Query{
		// Older vLLM exports gpu_cache_usage_perc instead; `or` keeps the newer series when a
		// pod exports both (the label sets are identical once max_over_time drops the name).
		{QueryKvCacheUsage, byPod(peak(MetricKvCacheUsage) + " or " + peak(MetricGpuCacheUsage))},
		{QueryRequestsWaiting, byPod(peak(MetricRequestsWaiting))},
		{QueryRequestsRunning, byPod(peak(MetricRequestsRunning))},
		// timestamp() of an instant selector is the time of the newest sample (within
		// Prometheus' 5m lookback); a series whose target vanished is staleness-marked and absent.
		{QueryLastSample, byPod("timestamp(" + MetricRequestsWaiting + vllm + ")")},
		// The info series has no model_name label; it is joined by namespace and pod only.
		{QueryKvCacheBlocks, "max by (" + cacheConfigGrouping + ") (" + MetricCacheConfigInfo + nsOnly + ")"},
	}
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
