package controller

import (
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// awaitingLeft records now as key's first reconcile without a decision if it has none (see
// WithAwaitingDecisionGrace) and returns how much of grace is left from that first sight (0 or
// less when it has passed).
func awaitingLeft(first *keyed[time.Time], key types.NamespacedName, now time.Time, grace time.Duration) time.Duration {
	seen, ok := first.update(key, func(t *time.Time) {
		if t.IsZero() {
			*t = now
		}
	})
	if !ok {
		seen = now
	}
	return seen.Add(grace).Sub(now)
}
