package controller

import (
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// conflictMemory remembers, per VariantAutoscaling, the ActuationConflict condition the
// reconciler set last and the decision it was set for. A reconcile often reads the
// VariantAutoscaling from a cache that has not seen the previous status patch yet (WVA's own
// scale write triggers one at once); from that stale status alone it would repeat the event and
// drop a ForeignScaleWrite. After a restart the memory is empty and the status is used.
type conflictMemory struct {
	mu   sync.Mutex
	last map[types.NamespacedName]lastConflict
}

type lastConflict struct {
	cond     metav1.Condition
	decision int
}

func (m *conflictMemory) get(key types.NamespacedName) (lastConflict, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.last[key]
	return l, ok
}

func (m *conflictMemory) set(key types.NamespacedName, l lastConflict) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last == nil {
		m.last = map[types.NamespacedName]lastConflict{}
	}
	m.last[key] = l
}

func (m *conflictMemory) forget(key types.NamespacedName) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.last, key)
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

// keySet is a set of VariantAutoscaling keys, safe for concurrent use.
type keySet struct {
	mu   sync.Mutex
	keys map[types.NamespacedName]struct{}
}

// add puts key in the set and reports whether it was not there before.
func (s *keySet) add(key types.NamespacedName) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[key]; ok {
		return false
	}
	if s.keys == nil {
		s.keys = map[types.NamespacedName]struct{}{}
	}
	s.keys[key] = struct{}{}
	return true
}

// remove takes key out of the set.
func (s *keySet) remove(key types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.keys, key)
}
