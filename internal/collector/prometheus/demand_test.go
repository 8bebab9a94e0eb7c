package promsource

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/common/model"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// demandPod is the counters, gauges and histograms of one vLLM pod, each a straight line in
// time: value = base + slope × (t − start) seconds. Served with explicit timestamps on whole
// seconds, every sample Prometheus stores lies on the line, one per second. Evaluated at a whole
// second T with a whole-second window, the samples reach both ends of the window (within one
// interval at the start, at T at the end), so rate()'s extrapolation spans the whole window and
// rate() and deriv() are the slopes exactly: the expected values below are hand-computed.
type demandPod struct {
	ns, pod, model string
	// per second
	requests, promptTokens, genTokens float64 // finished requests; tokens per request are the means
	waitingBase, waitingSlope         float64
	running                           float64
	prefixHits, prefixQueries         float64
	ttftBounds                        []float64 // finite bounds; rates per second cumulative, last = total
	ttftRates                         []float64
	itlBounds                         []float64
	itlRates                          []float64
	legacyITL                         bool      // export vllm:time_per_output_token_seconds instead
	tpotBounds, tpotRates             []float64 // vllm:request_time_per_output_token_seconds
	// prefill is each finished request's mean prefill time in seconds (0: no
	// vllm:request_prefill_time_seconds histogram)
	prefill float64
	// gateway request rate (EPP) for this pod's model; 0: none exported
	gateway float64
}

// render writes the pod's exposition at t, start being the lines' origin.
func (p demandPod) render(b *strings.Builder, start, t time.Time) {
	x := t.Sub(start).Seconds()
	ts := strconv.FormatInt(t.UnixMilli(), 10)
	// Large bases keep rate()'s extrapolation from reaching zero, where it would clip.
	line := func(metric, extra string, base, slope float64) {
		fmt.Fprintf(b, "%s{namespace=%q,pod=%q,model_name=%q%s} %s %s\n", metric, p.ns, p.pod, p.model, extra,
			strconv.FormatFloat(base+slope*x, 'f', -1, 64), ts)
	}
	counter := func(metric string, slope float64) {
		fmt.Fprintf(b, "# TYPE %s counter\n", metric)
		line(metric, "", 1000, slope)
	}
	counter(MetricRequestSuccess, p.requests)
	counter(MetricPromptTokens, p.requests*p.promptTokens)
	counter(MetricGenerationTokens, p.requests*p.genTokens)
	counter(MetricPrefixCacheHits, p.prefixHits)
	counter(MetricPrefixCacheQueries, p.prefixQueries)
	fmt.Fprintf(b, "# TYPE %s gauge\n", MetricRequestsWaiting)
	line(MetricRequestsWaiting, "", p.waitingBase, p.waitingSlope)
	fmt.Fprintf(b, "# TYPE %s gauge\n", MetricRequestsRunning)
	line(MetricRequestsRunning, "", p.running, 0)
	fmt.Fprintf(b, "# TYPE %s gauge\n", MetricKvCacheUsage)
	line(MetricKvCacheUsage, "", 0.5, 0)
	histogram := func(metric string, bounds, rates []float64, sumSlope float64) {
		fmt.Fprintf(b, "# TYPE %s histogram\n", metric)
		for i, le := range bounds {
			line(metric+"_bucket", fmt.Sprintf(",le=%q", strconv.FormatFloat(le, 'f', -1, 64)), 1000, rates[i])
		}
		line(metric+"_bucket", `,le="+Inf"`, 1000, rates[len(rates)-1])
		line(metric+"_sum", "", 1000, sumSlope)
		line(metric+"_count", "", 1000, rates[len(rates)-1])
	}
	histogram(MetricRequestPromptTokens, []float64{100, 1000}, []float64{0, p.requests, p.requests}, p.requests*p.promptTokens)
	// A quarter of the requests end within 10 tokens, all within 100.
	histogram(MetricRequestGenerationTokens, []float64{10, 100, 1000}, []float64{p.requests / 4, p.requests, p.requests, p.requests}, p.requests*p.genTokens)
	if len(p.ttftBounds) > 0 {
		histogram(MetricTTFT, p.ttftBounds, p.ttftRates, 1)
	}
	if len(p.itlBounds) > 0 {
		name := MetricITL
		if p.legacyITL {
			name = MetricTPOT
		}
		histogram(name, p.itlBounds, p.itlRates, 1)
	}
	if len(p.tpotBounds) > 0 {
		histogram(MetricRequestTPOT, p.tpotBounds, p.tpotRates, 1)
	}
	if p.prefill > 0 {
		histogram(MetricRequestPrefillTime, []float64{1}, []float64{p.requests, p.requests}, p.requests*p.prefill)
	}
	if p.gateway > 0 {
		fmt.Fprintf(b, "# TYPE inference_objective_request_total counter\n")
		fmt.Fprintf(b, "inference_objective_request_total{namespace=%q,pod=\"epp\",model_name=\"alias\",target_model_name=%q} %s %s\n",
			p.ns, p.model, strconv.FormatFloat(1000+p.gateway*x, 'f', -1, 64), ts)
	}
}

