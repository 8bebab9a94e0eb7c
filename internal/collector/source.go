package collector

import (
	"context"
	"errors"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// ErrNoData is returned (wrapped) when a source has nothing to report for a variant.
var ErrNoData = errors.New("no metrics")

// ErrStale is returned (wrapped) when a source's newest metrics are too old to act on.
var ErrStale = errors.New("stale metrics")

// Target is one variant the engine wants observed.
type Target struct {
	// VariantAutoscaling is the key of the VariantAutoscaling.
	VariantAutoscaling types.NamespacedName
	// ModelID is the served model name (the model_name label of the vLLM metrics).
	ModelID string
	// Deployment is the name of the scale target Deployment in the same namespace.
	Deployment string
	// SLO is the latency targets of the target's model, the same for every target of a model;
	// the model's observed attainment is measured at them. Zero: only the p99 is measured.
	SLO interfaces.SLOTargets
}

// ModelKey identifies one model in one namespace: the unit whose demand and latency are read.
type ModelKey struct {
	Namespace string
	ModelID   string
}

// Status says whether a variant's metrics can be acted on, in the vocabulary of the
// MetricsAvailable condition.
type Status struct {
	// Available is true when fresh metrics were read for every ready pod of the variant.
	Available bool
	// Reason is a CamelCase reason: MetricsFound, MetricsMissing, MetricsStale, PrometheusError
	// or MetricsLimitExceeded.
	Reason string
	// Message explains the status in a sentence.
	Message string
}

// MaxStartupSamples caps VariantObservation.StartupSamples.
const MaxStartupSamples = 5

// VariantObservation is what one cycle saw of one variant.
type VariantObservation struct {
	// TargetFound is false when the scale target does not exist or is being deleted.
	TargetFound bool
	// CurrentReplicas is the scale target's desired replicas (spec.replicas; nil counts as 1).
	CurrentReplicas int
	// ReadyReplicas is the number of ready pods of the scale target.
	ReadyReplicas int
	// StartingReplicas is the number of pods of the scale target that are neither ready nor
	// unschedulable: placed on a node (or not yet seen by the scheduler) and starting up.
	StartingReplicas int
	// UnschedulableReplicas is the number of pods of the scale target the scheduler could not
	// place (PodScheduled=False, reason Unschedulable; e.g. for want of GPUs). They are neither
	// capacity nor on their way to it.
	UnschedulableReplicas int
	// Pods holds the metrics of each ready pod that reported fresh ones, sorted by name.
	Pods []analysis.PodMetrics
	// KvCacheTokens is the KV-cache capacity of one replica in tokens (0 when unknown).
	KvCacheTokens float64
	// StartupSamples holds the start-up delays (Ready condition's lastTransitionTime minus the
	// pod's creationTimestamp) of the ready pods that became ready most recently, newest first,
	// at most MaxStartupSamples; empty when no ready pod carries both times.
	StartupSamples []time.Duration
	// Metrics says whether the pod metrics can be acted on.
	Metrics Status
}

// Snapshot is the result of one collection.
type Snapshot struct {
	// Variants maps each requested target's VariantAutoscaling key to its observation.
	Variants map[types.NamespacedName]VariantObservation
	// Models holds the demand and latency of each model of the targets whose Deployment exists.
	// A model whose signals could not be read has an entry listing them in Missing.
	Models map[ModelKey]analysis.ModelMetrics
	// CollectedAt is when the collection ran.
	CollectedAt time.Time
	// Queries is the number of PromQL queries the collection issued.
	Queries int
}

// Source observes variants. Implementations must issue a bounded number of backend queries per
// call, independent of the number of targets. An error means nothing could be observed (for
// example Prometheus is unreachable); per-variant problems are reported in each Status instead.
type Source interface {
	Collect(ctx context.Context, targets []Target, now time.Time) (Snapshot, error)
}
