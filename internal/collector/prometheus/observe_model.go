package promsource

import (
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/common/model"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

const labelLE = "le"

// modelResults are the per-model query results of one cycle: the vectors by Query.Name, and
// the error of each query that failed. A failed model query costs only its signal.
type modelResults struct {
	vectors map[string]model.Vector
	errs    map[string]error
	// noHistograms: the histogram queries were not issued (WithModelHistograms(false)), so
	// their absence is not a missing signal.
	noHistograms bool
}

// signalSource says, for each scalar query, which metric a missing series is about.
var signalSource = map[string]string{
	QueryRequestRate:          MetricRequestSuccess,
	QueryPromptTokensRate:     MetricPromptTokens,
	QueryGenerationTokensRate: MetricGenerationTokens,
	QueryMeanPromptTokens:     MetricRequestPromptTokens + "_sum/_count",
	QueryMeanOutputTokens:     MetricRequestGenerationTokens + "_sum/_count",
	QueryPrefixCacheHitRate:   MetricPrefixCacheHits + " / " + MetricPrefixCacheQueries,
	QueryWaitingNow:           MetricRequestsWaiting,
	QueryWaitingGrowth:        MetricRequestsWaiting,
	QueryRunningGrowth:        MetricRequestsRunning,
}

// scalarQueries are the queries of signalSource, in a fixed order.
var scalarQueries = [...]string{QueryRequestRate, QueryPromptTokensRate, QueryGenerationTokensRate, QueryMeanPromptTokens,
	QueryMeanOutputTokens, QueryPrefixCacheHitRate, QueryWaitingNow, QueryWaitingGrowth, QueryRunningGrowth}

// modelAcc gathers the per-model query results of one model: one map lookup per sample.
type modelAcc struct {
	key        collector.ModelKey
	slo        interfaces.SLOTargets
	v          [len(scalarQueries)]float64
	has        [len(scalarQueries)]bool
	bad        [len(scalarQueries)]string
	gateway    float64
	hasGateway bool
	ttft, itl  []analysis.Bucket
	tpot       []analysis.Bucket
	outLen     []analysis.Bucket
}

// observeModels builds the ModelMetrics of every model of targets from res. slo gives each
// model's targets (the first non-zero SLO among its targets). gateway tells whether the gateway
// query was issued. Series of models no target names are dropped after one map lookup.
func observeModels(targets []collector.Target, res modelResults, window time.Duration, gateway GatewayMetric) map[collector.ModelKey]analysis.ModelMetrics {
	// The accumulators lie side by side, found by their position: one allocation for all,
	// sized to the models (a fleet has several variants a model), after one pass to count them.
	at := make(map[collector.ModelKey]int, len(targets))
	for _, t := range targets {
		k := collector.ModelKey{Namespace: t.VariantAutoscaling.Namespace, ModelID: t.ModelID}
		if _, ok := at[k]; !ok {
			at[k] = len(at)
		}
	}
	accs := make([]modelAcc, len(at))
	for k, i := range at {
		accs[i].key = k
	}
	for _, t := range targets {
		if a := &accs[at[collector.ModelKey{Namespace: t.VariantAutoscaling.Namespace, ModelID: t.ModelID}]]; a.slo.IsZero() {
			a.slo = t.SLO
		}
	}
	lookup := func(m model.Metric, modelLabel model.LabelName) int {
		if i, ok := at[collector.ModelKey{Namespace: string(m[labelNamespace]), ModelID: string(m[modelLabel])}]; ok {
			return i
		}
		return -1
	}
	for i, name := range scalarQueries {
		for _, s := range res.vectors[name] {
			j := lookup(s.Metric, labelModelName)
			if j < 0 {
				continue
			}
			a := &accs[j]
			v := float64(s.Value)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				a.bad[i] = formatValue(v) // reported only when no valid value was read
				continue
			}
			a.v[i], a.has[i] = v, true
		}
	}
	for _, s := range res.vectors[QueryGatewayRequestRate] {
		if v := float64(s.Value); validValue(v) {
			if j := lookup(s.Metric, model.LabelName(gateway.ModelLabel)); j >= 0 {
				accs[j].gateway += v
				accs[j].hasGateway = true
			}
		}
	}
	byModel := func(m model.Metric) int { return lookup(m, labelModelName) }
	addBuckets(res.vectors[QueryTTFTBuckets], byModel, len(accs), func(j int) *[]analysis.Bucket { return &accs[j].ttft })
	addBuckets(res.vectors[QueryITLBuckets], byModel, len(accs), func(j int) *[]analysis.Bucket { return &accs[j].itl })
	addBuckets(res.vectors[QueryRequestTPOTBuckets], byModel, len(accs), func(j int) *[]analysis.Bucket { return &accs[j].tpot })
	addBuckets(res.vectors[QueryOutputLengthBuckets], byModel, len(accs), func(j int) *[]analysis.Bucket { return &accs[j].outLen })

	out := make(map[collector.ModelKey]analysis.ModelMetrics, len(accs))
	for i := range accs {
		sv := &accs[i]
		slo := sv.slo
		m := analysis.ModelMetrics{Window: window}
		get := func(query, what string, nanMeans string) (float64, bool) {
			if err := res.errs[query]; err != nil {
				m.Missing = append(m.Missing, what+": "+err.Error())
				return 0, false
			}
			i := slices.Index(scalarQueries[:], query)
			if sv.has[i] {
				return sv.v[i], true
			}
			if b := sv.bad[i]; b != "" {
				m.Missing = append(m.Missing, what+": "+b+" ("+nanMeans+")")
				return 0, false
			}
			m.Missing = append(m.Missing, what+": no "+signalSource[query]+" series")
			return 0, false
		}
		completions, hasCompletions := get(QueryRequestRate, "request rate", "invalid value")
		m.RequestRate = max(completions, 0)
		v, _ := get(QueryPromptTokensRate, "prompt tokens rate", "invalid value")
		m.PromptTokensRate = max(v, 0)
		v, _ = get(QueryGenerationTokensRate, "generation tokens rate", "invalid value")
		m.GenerationTokensRate = max(v, 0)
		v, _ = get(QueryMeanPromptTokens, "mean prompt length", "no request finished in the window")
		m.MeanPromptTokens = max(v, 0)
		v, _ = get(QueryMeanOutputTokens, "mean output length", "no request finished in the window")
		m.MeanOutputTokens = max(v, 0)
		v, _ = get(QueryPrefixCacheHitRate, "prefix cache hit rate", "no prefix cache lookups in the window")
		m.PrefixCacheHitRate = min(max(v, 0), 1)
		v, _ = get(QueryWaitingNow, "waiting requests", "invalid value")
		m.Waiting = max(v, 0)
		m.WaitingTokens = m.Waiting * m.MeanPromptTokens
		// A single sample in the window has no slope (deriv is absent): growth unknown, counted 0.
		m.WaitingGrowth, _ = get(QueryWaitingGrowth, "waiting growth", "invalid value")
		m.RunningGrowth, _ = get(QueryRunningGrowth, "running growth", "invalid value")

		if sv.hasGateway {
			rate := sv.gateway
			m.GatewayRequestRate, m.ArrivalRate, m.ArrivalSource = rate, rate, analysis.ArrivalFromGateway
		} else if hasCompletions {
			// Conservation: what arrived either finished or is still inside vLLM. A queue that
			// grows is demand the completions do not show; a draining one is not new demand.
			m.ArrivalRate = max(m.RequestRate+m.WaitingGrowth+m.RunningGrowth, m.RequestRate, 0)
			m.ArrivalSource = analysis.ArrivalFromVLLM
		}
		if err := res.errs[QueryGatewayRequestRate]; err != nil {
			m.Missing = append(m.Missing, "gateway request rate: "+err.Error())
		}

		if !res.noHistograms {
			m.TTFT, m.TTFTAttainment = histogramSignal(&m, "ttft", MetricTTFT, sv.ttft, res.errs[QueryTTFTBuckets], slo.TTFT)
			m.ITL, m.ITLAttainment = histogramSignal(&m, "itl", MetricITL+" (or "+MetricTPOT+")", sv.itl, res.errs[QueryITLBuckets], slo.ITL)
			// Older vLLM has no per-request TPOT histogram: its absence is not a missing signal
			// (the per-token ITL histogram stands in), so it is not noted.
			m.RequestTPOT, m.RequestTPOTAttainment = histogramSignal(nil, "request tpot", MetricRequestTPOT, sv.tpot, res.errs[QueryRequestTPOTBuckets], slo.ITL)
			// The mean output length stands in where the histogram is not read: not noted either.
			if h, ok := analysis.NewHistogram(sv.outLen); ok && res.errs[QueryOutputLengthBuckets] == nil {
				m.OutputLengths = h
			}
		}
		slices.Sort(m.Missing)
		out[sv.key] = m
	}
	return out
}

