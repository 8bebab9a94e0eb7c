package saturation

import (
	"fmt"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
)

// UnschedulableProbe is how many replicas beyond its ready and starting ones a variant is asked
// for while some of its pods are unschedulable: one Pending pod stays, so the variant takes the
// next GPU that frees up (and a cluster autoscaler still sees demand), and no more pile up.
const UnschedulableProbe = 1

// capUnschedulable bounds target while the scheduler cannot place some of the variant's pods
// (obs.UnschedulableReplicas > 0, e.g. for want of GPUs): those pods are neither capacity nor on
// their way to it, and asking for more replicas only adds Pending pods. The target is then at
// most the ready and starting (scheduled) pods plus UnschedulableProbe; a cap below the current
// replicas removes Pending pods only (the ReplicaSet controller deletes unscheduled pods first).
// It returns the target and a sentence when the cap bit ("" when it did not).
func capUnschedulable(obs collector.VariantObservation, target int) (int, string) {
	if obs.UnschedulableReplicas <= 0 {
		return target, ""
	}
	limit := obs.ReadyReplicas + obs.StartingReplicas + UnschedulableProbe
	if target <= limit {
		return target, ""
	}
	return limit, fmt.Sprintf("Capped at %d replicas (not %d): %d pod(s) are Pending because the scheduler cannot place them "+
		"(PodScheduled=False, Unschedulable), so only the %d ready and %d starting replicas plus %d are asked for.",
		limit, target, obs.UnschedulableReplicas, obs.ReadyReplicas, obs.StartingReplicas, UnschedulableProbe)
}
