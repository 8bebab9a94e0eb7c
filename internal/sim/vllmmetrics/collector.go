package vllmmetrics

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
)

// Labels of the vLLM series.
const (
	// LabelModelName is the served model name.
	LabelModelName = "model_name"
	// LabelEngine is the index of the engine core; a simulated replica has one, "0".
	LabelEngine = "engine"
	// LabelFinishedReason is why a request finished (vllm:request_success_total).
	LabelFinishedReason = "finished_reason"
)

// engineIndex is the engine label of every series: one engine per replica.
const engineIndex = "0"

// finishedStop is the finish reason of every simulated request: it ends at its trace length,
// as if the model had stopped there.
const finishedStop = "stop"

// The cache_config_info labels the simulator sets (vLLM exports every CacheConfig field; the
// collector reads num_gpu_blocks and block_size).
var cacheConfigLabels = []string{"block_size", "cache_dtype", "enable_prefix_caching", LabelEngine, "num_gpu_blocks"}

// Collector is a prometheus.Collector of one replica's vLLM metrics. It reads the replica's
// state through its read function at every collection, so it always reports the current values.
type Collector struct {
	model    string
	kvTokens int
	read     func() sim.ReplicaMetrics

	running, waiting, kvUsage, cacheInfo                       *prometheus.Desc
	promptTokens, genTokens, success, preemptions, pcQ, pcHits *prometheus.Desc
	ttft, itl, tpot, e2e, queue, prefill, promptHist, genHist  *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns the Collector of a replica serving modelName with a KV cache of kvCacheTokens
// tokens; read returns the replica's current metrics.
func New(modelName string, kvCacheTokens int, read func() sim.ReplicaMetrics) *Collector {
	l := []string{LabelModelName, LabelEngine}
	d := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &Collector{
		model: modelName, kvTokens: kvCacheTokens, read: read,
		running:      d(sim.MetricNumRequestsRunning, "Number of requests in model execution batches.", l),
		waiting:      d(sim.MetricNumRequestsWaiting, "Number of requests waiting to be processed.", l),
		kvUsage:      d(sim.MetricKVCacheUsage, "KV-cache usage. 1 means 100 percent usage.", l),
		cacheInfo:    d(sim.MetricCacheConfigInfo, "Information of the LLMEngine CacheConfig", cacheConfigLabels),
		promptTokens: d(sim.MetricPromptTokensTotal, "Number of prefill tokens processed.", l),
		genTokens:    d(sim.MetricGenerationTokensTotal, "Number of generation tokens processed.", l),
		success:      d(sim.MetricRequestSuccessTotal, "Count of successfully processed requests.", append(l[:2:2], LabelFinishedReason)),
		preemptions:  d(sim.MetricNumPreemptionsTotal, "Cumulative number of preemption from the engine.", l),
		pcQ:          d(sim.MetricPrefixCacheQueries, "Prefix cache queries, in terms of number of queried tokens.", l),
		pcHits:       d(sim.MetricPrefixCacheHits, "Prefix cache hits, in terms of number of cached tokens.", l),
		ttft:         d(sim.MetricTTFTSeconds, "Histogram of time to first token in seconds.", l),
		itl:          d(sim.MetricInterTokenLatency, "Histogram of inter-token latency in seconds.", l),
		tpot:         d(sim.MetricRequestTPOT, "Histogram of time_per_output_token_seconds per request.", l),
		e2e:          d(sim.MetricE2ERequestLatency, "Histogram of e2e request latency in seconds.", l),
		queue:        d(sim.MetricRequestQueueTime, "Histogram of time spent in WAITING phase for request.", l),
		prefill:      d(sim.MetricRequestPrefillTime, "Histogram of time spent in PREFILL phase for request.", l),
		promptHist:   d(sim.MetricRequestPromptTokens, "Number of prefill tokens processed.", l),
		genHist:      d(sim.MetricRequestGenerationToken, "Number of generation tokens processed.", l),
	}
}

// ForPod returns the Collector of a simulated pod.
func ForPod(p sim.Pod) *Collector {
	return New(p.Variant.ModelID, p.Variant.Profile.KVCacheTokens, p.Read)
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.running, c.waiting, c.kvUsage, c.cacheInfo, c.promptTokens, c.genTokens,
		c.success, c.preemptions, c.pcQ, c.pcHits, c.ttft, c.itl, c.tpot, c.e2e, c.queue, c.prefill, c.promptHist, c.genHist} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	m := c.read()
	g, k, h := m.Gauges, m.Counters, m.Histograms
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, c.model, engineIndex)
	}
	counter := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), c.model, engineIndex)
	}
	hist := func(d *prometheus.Desc, x sim.Histogram) {
		ch <- prometheus.MustNewConstHistogram(d, x.Count, x.Sum, x.Cumulative(), c.model, engineIndex)
	}
	gauge(c.running, float64(g.Running))
	gauge(c.waiting, float64(g.Waiting))
	gauge(c.kvUsage, g.KVCacheUsage)
	ch <- prometheus.MustNewConstMetric(c.cacheInfo, prometheus.GaugeValue, 1,
		strconv.Itoa(sim.KVBlockSize), "auto", "True", engineIndex, strconv.Itoa(c.kvTokens/sim.KVBlockSize))
	counter(c.promptTokens, k.PromptTokensTotal)
	counter(c.genTokens, k.GenerationTokensTotal)
	ch <- prometheus.MustNewConstMetric(c.success, prometheus.CounterValue, float64(k.RequestSuccess), c.model, engineIndex, finishedStop)
	counter(c.preemptions, k.Preemptions)
	counter(c.pcQ, k.PrefixCacheQueries)
	counter(c.pcHits, k.PrefixCacheHits)
	hist(c.ttft, h.TTFT)
	hist(c.itl, h.ITL)
	hist(c.tpot, h.TPOT)
	hist(c.e2e, h.E2E)
	hist(c.queue, h.QueueTime)
	hist(c.prefill, h.PrefillTime)
	hist(c.promptHist, h.PromptTokens)
	hist(c.genHist, h.GenerationTokens)
}

// Exposition gathers one or more collectors, as one /metrics endpoint serves them.
type Exposition struct {
	reg *prometheus.Registry
}

// NewExposition returns the exposition of cs; it fails if two collectors clash.
func NewExposition(cs ...prometheus.Collector) (*Exposition, error) {
	reg := prometheus.NewPedanticRegistry()
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering vLLM metrics: %w", err)
		}
	}
	return &Exposition{reg: reg}, nil
}

// TextFormat is the exposition format Text writes, as a Content-Type.
var TextFormat = expfmt.NewFormat(expfmt.TypeTextPlain)

// Text returns the current metrics in the Prometheus text format (TextFormat), what a scrape of
// Handler returns to a client that asks for text.
func (e *Exposition) Text() ([]byte, error) {
	mfs, err := e.reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("gathering vLLM metrics: %w", err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, TextFormat)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return nil, fmt.Errorf("encoding %s: %w", mf.GetName(), err)
		}
	}
	return buf.Bytes(), nil
}

// Handler serves the metrics as a /metrics endpoint does (content negotiation by promhttp).
func (e *Exposition) Handler() http.Handler {
	return promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError})
}
