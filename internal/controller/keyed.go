package controller

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// keyed maps VariantAutoscaling keys to values of V, safe for concurrent use: the reconciler's
// per-VariantAutoscaling memories (the conflict and limit last reported, the scaler state, the
// failing actuations, the first sight awaiting a decision), which spare it a repeated event or
// write when a reconcile reads a cached status older than its own last write. The zero value is
// empty and ready. After a restart every memory is empty and the status is used.
type keyed[V any] struct {
	mu sync.Mutex
	m  map[types.NamespacedName]V
}

// get returns key's value and whether it has one.
func (k *keyed[V]) get(key types.NamespacedName) (V, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[key]
	return v, ok
}

// update applies f to key's value (the zero value when it has none) and stores the result; it
// returns the value before and whether there was one.
func (k *keyed[V]) update(key types.NamespacedName, f func(*V)) (V, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[types.NamespacedName]V{}
	}
	prev, ok := k.m[key]
	next := prev
	f(&next)
	k.m[key] = next
	return prev, ok
}

// set stores v as key's value; it returns the value before and whether there was one.
func (k *keyed[V]) set(key types.NamespacedName, v V) (V, bool) {
	return k.update(key, func(p *V) { *p = v })
}

// forget drops key's value.
func (k *keyed[V]) forget(key types.NamespacedName) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, key)
}
