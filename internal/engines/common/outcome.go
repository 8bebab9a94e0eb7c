package common

import "github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"

// SameOutcome reports whether the controller writes the same for decisions a and b of one
// VariantAutoscaling: the same status (status.optimizedAlloc and the MetricsAvailable and
// OptimizationReady conditions), the same scale target replicas in Direct mode and the same
// wva_* gauges. Those depend on the target and current replicas, the accelerator, the direction,
// the GPU limit, scale-to-zero and the metrics state with its reason and message. They do not
// depend on the analyzer's Reason (live load figures, logged and carried by events only when
// the target changes), on LastRunTime (stamped into status only with a new target), on
// DesiredReplicas or on the kind of decision (SaturationBased, SafetyOverride, ...).
//
// The engine asks the controller to reconcile a VariantAutoscaling only when its new decision's
// outcome differs from the one published before it (and, rarely, to resync): a field the
// controller starts to write from a decision must be compared here too
// (TestSameOutcomeCoversWhatTheControllerWrites, controller, checks it).
func SameOutcome(a, b interfaces.VariantDecision) bool {
	return a.TargetReplicas == b.TargetReplicas && a.CurrentReplicas == b.CurrentReplicas &&
		a.AcceleratorName == b.AcceleratorName && action(a) == action(b) &&
		a.LimitedBy == b.LimitedBy && a.ScaledToZero == b.ScaledToZero &&
		a.MetricsAvailable == b.MetricsAvailable && a.MetricsReason == b.MetricsReason && a.MetricsMessage == b.MetricsMessage
}

// action is d's direction as the controller reads it: d.Action, or the one its replicas imply.
func action(d interfaces.VariantDecision) interfaces.Action {
	if d.Action != "" {
		return d.Action
	}
	return interfaces.ActionFor(d.CurrentReplicas, d.TargetReplicas)
}
