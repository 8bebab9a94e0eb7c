package actuator

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names. The three gauges are the contract with HPA and KEDA (see docs/actuation.md):
// renaming one, or one of its label keys, breaks every HPA, ScaledObject and prometheus-adapter
// rule that consumes it.
const (
	// DesiredReplicasMetric is the replica count WVA wants for the variant: the decision's
	// TargetReplicas, as written to status.optimizedAlloc.replicas. It is the HPA/KEDA input;
	// with an AverageValue target of 1 the HPA copies it.
	DesiredReplicasMetric = "wva_desired_replicas"
	// CurrentReplicasMetric is the replica count the engine observed for the variant when it
	// decided: the scale target's spec.replicas, including replicas that are still starting.
	CurrentReplicasMetric = "wva_current_replicas"
	// DesiredRatioMetric is desired / current, or desired when current is 0 (see DesiredRatio).
	DesiredRatioMetric = "wva_desired_ratio"
	// ReplicaScalingTotalMetric counts changes of the published desired replica count, by
	// direction. The first value published for a variant is not a change.
	ReplicaScalingTotalMetric = "wva_replica_scaling_total"
	// ActuationErrorsTotalMetric counts failed actuations, by operation.
	ActuationErrorsTotalMetric = "wva_actuation_errors_total"
	// DecisionAgeMetric is the age of a decision (from the engine cycle that computed it,
	// VariantDecision.LastRunTime) when it took effect, by operation: OperationPublish when the
	// published desired replica count changed, OperationScale when Direct mode wrote the scale
	// subresource. Only changes are observed, so it measures how long a new decision takes to
	// reach the HPA input or spec.replicas, not how often unchanged decisions are re-applied.
	DecisionAgeMetric = "wva_decision_age_at_actuation_seconds"
)

// decisionAgeBuckets spans a reconcile right after the cycle (tens of milliseconds) to a
// backlog of minutes at thousands of variants.
var decisionAgeBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120, 300}

// Label keys of the exported metrics.
const (
	// LabelVariantName is the name of the scale target Deployment (the VariantAutoscaling's
	// spec.scaleTargetRef.name), not the name of the VariantAutoscaling, so that an HPA's
	// selector can name the Deployment it scales.
	LabelVariantName = "variant_name"
	// LabelNamespace is the namespace of the VariantAutoscaling and its Deployment.
	LabelNamespace = "namespace"
	// LabelAcceleratorType is the accelerator type the decision is for (e.g. "H100").
	LabelAcceleratorType = "accelerator_type"
	// LabelDirection is DirectionUp or DirectionDown on ReplicaScalingTotalMetric.
	LabelDirection = "direction"
	// LabelOperation is OperationPublish or OperationScale on ActuationErrorsTotalMetric.
	LabelOperation = "operation"

	// ScrapedNamespaceLabel is what LabelNamespace is called in Prometheus when the scrape
	// does not honour the target's labels (the default): Prometheus keeps its own namespace
	// label (the controller pod's namespace) and renames ours to exported_namespace. HPA
	// selectors, prometheus-adapter rules and KEDA queries must use this name.
	ScrapedNamespaceLabel = "exported_namespace"
)

// Values of LabelDirection.
const (
	// DirectionUp marks an increase of the published desired replica count.
	DirectionUp = "up"
	// DirectionDown marks a decrease of the published desired replica count.
	DirectionDown = "down"
)

// Values of LabelOperation.
const (
	// OperationPublish is a refused publication: another VariantAutoscaling already publishes
	// the series of the same Deployment (see ErrTargetClaimed).
	OperationPublish = "publish"
	// OperationScale is a failed read or write of the scale subresource in Direct mode.
	OperationScale = "scale"
)

// metrics holds the collectors of one Actuator.
type metrics struct {
	desired *prometheus.GaugeVec
	current *prometheus.GaugeVec
	ratio   *prometheus.GaugeVec
	scaling *prometheus.CounterVec
	errors  *prometheus.CounterVec
	age     *prometheus.HistogramVec
}

