package promsource

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Label keys of the collector's self-metrics.
const (
	labelLimit = "limit"
	labelQuery = "query"
)

// Metrics are the collector's self-metrics. Build them with NewMetrics and pass them to every
// Source with WithMetrics.
type Metrics struct {
	limitExceeded *prometheus.CounterVec
}

// NewMetrics returns the collector's metrics, registered on reg unless reg is nil.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		limitExceeded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wva_collector_response_limit_exceeded_total",
			Help: "Prometheus responses abandoned because they exceeded a limit (limit: bytes or series), by query.",
		}, []string{labelLimit, labelQuery}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.limitExceeded} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// unregisteredMetrics are the metrics of a Source built without WithMetrics.
func unregisteredMetrics() *Metrics {
	m, _ := NewMetrics(nil)
	return m
}
