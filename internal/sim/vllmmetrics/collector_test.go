package vllmmetrics

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
)

// fixed is a replica state with round numbers.
func fixed() sim.ReplicaMetrics {
	ttft := sim.NewHistogram(sim.TTFTBuckets())
	ttft.Observe(0.3, 2) // le=0.5
	ttft.Observe(3, 1)   // le=5
	return sim.ReplicaMetrics{
		Gauges:     sim.Gauges{KVCacheUsage: 0.25, Waiting: 3, Running: 7},
		Counters:   sim.Counters{RequestSuccess: 11, PromptTokensTotal: 1200, GenerationTokensTotal: 3400, Preemptions: 2},
		Histograms: sim.Histograms{TTFT: ttft, ITL: sim.NewHistogram(sim.ITLBuckets()), TPOT: sim.NewHistogram(sim.ITLBuckets()), E2E: sim.NewHistogram(sim.RequestLatencyBuckets()), QueueTime: sim.NewHistogram(sim.RequestLatencyBuckets()), PromptTokens: sim.NewHistogram(sim.TokenBuckets(sim.MaxModelLen)), GenerationTokens: sim.NewHistogram(sim.TokenBuckets(sim.MaxModelLen))},
	}
}

// A /metrics endpoint served over 127.0.0.1 returns the vLLM metric set, parseable by the
// Prometheus text parser, with vLLM's names, labels and buckets.
func TestHandlerServesTheVLLMMetricSet(t *testing.T) {
	e, err := NewExposition(New("llama", 160000, fixed))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e.Handler()) // listens on 127.0.0.1
	defer srv.Close()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", string(TextFormat))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing the exposition: %v", err)
	}

	value := func(name string) float64 {
		t.Helper()
		mf, ok := mfs[name]
		if !ok || len(mf.Metric) != 1 {
			t.Fatalf("%s: want one series, got %v", name, mf)
		}
		m := mf.Metric[0]
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Counter != nil:
			return m.Counter.GetValue()
		}
		t.Fatalf("%s is neither a gauge nor a counter", name)
		return 0
	}
	got := map[string]float64{}
	for _, n := range []string{sim.MetricNumRequestsRunning, sim.MetricNumRequestsWaiting, sim.MetricKVCacheUsage,
		sim.MetricCacheConfigInfo, sim.MetricPromptTokensTotal, sim.MetricGenerationTokensTotal, sim.MetricRequestSuccessTotal,
		sim.MetricNumPreemptionsTotal, sim.MetricPrefixCacheHits} {
		got[n] = value(n)
	}
	want := map[string]float64{sim.MetricNumRequestsRunning: 7, sim.MetricNumRequestsWaiting: 3, sim.MetricKVCacheUsage: 0.25,
		sim.MetricCacheConfigInfo: 1, sim.MetricPromptTokensTotal: 1200, sim.MetricGenerationTokensTotal: 3400,
		sim.MetricRequestSuccessTotal: 11, sim.MetricNumPreemptionsTotal: 2, sim.MetricPrefixCacheHits: 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	labels := func(m *dto.Metric) map[string]string {
		out := map[string]string{}
		for _, lp := range m.Label {
			out[lp.GetName()] = lp.GetValue()
		}
		return out
	}
	if diff := cmp.Diff(map[string]string{"model_name": "llama", "engine": "0"}, labels(mfs[sim.MetricKVCacheUsage].Metric[0])); diff != "" {
		t.Errorf("gauge labels (-want +got):\n%s", diff)
	}
	info := labels(mfs[sim.MetricCacheConfigInfo].Metric[0])
	if info["num_gpu_blocks"] != "10000" || info["block_size"] != "16" {
		t.Errorf("cache_config_info labels %v, want num_gpu_blocks 10000 (160000 / 16) and block_size 16", info)
	}
	h := mfs[sim.MetricTTFTSeconds]
	if h.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("%s has type %s, want histogram", sim.MetricTTFTSeconds, h.GetType())
	}
	hist := h.Metric[0].Histogram
	buckets := map[float64]uint64{}
	for _, b := range hist.Bucket {
		buckets[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	if len(hist.Bucket) != len(sim.TTFTBuckets())+1 || buckets[0.25] != 0 || buckets[0.5] != 2 || buckets[2.5] != 2 || buckets[5] != 3 ||
		hist.GetSampleCount() != 3 || hist.GetSampleSum() != 3.6 {
		t.Errorf("TTFT histogram: %d buckets %v, count %d, sum %g", len(hist.Bucket), buckets, hist.GetSampleCount(), hist.GetSampleSum())
	}
	for _, n := range []string{sim.MetricInterTokenLatency, sim.MetricRequestTPOT, sim.MetricE2ERequestLatency, sim.MetricRequestQueueTime,
		sim.MetricRequestPromptTokens, sim.MetricRequestGenerationToken} {
		if mfs[n].GetType() != dto.MetricType_HISTOGRAM {
			t.Errorf("%s missing or not a histogram", n)
		}
	}
}