// newMetrics creates the collectors and registers them on reg.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	variantLabels := []string{LabelVariantName, LabelNamespace, LabelAcceleratorType}
	m := &metrics{
		desired: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: DesiredReplicasMetric,
			Help: "Replicas the autoscaler wants for the variant (the HPA/KEDA input); variant_name is the scale target Deployment.",
		}, variantLabels),
		current: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: CurrentReplicasMetric,
			Help: "Replicas the variant had (scale target spec.replicas) when the autoscaler decided.",
		}, variantLabels),
		ratio: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: DesiredRatioMetric,
			Help: "Desired replicas divided by current replicas; equal to desired replicas when current is 0.",
		}, variantLabels),
		scaling: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ReplicaScalingTotalMetric,
			Help: "Changes of the published desired replica count, by direction.",
		}, []string{LabelVariantName, LabelNamespace, LabelDirection}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ActuationErrorsTotalMetric,
			Help: "Failed actuations of a variant's decision, by operation (publish, scale).",
		}, []string{LabelVariantName, LabelNamespace, LabelOperation}),
		age: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    DecisionAgeMetric,
			Help:    "Seconds from the engine cycle that computed a changed decision to its publication (publish) or scale write (scale).",
			Buckets: decisionAgeBuckets,
		}, []string{LabelOperation}),
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.desired, m.current, m.ratio, m.scaling, m.errors, m.age} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("registering actuator metrics: %w", err)
	}
	return m, nil
}

// DesiredRatio is the value of DesiredRatioMetric: desired / current, or desired itself when
// current is 0, so that a variant at zero replicas reports its desired count (and 0 when both
// are 0) instead of +Inf or NaN.
func DesiredRatio(current, desired int) float64 {
	if current == 0 {
		return float64(desired)
	}
	return float64(desired) / float64(current)
}

// series is the label set of one variant's gauges.
type series struct {
	variant, namespace, accelerator string
}

func (s series) labels() prometheus.Labels {
	return prometheus.Labels{LabelVariantName: s.variant, LabelNamespace: s.namespace, LabelAcceleratorType: s.accelerator}
}

// target is the scale target a series names; counters are labelled by it.
func (s series) target() target { return target{namespace: s.namespace, name: s.variant} }

// target identifies a scale target Deployment.
type target struct{ namespace, name string }

func (t target) labels() prometheus.Labels {
	return prometheus.Labels{LabelVariantName: t.name, LabelNamespace: t.namespace}
}

func (t target) String() string { return t.namespace + "/" + t.name }

func (m *metrics) set(s series, current, desired int) {
	l := s.labels()
	m.desired.With(l).Set(float64(desired))
	m.current.With(l).Set(float64(current))
	m.ratio.With(l).Set(DesiredRatio(current, desired))
}

func (m *metrics) deleteGauges(s series) {
	l := s.labels()
	m.desired.Delete(l)
	m.current.Delete(l)
	m.ratio.Delete(l)
}

func (m *metrics) scaled(t target, from, to int) {
	switch {
	case to > from:
		m.scaling.WithLabelValues(t.name, t.namespace, DirectionUp).Inc()
	case to < from:
		m.scaling.WithLabelValues(t.name, t.namespace, DirectionDown).Inc()
	}
}

// observeAge records the age of a decision computed at decidedAt when it took effect at now;
// a decision without a time (zero) is not observed.
func (m *metrics) observeAge(operation string, decidedAt, now time.Time) {
	if decidedAt.IsZero() {
		return
	}
	m.age.WithLabelValues(operation).Observe(max(now.Sub(decidedAt), 0).Seconds())
}

func (m *metrics) failed(t target, operation string) {
	m.errors.WithLabelValues(t.name, t.namespace, operation).Inc()
}

func (m *metrics) deleteCounters(t target) {
	m.scaling.DeletePartialMatch(t.labels())
	m.errors.DeletePartialMatch(t.labels())
}
