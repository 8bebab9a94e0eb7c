package saturation

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Label keys of the engine's self-metrics.
const (
	labelDirection = "direction"
	labelAnalyzer  = "analyzer"
)

// engineMetrics are the engine's own metrics, registered on an injected registerer.
type engineMetrics struct {
	cycleDuration    *prometheus.HistogramVec
	decisions        *prometheus.CounterVec
	collectionErrors prometheus.Counter
	queriesPerCycle  prometheus.Gauge
	triggerDeferred  prometheus.Counter
	triggerPending   prometheus.Gauge
	heldDecisions    prometheus.Counter
	scaledToZero     prometheus.Counter
	scaledFromZero   prometheus.Counter
	fromZeroErrors   prometheus.Counter
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
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.cycleDuration, m.decisions, m.collectionErrors, m.queriesPerCycle, m.triggerDeferred, m.triggerPending,
		m.heldDecisions, m.scaledToZero, m.scaledFromZero, m.fromZeroErrors} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
