package saturation

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// DefaultScaleDownStabilization is how long a lower replica target must be recommended before
// the engine acts on it.
const DefaultScaleDownStabilization = 3 * time.Minute

// DefaultScaleDownStepFraction is the largest share of a variant's replicas removed in one cycle.
const DefaultScaleDownStepFraction = 0.25

// stabilizer damps scale-down, never scale-up. A model's load per replica is not fixed: packed
// onto fewer replicas, requests batch more, run longer and hold more KV cache, so a fleet cut to
// what the current readings call enough comes back overloaded. Two rules prevent that
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
		step := max(1, int(float64(current)*s.stepFraction))
		if current-target > step {
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
