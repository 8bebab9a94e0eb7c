package controller

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
)

// readyInputs are the conditions the Ready condition summarises, in the order their failures
// are reported.
var readyInputs = []string{
	wvav1alpha1.ConditionTargetResolved,
	wvav1alpha1.ConditionMetricsAvailable,
	wvav1alpha1.ConditionOptimizationReady,
}

// readyCondition computes the Ready condition from the other conditions and the actuation
// status: True when TargetResolved, MetricsAvailable and OptimizationReady are True and the
// latest decision was applied and, with spec.scaler, ScalerOwned is True; otherwise False with
// the reason of the first failure.
func readyCondition(status *wvav1alpha1.VariantAutoscalingStatus) (metav1.ConditionStatus, string, string) {
	for _, typ := range readyInputs {
		c := meta.FindStatusCondition(status.Conditions, typ)
		if c == nil {
			return metav1.ConditionFalse, reasonNotObserved(typ), fmt.Sprintf("%s has not been observed yet.", typ)
		}
		if c.Status != metav1.ConditionTrue {
			return metav1.ConditionFalse, c.Reason, fmt.Sprintf("%s is %s: %s", typ, c.Status, c.Message)
		}
	}
	if a := status.Actuation; a != nil && !a.Applied {
		if c := meta.FindStatusCondition(status.Conditions, wvav1alpha1.ConditionActuationConflict); c != nil &&
			c.Status == metav1.ConditionTrue && c.Reason == wvav1alpha1.ReasonHPAConflict {
			return metav1.ConditionFalse, wvav1alpha1.ReasonHPAConflict, "Direct mode does not write the replicas: " + c.Message
		}
		return metav1.ConditionFalse, wvav1alpha1.ReasonActuationFailed,
			fmt.Sprintf("Applying the latest decision (%s mode) failed; the controller retries (see the ActuationFailed event).", a.Mode)
	}
	if c := meta.FindStatusCondition(status.Conditions, wvav1alpha1.ConditionScalerOwned); c != nil && c.Status != metav1.ConditionTrue {
		return metav1.ConditionFalse, c.Reason, fmt.Sprintf("%s is %s: %s", c.Type, c.Status, c.Message)
	}
	return metav1.ConditionTrue, wvav1alpha1.ReasonAutoscaling,
		"The scale target exists, fresh metrics were read and the latest decision was applied."
}

// reasonNotObserved is the Ready reason while a summarised condition is still absent.
func reasonNotObserved(typ string) string {
	switch typ {
	case wvav1alpha1.ConditionMetricsAvailable:
		return wvav1alpha1.ReasonAwaitingMetrics
	case wvav1alpha1.ConditionOptimizationReady:
		return wvav1alpha1.ReasonAwaitingDecision
	default:
		return wvav1alpha1.ReasonTargetNotFound
	}
}

// setReady writes the Ready condition that va's other conditions and actuation status imply.
func (r *VariantAutoscalingReconciler) setReady(va *wvav1alpha1.VariantAutoscaling) {
	status, reason, message := readyCondition(&va.Status)
	r.setCondition(va, wvav1alpha1.ConditionReady, status, reason, message)
}
