package common

import (
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

// DecisionTriggerBuffer is the capacity of a decision trigger channel.
const DecisionTriggerBuffer = 1000

// DecisionTrigger is the default channel on which engines ask the controller to reconcile a
// VariantAutoscaling whose decision changed.
var DecisionTrigger = make(chan event.GenericEvent, DecisionTriggerBuffer)

// NewDecisionTrigger returns a decision trigger channel with DecisionTriggerBuffer slots.
func NewDecisionTrigger() chan event.GenericEvent {
	return make(chan event.GenericEvent, DecisionTriggerBuffer)
}

// TriggerReconcile asks for a reconcile of obj without ever blocking. It returns false when the
// channel is full; nothing is lost then, because the controller reads the latest decision from
// the cache whenever it next reconciles the object.
func TriggerReconcile(trigger chan<- event.GenericEvent, obj client.Object) bool {
	select {
	case trigger <- event.GenericEvent{Object: obj}:
		return true
	default:
		return false
	}
}
