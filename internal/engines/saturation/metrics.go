package saturation

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
)

// Label keys of the engine's self-metrics.
const (
	labelDirection = "direction"
	labelAnalyzer  = "analyzer"
	labelNamespace = "namespace"
	labelVariant   = "variant_name"
	labelModel     = "model_name"
	labelParam     = "param"
	labelReason    = "reason"
)

// Values of the reason label of wva_engine_trigger_requests_total.
const (
	requestChanged = "changed"
	requestResync  = "resync"
)

// engineMetrics are the engine's own metrics, registered on an injected registerer.
type engineMetrics struct {
	cycleDuration    *prometheus.HistogramVec
	decisions        *prometheus.CounterVec
	collectionErrors prometheus.Counter
	queriesPerCycle  prometheus.Gauge
	triggerRequests  *prometheus.CounterVec
	triggerDeferred  prometheus.Counter
	triggerPending   prometheus.Gauge
	heldDecisions    prometheus.Counter
	scaledToZero     prometheus.Counter
	scaledFromZero   prometheus.Counter
	fromZeroErrors   prometheus.Counter
	// The slo analyzer's model of each variant: what a user needs to judge whether to trust it.
	sloCapacity   *prometheus.GaugeVec
	sloParam      *prometheus.GaugeVec
	sloModelError *prometheus.GaugeVec
	sloSamples    *prometheus.GaugeVec
	// sloPrefillError and sloPrefillSamples are the same for the prefill fit.
	sloPrefillError, sloPrefillSamples *prometheus.GaugeVec
	sloHeadroom                        *prometheus.GaugeVec
}

func newEngineMetrics(reg prometheus.Registerer) (*engineMetrics, error) {
	m := &engineMetrics{
		cycleDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wva_engine_cycle_duration_seconds",
			Help:    "Duration of one saturation engine cycle.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}, []string{labelAnalyzer}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wva_engine_decisions_total",
			Help: "Decisions made by the saturation engine, by direction (scale-up, scale-down, no-change).",
		}, []string{labelDirection}),
		collectionErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wva_engine_collection_errors_total",
			Help: "Cycles in which metrics could not be collected at all.",
		}),
		queriesPerCycle: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wva_engine_queries_per_cycle",
			Help: "Metrics backend queries issued by the latest cycle.",
		}),
		triggerRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wva_engine_trigger_requests_total",
			Help: "Reconcile requests the engine made, by reason: changed (the controller has something new to write) or resync (the periodic re-announcement of an unchanged decision).",
		}, []string{labelReason}),
		triggerDeferred: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wva_engine_trigger_deferred_total",
			Help: "Reconcile triggers that found the trigger channel full and were queued until it had room (none is dropped).",
		}),
		triggerPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wva_engine_trigger_pending",
			Help: "VariantAutoscalings whose reconcile trigger waits for room in the trigger channel (each at most once).",
		}),
		heldDecisions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wva_engine_held_decisions_total",
			Help: "Decisions that kept the previous target because the variant's metrics were unavailable.",
		}),
		scaledToZero: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wva_engine_scaled_to_zero_total",
			Help: "Models the engine scaled to zero after their scale-to-zero retention.",
		}),
		scaledFromZero: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wva_engine_scaled_from_zero_total",
			Help: "Models the scale-from-zero loop started again because a request waited.",
		}),
		fromZeroErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wva_engine_from_zero_errors_total",
			Help: "Scale-from-zero polls whose demand read failed, and wakes whose scale write failed.",
		}),
	}
	variant := []string{labelNamespace, labelVariant}
	m.sloCapacity = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "wva_slo_capacity_per_replica",
		Help: "Requests per second one replica of the variant is planned to carry within the SLO (slo analyzer).",
	}, variant)
	m.sloParam = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "wva_slo_perf_param_milliseconds",
		Help: "Performance parameter (alpha, beta, epsilon, gamma, delta, zeta) the slo analyzer sizes the variant with: perfParms or fitted online.",
	}, append(variant, labelParam))
	m.sloModelError = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "wva_slo_decode_model_error_ratio",
		Help: "Mean absolute relative error of the fitted decode model's one-step-ahead ITL predictions (0.05 is 5 %).",
	}, variant)
	m.sloSamples = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "wva_slo_decode_samples",
		Help: "Decode samples the variant's estimator has accepted.",
	}, variant)
	m.sloPrefillError = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "wva_slo_prefill_model_error_ratio",
		Help: "Mean absolute relative error of the fitted prefill model's one-step-ahead predictions of a pod's mean prefill work (0.05 is 5 %).",
	}, variant)
	m.sloPrefillSamples = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "wva_slo_prefill_samples",
		Help: "Prefill samples the variant's estimator has accepted.",
	}, variant)
	m.sloHeadroom = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "wva_slo_headroom",
		Help: "The slo analyzer's attainment-feedback multiplier of the model's planned demand (1: no correction).",
	}, []string{labelNamespace, labelModel})
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.cycleDuration, m.decisions, m.collectionErrors, m.queriesPerCycle, m.triggerRequests, m.triggerDeferred, m.triggerPending,
		m.heldDecisions, m.scaledToZero, m.scaledFromZero, m.fromZeroErrors, m.sloCapacity, m.sloParam, m.sloModelError, m.sloSamples, m.sloPrefillError, m.sloPrefillSamples, m.sloHeadroom} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// observeSLO publishes the slo analyzer's model of a model's variants (nothing for other
// analyzers or a capacity fallback).
func (m *engineMetrics) observeSLO(namespace, modelID string, b *analysis.SLOBreakdown) {
	if m == nil || b == nil {
		return
	}
	m.sloHeadroom.WithLabelValues(namespace, modelID).Set(b.Headroom)
	for _, v := range b.Variants {
		m.sloCapacity.WithLabelValues(namespace, v.Name).Set(v.CapacityPerReplica)
		m.sloModelError.WithLabelValues(namespace, v.Name).Set(v.DecodeError)
		m.sloSamples.WithLabelValues(namespace, v.Name).Set(float64(v.DecodeSamples))
		m.sloPrefillError.WithLabelValues(namespace, v.Name).Set(v.PrefillError)
		m.sloPrefillSamples.WithLabelValues(namespace, v.Name).Set(float64(v.PrefillSamples))
		p := v.Params
		for name, x := range map[string]float64{"alpha": p.AlphaMs, "beta": p.BetaMs, "epsilon": p.EpsilonMs, "gamma": p.GammaMs,
			"delta": p.DeltaMs, "zeta": p.ZetaMs} {
			m.sloParam.WithLabelValues(namespace, v.Name, name).Set(x)
		}
	}
}

// forgetSLO drops the slo series of a variant that is gone.
func (m *engineMetrics) forgetSLO(namespace, variant string) {
	if m == nil {
		return
	}
	labels := prometheus.Labels{labelNamespace: namespace, labelVariant: variant}
	for _, g := range []*prometheus.GaugeVec{m.sloCapacity, m.sloParam, m.sloModelError, m.sloSamples, m.sloPrefillError, m.sloPrefillSamples} {
		g.DeletePartialMatch(labels)
	}
}
