package common

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

func TestDecisionCacheRoundTrip(t *testing.T) {
	c := NewInternalDecisionCache()
	want := interfaces.VariantDecision{VariantName: "va", Namespace: "ns", TargetReplicas: 3, AcceleratorName: "H100", Action: interfaces.ActionScaleUp}
	c.Set("va", "ns", want)

	got, ok := c.Get("va", "ns")
	if !ok {
		t.Fatal("Get after Set: not found")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}
	if _, ok := c.Get("va", "other"); ok {
		t.Error("Get in another namespace found a decision; keys must be namespace-qualified")
	}
	if _, ok := c.Get("unknown", "ns"); ok {
		t.Error("Get of an unknown name found a decision")
	}

	newer := want
	newer.TargetReplicas = 5
	c.Set("va", "ns", newer)
	if got, _ := c.Get("va", "ns"); got.TargetReplicas != 5 {
		t.Errorf("Set did not overwrite: TargetReplicas = %d, want 5", got.TargetReplicas)
	}

	c.Delete("va", "ns")
	if _, ok := c.Get("va", "ns"); ok || c.Len() != 0 {
		t.Errorf("after Delete: found=%v len=%d, want false 0", ok, c.Len())
	}
}

func TestDecisionCacheNameNamespaceAreNotAmbiguous(t *testing.T) {
	c := NewInternalDecisionCache()
	c.Set("b", "a", interfaces.VariantDecision{TargetReplicas: 1})
	c.Set("a", "b", interfaces.VariantDecision{TargetReplicas: 2})
	x, _ := c.Get("b", "a")
	y, _ := c.Get("a", "b")
	if x.TargetReplicas != 1 || y.TargetReplicas != 2 {
		t.Errorf("swapped name/namespace collide: got %d and %d, want 1 and 2", x.TargetReplicas, y.TargetReplicas)
	}
}

func TestZeroValueDecisionCacheIsUsable(t *testing.T) {
	var c InternalDecisionCache
	if _, ok := c.Get("a", "b"); ok {
		t.Fatal("empty cache found a decision")
	}
	c.Set("a", "b", interfaces.VariantDecision{TargetReplicas: 4})
	if d, ok := c.Get("a", "b"); !ok || d.TargetReplicas != 4 {
		t.Errorf("Get = %v, %v; want 4, true", d.TargetReplicas, ok)
	}
}

func TestDecisionCacheConcurrentSetGet(t *testing.T) {
	c := NewInternalDecisionCache()
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("va-%d", i%10)
			c.Set(name, "ns", interfaces.VariantDecision{VariantName: name, TargetReplicas: i})
			if d, ok := c.Get(name, "ns"); !ok || d.VariantName != name {
				t.Errorf("Get(%s) = %+v, %v", name, d, ok)
			}
		}()
	}
	wg.Wait()
	if c.Len() != 10 {
		t.Errorf("Len = %d, want 10", c.Len())
	}
}

func TestGlobalConfig(t *testing.T) {
	c := NewGlobalConfig()
	if c.GetOptimizationInterval() != "" || c.GetSaturationConfig() != nil {
		t.Fatal("new config is not empty")
	}
	c.UpdateOptimizationConfig("60s")
	if got := c.GetOptimizationInterval(); got != "60s" {
		t.Errorf("interval = %q, want 60s", got)
	}

	in := map[string]interfaces.SaturationScalingConfig{"default": {KvCacheThreshold: 0.8, QueueLengthThreshold: 5}}
	c.UpdateSaturationConfig(in)
	in["default"] = interfaces.SaturationScalingConfig{KvCacheThreshold: 0.1}
	got := c.GetSaturationConfig()
	if got["default"].KvCacheThreshold != 0.8 {
		t.Errorf("default.kvCacheThreshold = %v, want 0.8 (the stored map must not alias the caller's)", got["default"].KvCacheThreshold)
	}
	got["default"] = interfaces.SaturationScalingConfig{}
	delete(got, "default")
	if again := c.GetSaturationConfig(); again["default"].KvCacheThreshold != 0.8 {
		t.Error("changing the returned map changed the shared configuration")
	}
}

