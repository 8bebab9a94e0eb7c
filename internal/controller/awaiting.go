package controller

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// firstSeen remembers, per VariantAutoscaling, when it was first reconciled without a
// decision (see WithAwaitingDecisionGrace); safe for concurrent use.
type firstSeen struct {
	mu    sync.Mutex
	times map[types.NamespacedName]time.Time
}

// remaining records now as key's first sight if it has none and returns how much of grace is
// left from that first sight (0 or less when it has passed).
func (f *firstSeen) remaining(key types.NamespacedName, now time.Time, grace time.Duration) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.times == nil {
		f.times = map[types.NamespacedName]time.Time{}
	}
	first, ok := f.times[key]
	if !ok {
		first = now
		f.times[key] = now
	}
	return first.Add(grace).Sub(now)
}

func (f *firstSeen) forget(key types.NamespacedName) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.times, key)
}
