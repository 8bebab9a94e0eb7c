package controller

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// setOptimized sets OptimizationReady for a decision computed from fresh metrics: reason
// ScaledToZero when the model is parked at zero (spec.scaleToZero), Limited naming the limit
// when a GPU limit held it back, else OptimizationSucceeded; and
// records Limited / LimitLifted when that changes.
func (r *VariantAutoscalingReconciler) setOptimized(va, original *wvav1alpha1.VariantAutoscaling, d interfaces.VariantDecision) {
	switch {
	case d.ScaledToZero:
		r.setCondition(va, wvav1alpha1.ConditionOptimizationReady, metav1.ConditionTrue, wvav1alpha1.ReasonScaledToZero,
			decisionMessage(d)+" The model served no request for its scale-to-zero retention; a waiting request starts its cheapest variant again.")
	case d.LimitedBy == "":
		r.setCondition(va, wvav1alpha1.ConditionOptimizationReady, metav1.ConditionTrue, wvav1alpha1.ReasonOptimizationSucceeded, decisionMessage(d))
	default:
		r.setCondition(va, wvav1alpha1.ConditionOptimizationReady, metav1.ConditionTrue, wvav1alpha1.ReasonLimited,
			limitedMessage(d))
	}
	prev, known := r.limits.set(client.ObjectKeyFromObject(va), d.LimitedBy)
	if !known {
		// First sight since start: the status says whether it was limited, and by what.
		prev = ""
		if c := meta.FindStatusCondition(original.Status.Conditions, wvav1alpha1.ConditionOptimizationReady); c != nil && c.Reason == wvav1alpha1.ReasonLimited {
			prev = d.LimitedBy
			if c.Message != limitedMessage(d) {
				prev = c.Message
			}
		}
	}
	switch {
	case d.LimitedBy != "" && prev != d.LimitedBy:
		limitedEvent(r.recorder, va, d)
	case d.LimitedBy == "" && prev != "":
		limitLiftedEvent(r.recorder, va, d)
	}
}

// limitedMessage is the OptimizationReady message of a limited decision: the decision-level
// facts and the limit that held it back.
func limitedMessage(d interfaces.VariantDecision) string {
	return fmt.Sprintf("%s Limited by %s.", decisionMessage(d), d.LimitedBy)
}