// TestCollectDemandAndLatency serves two models whose counters, gauges and histograms grow at
// known rates, lets the real Prometheus scrape them, and checks every per-model signal against
// the hand-computed value: rates, mean lengths, prefix-cache hit rate, backlog growth, the
// offered load (from the gateway, and without it from vLLM), and the TTFT and ITL attainment at
// a bucket bound (exact) and inside a bucket (interpolated) and their p99, and the output-length
// histogram.
func TestCollectDemandAndLatency(t *testing.T) {
	c := newCluster(t)
	ns := c.namespace("demand")
	const llama, granite = "llama", "granite"
	c.deployment(ns, "llama", "llama", 2)
	c.pod(ns, "llama-6b7c8-a", "llama-6b7c8", "llama", true)
	c.pod(ns, "llama-6b7c8-b", "llama-6b7c8", "llama", true)
	c.deployment(ns, "granite", "granite", 1)
	c.pod(ns, "granite-5a4b3-a", "granite-5a4b3", "granite", true)
	c.synced(ns, 3, "llama", "granite")

	// llama: 2 pods of 5 requests/s with 200 prompt and 50 output tokens each. TTFT: of the
	// 5 per second, 10 % at or below 0.1 s, 50 % at 0.25 s, 90 % at 0.5 s, all at 1 s. ITL per
	// pod: 10, 40, 45, 50 of 50 tokens/s at 0.01, 0.025, 0.05, 0.1 s; pod b exports the older
	// name. The queue of pod a grows by 0.5 requests/s, pod b's stays at 2.
	ttftB, ttftR := []float64{0.1, 0.25, 0.5, 1}, []float64{0.5, 2.5, 4.5, 5, 5}
	itlB, itlR := []float64{0.01, 0.025, 0.05, 0.1}, []float64{10, 40, 45, 50, 50}
	// Per request (pod a only), the mean ITL: 4 of its 5 requests/s at or below 25 ms.
	tpotB, tpotR := []float64{0.01, 0.025, 0.05}, []float64{1, 4, 5, 5}
	pods := []demandPod{
		{ns: ns, pod: "llama-6b7c8-a", model: llama, requests: 5, promptTokens: 200, genTokens: 50, waitingBase: 4, waitingSlope: 0.5, running: 8,
			prefixHits: 250, prefixQueries: 1000, ttftBounds: ttftB, ttftRates: ttftR, itlBounds: itlB, itlRates: itlR, gateway: 12,
			tpotBounds: tpotB, tpotRates: tpotR, prefill: 0.04},
		{ns: ns, pod: "llama-6b7c8-b", model: llama, requests: 5, promptTokens: 200, genTokens: 50, waitingBase: 2, running: 8,
			prefixHits: 250, prefixQueries: 1000, ttftBounds: ttftB, ttftRates: ttftR, itlBounds: itlB, itlRates: itlR, legacyITL: true,
			prefill: 0.06},
		// granite: idle counters (nothing finished in the window), no latency histograms.
		{ns: ns, pod: "granite-5a4b3-a", model: granite, waitingBase: 0, running: 0},
	}
	start := time.Now().Truncate(time.Second)
	render := func() {
		var b strings.Builder
		now := time.Now().Truncate(time.Second)
		for _, p := range pods {
			p.render(&b, start, now)
		}
		servers["demand"].Set(b.String())
	}
	render()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
				render()
			}
		}
	}()
	const window = 5 * time.Second
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	// Evaluate at a whole second at least 6 s after the start whose sample Prometheus has.
	evalAt := start.Add(window + time.Second)
	// Every pod's: an instant selector at evalAt reads each pod's newest sample, and a pod
	// scraped a second late would read the line one second back.
	if _, err := prom.WaitFor(wctx, `timestamp(vllm:request_success_total{namespace="`+ns+`"})`, func(v model.Vector) bool {
		if len(v) != len(pods) {
			return false
		}
		for _, s := range v {
			if float64(s.Value) < float64(evalAt.Unix()) {
				return false
			}
		}
		return true
	}); err != nil {
		t.Fatalf("waiting for %s of samples: %v", window, err)
	}

	slo := interfaces.SLOTargets{TTFT: 250 * time.Millisecond, ITL: 25 * time.Millisecond, Attainment: 0.99}
	targets := []collector.Target{
		{VariantAutoscaling: vaKey(ns, "llama"), ModelID: llama, Deployment: "llama", SLO: slo},
		{VariantAutoscaling: vaKey(ns, "granite"), ModelID: granite, Deployment: "granite"},
	}
	collectAt := func(s *Source) collector.Snapshot {
		t.Helper()
		snap, err := s.Collect(context.Background(), targets, evalAt)
		if err != nil {
			t.Fatalf("Collect: %v", err)
		}
		return snap
	}
	snap := collectAt(New(promAPI, podCache, WithWindow(window)))
	if snap.Queries != queriesPerCycle() {
		t.Errorf("Queries = %d, want %d", snap.Queries, queriesPerCycle())
	}
	got := snap.Models[collector.ModelKey{Namespace: ns, ModelID: llama}]
	t.Logf("llama: %+v", got)

	inf := math.Inf(1)
	want := analysis.ModelMetrics{
		Window:      window,
		RequestRate: 10, ArrivalRate: 12, ArrivalSource: analysis.ArrivalFromGateway, GatewayRequestRate: 12,
		PromptTokensRate: 2000, GenerationTokensRate: 500, MeanPromptTokens: 200, MeanOutputTokens: 50,
		WaitingGrowth: 0.5, RunningGrowth: 0, PrefixCacheHitRate: 0.25,
		TTFT: buckets(0.1, 1, 0.25, 5, 0.5, 9, 1, 10, inf, 10),
		ITL:  buckets(0.01, 20, 0.025, 80, 0.05, 90, 0.1, 100, inf, 100),
		// 250 ms is a bucket bound: exactly 50 %. p99: rank 9.9 in (0.5, 1] → 0.5 + 0.5·0.9/1.
		TTFTAttainment: analysis.LatencySLI{Target: 250 * time.Millisecond, Known: true, Attainment: 0.5, P99: 950 * time.Millisecond, Requests: 10},
		// 25 ms is a bound: 80 %. p99: rank 99 in (0.05, 0.1] → 0.05 + 0.05·9/10.
		ITLAttainment: analysis.LatencySLI{Target: 25 * time.Millisecond, Known: true, Attainment: 0.8, P99: 95 * time.Millisecond, Requests: 100},
		// Per request: 4 of 5 at or below the 25 ms bound. p99: rank 4.95 in (0.025, 0.05] →
		// 0.025 + 0.025·0.95.
		RequestTPOT: buckets(0.01, 1, 0.025, 4, 0.05, 5, inf, 5),
		RequestTPOTAttainment: analysis.LatencySLI{Target: 25 * time.Millisecond, Known: true, Attainment: 0.8,
			P99: 48750 * time.Microsecond, Requests: 5},
		// Output lengths, both pods: 2.5 of the 10 requests/s within 10 tokens, all within 100.
		OutputLengths: buckets(10, 2.5, 100, 10, 1000, 10, inf, 10),
	}
	// Waiting at evalAt: pod a 4 + 0.5 × 6 s, pod b 2; their prompts 200 tokens each.
	want.Waiting = 4 + 0.5*evalAt.Sub(start).Seconds() + 2
	want.WaitingTokens = want.Waiting * 200
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(1e-6, 1e-9), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("llama (-want +got):\n%s", diff)
	}

	// Each pod's decode point: its mean running batch (8) and the median of its own ITL
	// histogram (rank 25 of 50 in (0.01, 0.025] → 0.01 + 0.015·15/30), pod b's under the older
	// name.
	for _, p := range snap.Variants[vaKey(ns, "llama")].Pods {
		if math.Abs(p.MeanRunningRequests-8) > 1e-6 || math.Abs(p.ITLMedianSeconds-0.0175) > 1e-6 {
			t.Errorf("pod %s: mean running %v, ITL median %v; want 8 and 0.0175", p.Name, p.MeanRunningRequests, p.ITLMedianSeconds)
		}
	}
	// Each pod's prefill point: the mean prompt (200 tokens) and the mean prefill time of its
	// own finished requests (40 ms on pod a, 60 ms on pod b), and its finish rate (5/s).
	wantPrefill := map[string]float64{"llama-6b7c8-a": 0.04, "llama-6b7c8-b": 0.06}
	for _, p := range snap.Variants[vaKey(ns, "llama")].Pods {
		if math.Abs(p.MeanPromptTokens-200) > 1e-6 || math.Abs(p.MeanPrefillSeconds-wantPrefill[p.Name]) > 1e-9 || math.Abs(p.FinishRate-5) > 1e-6 {
			t.Errorf("pod %s: mean prompt %v, mean prefill %v s, finish rate %v/s; want 200, %v and 5", p.Name, p.MeanPromptTokens,
				p.MeanPrefillSeconds, p.FinishRate, wantPrefill[p.Name])
		}
	}
	// Without the pod points (the manager's setting for analyzers other than slo) the five
	// point queries are not issued and the pods carry saturation readings only.
	bare := collectAt(New(promAPI, podCache, WithWindow(window), WithPodPoints(false)))
	if bare.Queries != queriesPerCycle()-5 {
		t.Errorf("without pod points: %d queries, want %d", bare.Queries, queriesPerCycle()-5)
	}
	for _, p := range bare.Variants[vaKey(ns, "llama")].Pods {
		if p.MeanRunningRequests != 0 || p.ITLMedianSeconds != 0 || p.MeanPrefillSeconds != 0 || p.FinishRate != 0 || p.KvCacheUsage != 0.5 {
			t.Errorf("without pod points, pod %+v: want KV 0.5 and no decode or prefill point", p)
		}
	}
	// Without the histograms (the manager's setting for analyzers other than slo) the four
	// histogram queries are not issued, the rates stand, and nothing is missing for it.
	noHist := collectAt(New(promAPI, podCache, WithWindow(window), WithModelHistograms(false)))
	if noHist.Queries != queriesPerCycle()-4 {
		t.Errorf("without histograms: %d queries, want %d", noHist.Queries, queriesPerCycle()-4)
	}
	nh := noHist.Models[collector.ModelKey{Namespace: ns, ModelID: llama}]
	if nh.TTFT.Total() != 0 || nh.ITL.Total() != 0 || nh.RequestTPOT.Total() != 0 || nh.OutputLengths.Total() != 0 || nh.TTFTAttainment.Known {
		t.Errorf("without histograms, llama has histogram signals: %+v", nh)
	}
	if math.Abs(nh.ArrivalRate-got.ArrivalRate) > 1e-9 || math.Abs(nh.MeanPromptTokens-got.MeanPromptTokens) > 1e-9 || !slices.Equal(nh.Missing, got.Missing) {
		t.Errorf("without histograms: arrival %v, prompt %v, missing %q; want %v, %v, %q as with them",
			nh.ArrivalRate, nh.MeanPromptTokens, nh.Missing, got.ArrivalRate, got.MeanPromptTokens, got.Missing)
	}
	if n := len(snap.Variants[vaKey(ns, "llama")].Pods); n != 2 {
		t.Errorf("llama has %d pods with metrics, want 2", n)
	}

	// Interpolated attainment: 375 ms lies halfway between the 0.25 s and 0.5 s bounds.
	if a, _ := got.TTFT.FractionBelow(0.375); math.Abs(a-0.7) > 1e-6 {
		t.Errorf("TTFT attainment at 375ms = %v, want 0.7", a)
	}
	// What Prometheus' own histogram_quantile says agrees with the collector's p99.
	q, _, _, err := prom.API.Query(ctx, `histogram_quantile(0.99, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{namespace="`+ns+`",model_name="llama"}[5s])))`, evalAt)
	if vec, ok := q.(model.Vector); err != nil || !ok || len(vec) != 1 || math.Abs(float64(vec[0].Value)-0.95) > 1e-6 {
		t.Errorf("histogram_quantile = %v (%v), want 0.95", q, err)
	}

	// Without the gateway, the offered load is the completions plus the queue's growth.
	noGW := collectAt(New(promAPI, podCache, WithWindow(window), WithGatewayMetric(GatewayMetric{})))
	m := noGW.Models[collector.ModelKey{Namespace: ns, ModelID: llama}]
	if m.ArrivalSource != analysis.ArrivalFromVLLM || math.Abs(m.ArrivalRate-10.5) > 1e-6 || m.GatewayRequestRate != 0 {
		t.Errorf("without gateway: arrival %v from %q (gateway %v), want 10.5 from vllm", m.ArrivalRate, m.ArrivalSource, m.GatewayRequestRate)
	}
	if noGW.Queries != snap.Queries-1 {
		t.Errorf("without gateway: %d queries, want %d", noGW.Queries, snap.Queries-1)
	}

	// granite: nothing finished, no histograms: zeros, never NaN, and every gap named.
	g := snap.Models[collector.ModelKey{Namespace: ns, ModelID: granite}]
	t.Logf("granite: %+v", g)
	for _, v := range []float64{g.RequestRate, g.ArrivalRate, g.MeanPromptTokens, g.MeanOutputTokens, g.PrefixCacheHitRate, g.TTFTAttainment.Attainment, g.ITLAttainment.Attainment} {
		if v != 0 || math.IsNaN(v) {
			t.Errorf("granite: a signal is %v, want 0: %+v", v, g)
		}
	}
	if g.ArrivalSource != analysis.ArrivalFromVLLM || g.TTFTAttainment.Known || g.ITLAttainment.Known {
		t.Errorf("granite: %+v, want an arrival of 0 from vllm and unknown latencies", g)
	}
	wantMissing := []string{
		"itl: no vllm:inter_token_latency_seconds (or vllm:time_per_output_token_seconds)_bucket series",
		"mean output length: NaN (no request finished in the window)",
		"mean prompt length: NaN (no request finished in the window)",
		"prefix cache hit rate: NaN (no prefix cache lookups in the window)",
		"ttft: no vllm:time_to_first_token_seconds_bucket series",
	}
	if diff := cmp.Diff(wantMissing, g.Missing); diff != "" {
		t.Errorf("granite missing signals (-want +got):\n%s", diff)
	}
	// The pod observations are unchanged by the model signals.
	if v := snap.Variants[vaKey(ns, "llama")]; !v.Metrics.Available || len(v.Pods) != 2 {
		t.Errorf("llama variant: %+v, want both pods reporting", v)
	}
}

// buckets builds a histogram from (upper bound, count) pairs.
func buckets(pairs ...float64) analysis.Histogram {
	var h analysis.Histogram
	for i := 0; i+1 < len(pairs); i += 2 {
		h.Buckets = append(h.Buckets, analysis.Bucket{UpperBound: pairs[i], Count: pairs[i+1]})
	}
	return h
}
