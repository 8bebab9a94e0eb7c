package common

import (
	"cmp"
	"slices"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
)

// DefaultVACache is the VariantAutoscaling cache behind UpdateVACache, RemoveVACache and
// GetReadyVAs.
var DefaultVACache = NewVACache()

// VACache holds deep copies of the VariantAutoscalings the controller has reconciled, so that
// engines can enumerate them without querying the API server.
type VACache struct {
	sync.RWMutex
	items map[client.ObjectKey]*wvav1alpha1.VariantAutoscaling
}

// NewVACache returns an empty VariantAutoscaling cache.
func NewVACache() *VACache {
	return &VACache{items: make(map[client.ObjectKey]*wvav1alpha1.VariantAutoscaling)}
}

// Update stores a deep copy of va, replacing any previous copy. The copy leaves out va's
// managedFields: no engine reads them, and after a status patch (whose answer carries them)
// they were most of what ReadyVAs copied every cycle.
func (c *VACache) Update(va *wvav1alpha1.VariantAutoscaling) {
	if va == nil {
		return
	}
	shallow := *va
	shallow.ManagedFields = nil
	cp := shallow.DeepCopy()
	c.Lock()
	defer c.Unlock()
	c.items[client.ObjectKeyFromObject(cp)] = cp
}

// Remove forgets the VariantAutoscaling with the given key.
func (c *VACache) Remove(key client.ObjectKey) {
	c.Lock()
	defer c.Unlock()
	delete(c.items, key)
}

// Get returns a deep copy of the cached VariantAutoscaling with the given key.
func (c *VACache) Get(key client.ObjectKey) (*wvav1alpha1.VariantAutoscaling, bool) {
	c.RLock()
	defer c.RUnlock()
	va, ok := c.items[key]
	if !ok {
		return nil, false
	}
	return va.DeepCopy(), true
}

// ReadyVAs returns copies of the cached VariantAutoscalings that are not being deleted, sorted
// by namespace and name.
func (c *VACache) ReadyVAs() []wvav1alpha1.VariantAutoscaling {
	c.RLock()
	defer c.RUnlock()
	// Sorted as pointers, then copied in order: a VariantAutoscaling is about a kilobyte, and
	// sorting the copies themselves was half of this call at 10,000 (BenchmarkRunOnce).
	ready := make([]*wvav1alpha1.VariantAutoscaling, 0, len(c.items))
	for _, va := range c.items {
		if va.DeletionTimestamp.IsZero() {
			ready = append(ready, va)
		}
	}
	slices.SortFunc(ready, func(a, b *wvav1alpha1.VariantAutoscaling) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	out := make([]wvav1alpha1.VariantAutoscaling, len(ready))
	for i, va := range ready {
		va.DeepCopyInto(&out[i])
	}
	return out
}

// Len returns the number of cached VariantAutoscalings, including those being deleted.
func (c *VACache) Len() int {
	c.RLock()
	defer c.RUnlock()
	return len(c.items)
}

// UpdateVACache stores a deep copy of va in DefaultVACache.
func UpdateVACache(va *wvav1alpha1.VariantAutoscaling) {
	DefaultVACache.Update(va)
}

// RemoveVACache removes the VariantAutoscaling with the given key from DefaultVACache.
func RemoveVACache(key client.ObjectKey) {
	DefaultVACache.Remove(key)
}

// GetReadyVAs returns the VariantAutoscalings in DefaultVACache that are not being deleted.
func GetReadyVAs() []wvav1alpha1.VariantAutoscaling {
	return DefaultVACache.ReadyVAs()
}
