package controller

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// Event reasons. Events are recorded on transitions only.
const (
	EventReasonTargetNotFound         = "TargetNotFound"
	EventReasonTargetFound            = "TargetFound"
	EventReasonDesiredReplicasChanged = "DesiredReplicasChanged"
	EventReasonMetricsUnavailable     = "MetricsUnavailable"
	EventReasonMetricsAvailable       = "MetricsAvailable"
	EventReasonActuationFailed        = "ActuationFailed"
	EventReasonInvalidConfiguration   = "InvalidConfiguration"
	EventReasonConfigurationApplied   = "ConfigurationApplied"
	EventReasonHPAConflict            = "HPAConflict"
	EventReasonForeignScaleWrite      = "ForeignScaleWrite"
	EventReasonDirectActuationResumed = "DirectActuationResumed"
	EventReasonLimited                = "Limited"
	EventReasonLimitLifted            = "LimitLifted"
	EventReasonScalerCreated          = "ScalerCreated"
	EventReasonScalerUpdated          = "ScalerUpdated"
	EventReasonForeignScaler          = "ForeignScaler"
	EventReasonScalerFailed           = "ScalerFailed"
)

// Event actions (the events.k8s.io "action" field).
const (
	actionResolveTarget = "ResolveTarget"
	actionDecide        = "Decide"
	actionCollect       = "CollectMetrics"
	actionActuate       = "Actuate"
	actionLoadConfig    = "LoadConfiguration"
	actionSyncScaler    = "SyncScaler"
)

func targetNotFoundEvent(r events.EventRecorder, obj runtime.Object, target string, err error) {
	r.Eventf(obj, nil, corev1.EventTypeWarning, EventReasonTargetNotFound, actionResolveTarget,
		"Scale target Deployment %s is not available: %v", target, err)
}

func targetFoundEvent(r events.EventRecorder, obj runtime.Object, target string) {
	r.Eventf(obj, nil, corev1.EventTypeNormal, EventReasonTargetFound, actionResolveTarget,
		"Scale target Deployment %s found", target)
}

func desiredReplicasChangedEvent(r events.EventRecorder, obj runtime.Object, from, to int, d interfaces.VariantDecision) {
	r.Eventf(obj, nil, corev1.EventTypeNormal, EventReasonDesiredReplicasChanged, actionDecide,
		"Desired replicas %d -> %d on %s: %s", from, to, d.AcceleratorName, d.Reason)
}

func metricsUnavailableEvent(r events.EventRecorder, obj runtime.Object, reason, message string) {
	r.Eventf(obj, nil, corev1.EventTypeWarning, EventReasonMetricsUnavailable, actionCollect,
		"Metrics unavailable (%s); the previous decision stands: %s", reason, message)
}

func metricsAvailableEvent(r events.EventRecorder, obj runtime.Object) {
	r.Eventf(obj, nil, corev1.EventTypeNormal, EventReasonMetricsAvailable, actionCollect, "Metrics available again")
}

func actuationFailedEvent(r events.EventRecorder, obj runtime.Object, err error) {
	r.Eventf(obj, nil, corev1.EventTypeWarning, EventReasonActuationFailed, actionActuate,
		"Applying the decision failed: %v", err)
}

func hpaConflictEvent(r events.EventRecorder, obj runtime.Object, target, hpa string) {
	r.Eventf(obj, nil, corev1.EventTypeWarning, EventReasonHPAConflict, actionActuate,
		"HorizontalPodAutoscaler %s targets Deployment %s: Direct mode stops writing its replicas and leaves them to the HPA", hpa, target)
}

func foreignScaleWriteEvent(r events.EventRecorder, obj runtime.Object, target string, c *interfaces.ScaleConflict) {
	r.Eventf(obj, nil, corev1.EventTypeWarning, EventReasonForeignScaleWrite, actionActuate,
		"Field manager %q set Deployment %s to %d replicas after WVA had written %d; Direct mode owns the replicas and writes its decision again",
		c.Writer, target, c.Replicas, c.Written)
}

func directActuationResumedEvent(r events.EventRecorder, obj runtime.Object, target string) {
	r.Eventf(obj, nil, corev1.EventTypeNormal, EventReasonDirectActuationResumed, actionActuate,
		"No HorizontalPodAutoscaler targets Deployment %s any more: Direct mode writes its replicas again", target)
}

func invalidConfigurationEvent(r events.EventRecorder, obj runtime.Object, err error) {
	r.Eventf(obj, nil, corev1.EventTypeWarning, EventReasonInvalidConfiguration, actionLoadConfig,
		"Rejected %v; the last good value stays in force", err)
}

func configurationAppliedEvent(r events.EventRecorder, obj runtime.Object, what string) {
	r.Eventf(obj, nil, corev1.EventTypeNormal, EventReasonConfigurationApplied, actionLoadConfig,
		"Applied %s", what)
}

// keyErr names a ConfigMap key in an error for events and logs.
func keyErr(key string, err error) error { return fmt.Errorf("key %q: %w", key, err) }

func limitedEvent(r events.EventRecorder, obj runtime.Object, d interfaces.VariantDecision) {
	r.Eventf(obj, nil, corev1.EventTypeWarning, EventReasonLimited, actionDecide,
		"Desired replicas limited to %d on %s by %s", d.TargetReplicas, d.AcceleratorName, d.LimitedBy)
}

func limitLiftedEvent(r events.EventRecorder, obj runtime.Object, d interfaces.VariantDecision) {
	r.Eventf(obj, nil, corev1.EventTypeNormal, EventReasonLimitLifted, actionDecide,
		"No GPU limit holds the decision back any more: desired %d replicas on %s", d.TargetReplicas, d.AcceleratorName)
}

// scalerWrittenEvent records that WVA created or updated ("created", "updated") its scaler.
func scalerWrittenEvent(r events.EventRecorder, obj runtime.Object, wrote, scaler, target string) {
	reason := EventReasonScalerUpdated
	if wrote == "created" {
		reason = EventReasonScalerCreated
	}
	r.Eventf(obj, nil, corev1.EventTypeNormal, reason, actionSyncScaler, "%s %s for Deployment %s (spec.scaler)", capitalize(wrote), scaler, target)
}

func foreignScalerEvent(r events.EventRecorder, obj runtime.Object, message string) {
	r.Eventf(obj, nil, corev1.EventTypeWarning, EventReasonForeignScaler, actionSyncScaler, "%s", message)
}

func scalerFailedEvent(r events.EventRecorder, obj runtime.Object, message string) {
	r.Eventf(obj, nil, corev1.EventTypeWarning, EventReasonScalerFailed, actionSyncScaler, "%s", message)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