func TestOptimizationIntervalChanged(t *testing.T) {
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	for name, c := range map[string]*GlobalConfig{"constructed": NewGlobalConfig(), "zero value": {}} {
		t.Run(name, func(t *testing.T) {
			first := c.OptimizationIntervalChanged()
			if closed(first) {
				t.Fatal("fired before any change")
			}
			if c.OptimizationIntervalChanged() != first {
				t.Error("two subscribers before a change got different channels")
			}
			c.UpdateSaturationConfig(map[string]interfaces.SaturationScalingConfig{"default": {}})
			if closed(first) {
				t.Error("fired on a saturation config change")
			}
			c.UpdateOptimizationConfig("24h")
			if !closed(first) {
				t.Fatal("did not fire when the interval changed")
			}
			second := c.OptimizationIntervalChanged()
			if closed(second) {
				t.Fatal("a channel taken after the change fired already")
			}
			c.UpdateOptimizationConfig("24h")
			if closed(second) {
				t.Error("fired when the interval was set to its current value")
			}
			c.UpdateOptimizationConfig("1s")
			if !closed(second) {
				t.Error("did not fire on the second change")
			}
		})
	}
}

func TestGlobalConfigConcurrent(t *testing.T) {
	c := NewGlobalConfig()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			c.UpdateOptimizationConfig(fmt.Sprintf("%ds", i))
			c.UpdateSaturationConfig(map[string]interfaces.SaturationScalingConfig{"default": {KvCacheThreshold: float64(i) / 100}})
		}()
		go func() {
			defer wg.Done()
			_ = c.OptimizationIntervalChanged()
			_ = c.GetOptimizationInterval()
			for k, v := range c.GetSaturationConfig() {
				_, _ = k, v
			}
		}()
	}
	wg.Wait()
}

func TestTriggerReconcileNeverBlocks(t *testing.T) {
	ch := NewDecisionTrigger()
	if cap(ch) != 1000 {
		t.Fatalf("buffer = %d, want 1000", cap(ch))
	}
	va := &wvav1alpha1.VariantAutoscaling{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "b"}}
	for i := range 1000 {
		if !TriggerReconcile(ch, va) {
			t.Fatalf("send %d refused before the buffer was full", i)
		}
	}
	done := make(chan bool)
	go func() { done <- TriggerReconcile(ch, va) }()
	select {
	case ok := <-done:
		if ok {
			t.Error("send to a full channel reported success")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("send to a full channel blocked")
	}
	if ev := <-ch; ev.Object.GetName() != "a" {
		t.Errorf("event object = %q, want a", ev.Object.GetName())
	}
}

func newVA(ns, name string) *wvav1alpha1.VariantAutoscaling {
	return &wvav1alpha1.VariantAutoscaling{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"k": "v"}},
		Spec:       wvav1alpha1.VariantAutoscalingSpec{ModelID: "m"},
	}
}

func TestVACache(t *testing.T) {
	c := NewVACache()
	va := newVA("ns", "test-va")
	c.Update(va)

	va.Labels["k"] = "changed"
	va.Spec.ModelID = "changed"
	ready := c.ReadyVAs()
	if len(ready) != 1 || ready[0].Name != "test-va" {
		t.Fatalf("ReadyVAs = %v, want one VA named test-va", ready)
	}
	if ready[0].Labels["k"] != "v" || ready[0].Spec.ModelID != "m" {
		t.Error("cache shares memory with the object given to Update; it must store a deep copy")
	}
	ready[0].Labels["k"] = "mutated"
	if again := c.ReadyVAs(); again[0].Labels["k"] != "v" {
		t.Error("ReadyVAs returned memory shared with the cache")
	}

	c.Remove(client.ObjectKey{Namespace: "ns", Name: "test-va"})
	if n := len(c.ReadyVAs()); n != 0 {
		t.Errorf("after Remove: %d VAs, want 0", n)
	}

	deleting := newVA("ns", "going")
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	deleting.Finalizers = []string{"x"}
	c.Update(deleting)
	if n := len(c.ReadyVAs()); n != 0 {
		t.Errorf("VA being deleted is ready: %d VAs, want 0", n)
	}
	if c.Len() != 1 {
		t.Errorf("Len = %d, want 1 (deleting VAs stay cached until removed)", c.Len())
	}
	c.Update(nil)
}

