package saturation

import (
	"fmt"
	"math"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
)

// DefaultScaleDownStabilization is how long a lower replica target must be recommended before
// the engine acts on it.
const DefaultScaleDownStabilization = 3 * time.Minute

// DefaultScaleDownStepFraction is the largest share of a variant's replicas removed in one cycle.
const DefaultScaleDownStepFraction = 0.25

// One cycle raises a variant to at most max(ScaleUpStepFactor x current, current +
// ScaleUpStepReplicas) replicas (and always to its minReplicas). This is the
// HorizontalPodAutoscaler's default scale-up policy (the larger of +100% and +4 pods per 15 s),
// with 8 pods instead of 4 so that a burst on one replica gets 1 -> 9 at once. The bound costs
// little time: replicas added count as capacity while they start, the next cycle may double
// again, and at the 3 s default interval 1 -> 100 takes 5 cycles (9, 18, 36, 72, 100), about
// 15 s (75 s at 15 s), shorter than a vLLM pod's start. What it prevents is one wrong reading turning into a
// fleet of hundreds within one cycle.
const (
	// ScaleUpStepFactor is how many times its current replicas one cycle may give a variant.
	ScaleUpStepFactor = 2
	// ScaleUpStepReplicas is how many replicas one cycle may add to a variant, whatever its size.
	ScaleUpStepReplicas = 8
)

// limitScaleUp bounds a scale-up of one cycle from current to target (see ScaleUpStepFactor),
// never below floor, and returns a sentence when it bit ("" when it did not).
func limitScaleUp(current, target, floor int) (int, string) {
	limit := analysis.ClampCount(max(float64(current)*ScaleUpStepFactor, float64(current)+ScaleUpStepReplicas, float64(floor)),
		0, math.MaxInt32)
	if target <= limit {
		return target, ""
	}
	return limit, fmt.Sprintf("Scale-up limited to %d replicas this cycle (at most %dx the current %d or %d more).",
		limit, ScaleUpStepFactor, current, ScaleUpStepReplicas)
}

// stabilizer damps scale-down, never scale-up (limitScaleUp bounds that). A model's load per
// replica is not fixed: packed onto fewer replicas, requests batch more, run longer and hold more
// KV cache, so a fleet cut to what the current readings call enough comes back overloaded. Two rules prevent that
// oscillation:
//
//   - a scale-down goes only as low as the highest target recommended during the stabilization
//     window (the HorizontalPodAutoscaler's downscale stabilization);
//   - one cycle removes at most stepFraction of the variant's replicas (at least one), so each
//     step is measured before the next.
type stabilizer struct {
	window       time.Duration
	stepFraction float64
	history      map[types.NamespacedName][]recommendation
}

type recommendation struct {
	at     time.Time
	target int
}

func newStabilizer(window time.Duration, stepFraction float64) *stabilizer {
	return &stabilizer{window: window, stepFraction: stepFraction, history: map[types.NamespacedName][]recommendation{}}
}

// apply records the analyzer's target for key at now and returns the target to act on, with a
// sentence saying how it was damped ("" when it was not).
func (s *stabilizer) apply(key types.NamespacedName, now time.Time, current, raw int) (int, string) {
	recs := s.history[key]
	cut := now.Add(-s.window)
	kept := recs[:0]
	for _, r := range recs {
		if r.at.After(cut) {
			kept = append(kept, r)
		}
	}
	kept = append(kept, recommendation{at: now, target: raw})
	s.history[key] = kept
	if raw >= current {
		return raw, ""
	}

	target, note := raw, ""
	if s.window > 0 {
		highest := raw
		for _, r := range kept {
			highest = max(highest, r.target)
		}
		if highest > target {
			target = min(highest, current)
			note = fmt.Sprintf("Scale-down stabilized: %d replicas were recommended within the last %s.", highest, s.window)
		}
	}
	if s.stepFraction > 0 && target < current {
		// Converted with a clamp and compared without subtracting target, so neither a huge
		// fraction nor a hugely negative target overflows.
		step := analysis.ClampCount(float64(current)*s.stepFraction, 1, max(current, 1))
		if target < current-step {
			target = current - step
			note = fmt.Sprintf("Scale-down limited to %d replica(s) this cycle.", step)
		}
	}
	return target, note
}

// forget drops the history of variants not seen this cycle.
func (s *stabilizer) retain(seen map[types.NamespacedName]bool) {
	for k := range s.history {
		if !seen[k] {
			delete(s.history, k)
		}
	}
}
