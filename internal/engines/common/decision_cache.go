package common

import (
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// DecisionCache is the default decision cache, handed by cmd/manager to the engines (writers)
// and the controller (reader).
var DecisionCache = &InternalDecisionCache{
	items: make(map[string]interfaces.VariantDecision),
}

// InternalDecisionCache holds the latest scaling decision of each VariantAutoscaling, keyed by
// namespace and name.
type InternalDecisionCache struct {
	sync.RWMutex
	items map[string]interfaces.VariantDecision
}

// NewInternalDecisionCache returns an empty decision cache.
func NewInternalDecisionCache() *InternalDecisionCache {
	return &InternalDecisionCache{items: make(map[string]interfaces.VariantDecision)}
}

func decisionKey(name, namespace string) string {
	return namespace + "/" + name
}

// Set stores d as the decision for the VariantAutoscaling name in namespace, replacing any
// previous one.
func (c *InternalDecisionCache) Set(name, namespace string, d interfaces.VariantDecision) {
	c.Lock()
	defer c.Unlock()
	if c.items == nil {
		c.items = make(map[string]interfaces.VariantDecision)
	}
	c.items[decisionKey(name, namespace)] = d
}

// Publish stores d like Set and reports whether the controller has something new to write for
// it: true when there was no decision before, or when the previous one's outcome differs from
// d's (see SameOutcome). The comparison and the store are one step, so two publishers cannot
// both see the same previous decision.
func (c *InternalDecisionCache) Publish(name, namespace string, d interfaces.VariantDecision) bool {
	c.Lock()
	defer c.Unlock()
	if c.items == nil {
		c.items = make(map[string]interfaces.VariantDecision)
	}
	k := decisionKey(name, namespace)
	prev, ok := c.items[k]
	c.items[k] = d
	return !ok || !SameOutcome(prev, d)
}

// Get returns the decision for the VariantAutoscaling name in namespace, and whether one exists.
func (c *InternalDecisionCache) Get(name, namespace string) (interfaces.VariantDecision, bool) {
	c.RLock()
	defer c.RUnlock()
	d, ok := c.items[decisionKey(name, namespace)]
	return d, ok
}

// Delete forgets the decision for the VariantAutoscaling name in namespace.
func (c *InternalDecisionCache) Delete(name, namespace string) {
	c.Lock()
	defer c.Unlock()
	delete(c.items, decisionKey(name, namespace))
}

// Len returns the number of cached decisions.
func (c *InternalDecisionCache) Len() int {
	c.RLock()
	defer c.RUnlock()
	return len(c.items)
}

// DecisionToOptimizedAlloc converts d to the fields of status.optimizedAlloc: the target
// replicas, the accelerator name and the current time.
func DecisionToOptimizedAlloc(d interfaces.VariantDecision) (int, string, metav1.Time) {
	return d.TargetReplicas, d.AcceleratorName, metav1.Now()
}