func TestVACacheOrderIsDeterministic(t *testing.T) {
	c := NewVACache()
	for _, k := range []string{"b/2", "a/9", "b/1", "a/1"} {
		c.Update(newVA(k[:1], k[2:]))
	}
	var got []string
	for _, va := range c.ReadyVAs() {
		got = append(got, va.Namespace+"/"+va.Name)
	}
	if diff := cmp.Diff([]string{"a/1", "a/9", "b/1", "b/2"}, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestVACacheLeavesOutManagedFields(t *testing.T) {
	c := NewVACache()
	va := newVA("ns", "va")
	va.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "wva", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status"}}
	c.Update(va)
	got, ok := c.Get(client.ObjectKey{Namespace: "ns", Name: "va"})
	if !ok || got.ManagedFields != nil || c.ReadyVAs()[0].ManagedFields != nil {
		t.Errorf("cached copy has managedFields %v", got.ManagedFields)
	}
	if len(va.ManagedFields) != 1 {
		t.Error("Update changed the VA it was given")
	}
}

func TestVACacheSameNameInTwoNamespaces(t *testing.T) {
	c := NewVACache()
	c.Update(newVA("ns1", "va"))
	c.Update(newVA("ns2", "va"))
	if n := len(c.ReadyVAs()); n != 2 {
		t.Errorf("%d VAs, want 2", n)
	}
	if _, ok := c.Get(client.ObjectKey{Namespace: "ns2", Name: "va"}); !ok {
		t.Error("Get ns2/va: not found")
	}
}

func TestVACacheConcurrent(t *testing.T) {
	c := NewVACache()
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			va := newVA("ns", fmt.Sprintf("va-%d", i%20))
			c.Update(va)
			_ = c.ReadyVAs()
			if i%3 == 0 {
				c.Remove(client.ObjectKeyFromObject(va))
			}
		}()
	}
	wg.Wait()
}

func TestDecisionToOptimizedAlloc(t *testing.T) {
	before := time.Now().Truncate(time.Second)
	replicas, acc, ts := DecisionToOptimizedAlloc(interfaces.VariantDecision{TargetReplicas: 3, AcceleratorName: "H100"})
	after := time.Now()
	if replicas != 3 || acc != "H100" {
		t.Errorf("got (%d, %q), want (3, H100)", replicas, acc)
	}
	if ts.Time.Before(before) || ts.Time.After(after) {
		t.Errorf("timestamp %v not within [%v, %v]", ts, before, after)
	}
}

func TestPackageDefaults(t *testing.T) {
	if DecisionCache == nil || Config == nil || DefaultVACache == nil {
		t.Fatal("a default instance is nil")
	}
	if cap(DecisionTrigger) != 1000 {
		t.Errorf("DecisionTrigger buffer = %d, want 1000", cap(DecisionTrigger))
	}
}

func BenchmarkDecisionCacheGet(b *testing.B) {
	c := NewInternalDecisionCache()
	for i := range 10000 {
		c.Set(fmt.Sprintf("va-%d", i), "ns", interfaces.VariantDecision{TargetReplicas: i})
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Get("va-5000", "ns")
	}
}

func BenchmarkDecisionCacheSet(b *testing.B) {
	c := NewInternalDecisionCache()
	for i := range 10000 {
		c.Set(fmt.Sprintf("va-%d", i), "ns", interfaces.VariantDecision{TargetReplicas: i})
	}
	d := interfaces.VariantDecision{VariantName: "va-5000", Namespace: "ns", TargetReplicas: 3}
	b.ReportAllocs()
	for b.Loop() {
		c.Set("va-5000", "ns", d)
	}
}

func BenchmarkGetReadyVAs(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("vas=%d", n), func(b *testing.B) {
			c := NewVACache()
			for i := range n {
				va := newVA(fmt.Sprintf("ns-%d", i%50), fmt.Sprintf("va-%d", i))
				va.Labels[wvav1alpha1.AcceleratorNameLabel] = "H100"
				c.Update(va)
			}
			b.ReportAllocs()
			for b.Loop() {
				if got := c.ReadyVAs(); len(got) != n {
					b.Fatalf("got %d VAs", len(got))
				}
			}
		})
	}
}
