package controller

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// lastConflict is what the reconciler remembers per VariantAutoscaling (its conflicts, a keyed
// memory): the ActuationConflict condition it set last and the decision it was set for. A reconcile often reads the
// VariantAutoscaling from a cache that has not seen the previous status patch yet (WVA's own
// scale write triggers one at once); from that stale status alone it would repeat the event and
// drop a ForeignScaleWrite. After a restart the memory is empty and the status is used.
type lastConflict struct {
	cond     metav1.Condition
	decision int
}

// recordScaleConflict sets the ActuationConflict condition from what the actuator found, in
// Direct mode only, with an event when the reason changes. HPAConflict lasts while the HPA
// exists; ForeignScaleWrite lasts until the decision changes, so that it outlives the
// reconcile that WVA's own write back triggers.
func (r *VariantAutoscalingReconciler) recordScaleConflict(va, original *wvav1alpha1.VariantAutoscaling, c *interfaces.ScaleConflict) {
	key := client.ObjectKeyFromObject(va)
	if va.ActuationMode() != wvav1alpha1.ActuationDirect {
		meta.RemoveStatusCondition(&va.Status.Conditions, wvav1alpha1.ConditionActuationConflict)
		r.conflicts.forget(key)
		return
	}
	prev, ok := r.conflicts.get(key)
	if !ok {
		if cond := meta.FindStatusCondition(original.Status.Conditions, wvav1alpha1.ConditionActuationConflict); cond != nil {
			prev = lastConflict{cond: *cond, decision: original.Status.OptimizedAlloc.Replicas}
		}
	}
	decision := va.Status.OptimizedAlloc.Replicas
	target := va.Spec.ScaleTargetRef.Name
	next := metav1.Condition{Type: wvav1alpha1.ConditionActuationConflict}
	switch {
	case c == nil && prev.cond.Reason == wvav1alpha1.ReasonForeignScaleWrite && decision == prev.decision:
		next = prev.cond // reported until WVA writes a new decision of its own
	case c == nil:
		next.Status, next.Reason = metav1.ConditionFalse, wvav1alpha1.ReasonNoConflict
		next.Message = fmt.Sprintf("WVA is the only writer of the replicas of Deployment %s.", target)
	case c.Kind == interfaces.ScaleConflictHPA:
		next.Status, next.Reason = metav1.ConditionTrue, wvav1alpha1.ReasonHPAConflict
		next.Message = fmt.Sprintf("HorizontalPodAutoscaler %s targets Deployment %s, so WVA leaves its replicas (%d) to the HPA "+
			"and only publishes the wva_* gauges; delete the HPA or set spec.actuation.mode to Metrics.", c.Writer, target, c.Replicas)
	default:
		next.Status, next.Reason = metav1.ConditionTrue, wvav1alpha1.ReasonForeignScaleWrite
		next.Message = fmt.Sprintf("Field manager %q set the replicas of Deployment %s to %d after WVA had written %d; "+
			"in Direct mode WVA owns them and wrote its decision again.", c.Writer, target, c.Replicas, c.Written)
	}
	r.setCondition(va, next.Type, next.Status, next.Reason, next.Message)
	r.conflicts.set(key, lastConflict{cond: next, decision: decision})

	if next.Reason == prev.cond.Reason {
		return
	}
	switch next.Reason {
	case wvav1alpha1.ReasonHPAConflict:
		hpaConflictEvent(r.recorder, va, target, c.Writer)
	case wvav1alpha1.ReasonForeignScaleWrite:
		foreignScaleWriteEvent(r.recorder, va, target, c)
	case wvav1alpha1.ReasonNoConflict:
		if prev.cond.Reason == wvav1alpha1.ReasonHPAConflict {
			directActuationResumedEvent(r.recorder, va, target)
		}
	}
}
