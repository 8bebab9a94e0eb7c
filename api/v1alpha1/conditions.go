package v1alpha1

// Condition types of a VariantAutoscaling. Only the controller writes them.
const (
	// ConditionReady summarises the others: True when the scale target exists, fresh metrics
	// were read, a decision is in status and nothing blocks its actuation, so that
	// `kubectl wait --for=condition=Ready va/NAME` waits for a working variant. When False, its
	// reason is the reason of the first condition that fails, in the order TargetResolved,
	// MetricsAvailable, OptimizationReady, then actuation (ActuationFailed, HPAConflict), then
	// ScalerOwned (with spec.scaler).
	ConditionReady = "Ready"
	// ConditionTargetResolved is True when the scale target Deployment exists.
	ConditionTargetResolved = "TargetResolved"
	// ConditionMetricsAvailable is True when the latest cycle read fresh metrics for the model.
	ConditionMetricsAvailable = "MetricsAvailable"
	// ConditionOptimizationReady is True when a decision for the variant is in status.
	ConditionOptimizationReady = "OptimizationReady"
	// ConditionActuationConflict is True when, in Direct mode, something other than WVA writes
	// the scale target's replicas. It is set only in Direct mode.
	ConditionActuationConflict = "ActuationConflict"
	// ConditionScalerOwned is True when WVA created, and keeps up to date, the scaler that
	// spec.scaler asks for. It is set only while spec.scaler is set.
	ConditionScalerOwned = "ScalerOwned"
)

// Reasons of the Ready condition besides the reasons it takes over from the other conditions.
const (
	// ReasonAutoscaling: every condition holds; the variant is autoscaled.
	ReasonAutoscaling = "Autoscaling"
	// ReasonActuationFailed: applying the latest decision (publishing it in Metrics mode,
	// writing the scale subresource in Direct mode) failed; the controller retries.
	ReasonActuationFailed = "ActuationFailed"
)

// Reasons of the TargetResolved condition.
const (
	// ReasonTargetFound: the scale target exists.
	ReasonTargetFound = "TargetFound"
	// ReasonTargetNotFound: the scale target does not exist.
	ReasonTargetNotFound = "TargetNotFound"
	// ReasonTargetDeleting: the scale target is being deleted.
	ReasonTargetDeleting = "TargetDeleting"
)

// Reasons of the MetricsAvailable condition.
const (
	// ReasonMetricsFound: fresh metrics were read.
	ReasonMetricsFound = "MetricsFound"
	// ReasonMetricsMissing: no metrics exist for the model's pods.
	ReasonMetricsMissing = "MetricsMissing"
	// ReasonMetricsStale: the newest metrics are older than the staleness limit.
	ReasonMetricsStale = "MetricsStale"
	// ReasonPrometheusError: querying Prometheus failed.
	ReasonPrometheusError = "PrometheusError"
	// ReasonMetricsLimitExceeded: Prometheus answered a query with more bytes or series than the
	// collector accepts (PROMETHEUS_MAX_RESPONSE_BYTES, PROMETHEUS_MAX_SERIES).
	ReasonMetricsLimitExceeded = "MetricsLimitExceeded"
	// ReasonAwaitingMetrics: no engine cycle has looked at the variant yet.
	ReasonAwaitingMetrics = "AwaitingMetrics"
)

// Reasons of the OptimizationReady condition.
const (
	// ReasonOptimizationSucceeded: the latest cycle produced a decision from fresh metrics.
	ReasonOptimizationSucceeded = "OptimizationSucceeded"
	// ReasonLimited: the latest cycle produced a decision from fresh metrics, held below what
	// the analyzer wanted by a GPU limit (the accelerator inventory or a quota), which the
	// message names.
	ReasonLimited = "Limited"
	// ReasonScaledToZero: the model has served no request for its scale-to-zero retention, so
	// every variant of it is at 0 replicas until a request waits (spec.scaleToZero).
	ReasonScaledToZero = "ScaledToZero"
	// ReasonDecisionHeld: the latest cycle could not decide, so the previous decision stands.
	ReasonDecisionHeld = "DecisionHeld"
	// ReasonAwaitingDecision: no decision exists yet for the variant.
	ReasonAwaitingDecision = "AwaitingDecision"
	// ReasonInvalidConfiguration: the variant cannot be optimized as configured.
	ReasonInvalidConfiguration = "InvalidConfiguration"
)

// Reasons of the ActuationConflict condition.
const (
	// ReasonNoConflict: WVA is the only writer of the scale target's replicas.
	ReasonNoConflict = "NoConflict"
	// ReasonHPAConflict: a HorizontalPodAutoscaler (or KEDA, through its HPA) targets the
	// Deployment. The HPA wins: WVA does not write the replicas and only publishes the gauges.
	ReasonHPAConflict = "HPAConflict"
	// ReasonForeignScaleWrite: another field manager changed spec.replicas since WVA last
	// wrote them. WVA wins: it wrote its decision again.
	ReasonForeignScaleWrite = "ForeignScaleWrite"
)

// Reasons of the ScalerOwned condition.
const (
	// ReasonScalerUpToDate: the HorizontalPodAutoscaler or ScaledObject WVA owns matches spec.
	ReasonScalerUpToDate = "ScalerUpToDate"
	// ReasonForeignScaler: a HorizontalPodAutoscaler or ScaledObject that WVA did not create
	// targets the Deployment, or has the name WVA would give its own; WVA leaves it as it is and
	// does not create one.
	ReasonForeignScaler = "ForeignScaler"
	// ReasonScalerFailed: creating or updating the scaler failed (for example, KEDA's
	// ScaledObject CRD is not installed); the controller retries.
	ReasonScalerFailed = "ScalerFailed"
)