// histogramSignal builds one latency histogram and measures it at target, noting in m why it
// is missing or empty (nothing is noted when m is nil).
func histogramSignal(m *analysis.ModelMetrics, what, metric string, buckets []analysis.Bucket, err error, target time.Duration) (analysis.Histogram, analysis.LatencySLI) {
	sli := analysis.LatencySLI{Target: target}
	note := func(why func() string) {
		if m != nil {
			m.Missing = append(m.Missing, what+": "+why())
		}
	}
	if err != nil {
		note(err.Error)
		return analysis.Histogram{}, sli
	}
	if len(buckets) == 0 {
		note(func() string { return "no " + metric + "_bucket series" })
		return analysis.Histogram{}, sli
	}
	h, ok := analysis.NewHistogram(buckets)
	if !ok {
		note(func() string { return "the histogram has no +Inf bucket" })
		return analysis.Histogram{}, sli
	}
	sli = analysis.EvaluateSLI(h, target)
	if !sli.Known {
		note(func() string { return "no request observed in the window" })
	}
	return h, sli
}

// addBuckets appends each bucket-rate series of v to the bucket slice of the accumulator its
// labels name: of (at most n) accumulators, of returns the position (-1: the series is dropped)
// and into the slice. Series without a parsable le are dropped. It makes two passes, the first
// counting each accumulator's series, so that the slices share one allocation sized exactly.
func addBuckets(v model.Vector, of func(model.Metric) int, n int, into func(int) *[]analysis.Bucket) {
	type kept struct {
		acc    int
		bucket analysis.Bucket
	}
	ks := make([]kept, 0, len(v))
	counts := make([]int, n)
	for _, s := range v {
		j := of(s.Metric)
		if j < 0 {
			continue
		}
		le, err := strconv.ParseFloat(string(s.Metric[labelLE]), 64)
		if err != nil {
			continue
		}
		ks = append(ks, kept{j, analysis.Bucket{UpperBound: le, Count: float64(s.Value)}})
		counts[j]++
	}
	flat := make([]analysis.Bucket, 0, len(ks))
	for _, k := range ks {
		dst := into(k.acc)
		if *dst == nil {
			start := len(flat)
			flat = flat[:start+counts[k.acc]]
			*dst = flat[start:start:len(flat)]
		}
		*dst = append(*dst, k.bucket)
	}
}
