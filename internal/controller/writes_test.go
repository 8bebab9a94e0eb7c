package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/actuator"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// countingDirect is Direct mode's uncached client, counting Deployment reads and scale writes.
type countingDirect struct {
	client.Client
	gets, scaleWrites keyCounter
}

func (c *countingDirect) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, ok := obj.(*appsv1.Deployment); ok {
		c.gets.inc(key)
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

func (c *countingDirect) SubResource(name string) client.SubResourceClient {
	return countingScale{SubResourceClient: c.Client.SubResource(name), c: c}
}

type countingScale struct {
	client.SubResourceClient
	c *countingDirect
}

func (s countingScale) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	s.c.scaleWrites.inc(client.ObjectKeyFromObject(obj))
	return s.SubResourceClient.Update(ctx, obj, opts...)
}

// TestUnchangedDecisionWritesNothing runs engine cycles whose decision stays at 3 replicas
// while the analyzer's reason carries different live load figures every cycle (as the
// capacity analyzer's does), and counts the controller's writes: none, neither to status nor
// to the scale subresource, and no uncached Deployment read either. A final cycle that
// changes the decision writes its status twice (decision, then the new currentAlloc) and the
// scale subresource once.
func TestUnchangedDecisionWritesNothing(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	deploy := testutil.Deployment("granite").Namespace(ns).Replicas(1).Obj()
	if err := k8sClient.Create(ctx, deploy); err != nil {
		t.Fatal(err)
	}
	va := testutil.VariantAutoscaling(deploy.Name).Namespace(ns).Direct().Obj()
	key := client.ObjectKeyFromObject(va)
	deployKey := types.NamespacedName{Namespace: ns, Name: deploy.Name}
	direct := &countingDirect{Client: k8sClient,
		gets: keyCounter{n: map[types.NamespacedName]int{}}, scaleWrites: keyCounter{n: map[types.NamespacedName]int{}}}
	createActuated(t, va, direct, actuator.WithCache(cachedClient))

	// cycle stores a decision of target replicas whose reason embeds the cycle's live load,
	// triggers a reconcile and waits until the controller has actuated it.
	cycle := func(i, target int) {
		t.Helper()
		before := actuated.calls.get(key)
		decisions.Set(va.Name, va.Namespace, interfaces.VariantDecision{
			VariantName: va.Name, Namespace: ns, AcceleratorName: "L4", MetricsAvailable: true,
			CurrentReplicas: 3, TargetReplicas: target, Action: interfaces.ActionFor(3, target),
			Reason: fmt.Sprintf("no change: KV demand %d.%d on supply 4.2 (utilisation 0.%d, scale-up above 0.8)", 2+i%2, i, 40+i),
		})
		common.TriggerReconcile(trigger, va)
		eventually(t, timeout, func() error {
			if n := actuated.calls.get(key); n <= before {
				return fmt.Errorf("cycle %d not actuated yet", i)
			}
			return nil
		})
	}

	// The first decision is written, and the cache sees the scaled Deployment.
	cycle(0, 3)
	eventually(t, timeout, func() error {
		got, err := getVA(ctx, key)
		if err != nil {
			return err
		}
		// currentAlloc shows 3 once the reconcile triggered by the scaled Deployment's watch
		// event (which also fills the cache) has patched status.
		if got.Status.OptimizedAlloc.Replicas != 3 || got.Status.CurrentAlloc == nil || got.Status.CurrentAlloc.Replicas != 3 ||
			got.Status.Actuation == nil || !got.Status.Actuation.Applied {
			return fmt.Errorf("decision not in status: %+v, %+v, %+v", got.Status.OptimizedAlloc, got.Status.CurrentAlloc, got.Status.Actuation)
		}
		return nil
	})
	// A reconcile queued by the first decision's own watch events may still run against a
	// cache that has not seen the last patch (under load it did, and patched status once more):
	// the count starts once the first decision's writes have settled.
	settle(t, key)
	patches, writes, gets := statusPatches.get(key), direct.scaleWrites.get(deployKey), direct.gets.get(deployKey)

	const cycles = 5
	for i := 1; i <= cycles; i++ {
		cycle(i, 3)
	}
	// A changed decision: one status patch with the decision, one scale write (after one
	// uncached read), then one status patch with currentAlloc, from the reconcile the scaled
	// Deployment's watch event triggers. Reconciles of one key are serialized, so once both are
	// in status every earlier cycle's patch has been sent.
	cycle(99, 4)
	eventually(t, timeout, func() error {
		got, err := getVA(ctx, key)
		if err != nil {
			return err
		}
		if got.Status.OptimizedAlloc.Replicas != 4 || got.Status.CurrentAlloc == nil || got.Status.CurrentAlloc.Replicas != 4 {
			return fmt.Errorf("changed decision not in status: %+v, %+v", got.Status.OptimizedAlloc, got.Status.CurrentAlloc)
		}
		return nil
	})
	dPatches := statusPatches.get(key) - patches
	dWrites := direct.scaleWrites.get(deployKey) - writes
	dGets := direct.gets.get(deployKey) - gets
	t.Logf("over %d unchanged cycles and one change: %d status patches, %d scale writes, %d uncached Deployment reads",
		cycles, dPatches, dWrites, dGets)
	if dPatches != 2 {
		t.Errorf("status patches = %d, want 2 (the changed decision and its new currentAlloc only)", dPatches)
	}
	if dWrites != 1 {
		t.Errorf("scale writes = %d, want 1 (the changed decision only)", dWrites)
	}
	if dGets != 1 {
		t.Errorf("uncached Deployment reads = %d, want 1 (before the changed decision's write only)", dGets)
	}
}

// settle waits until the controller has sent no status patch of key for a second.
func settle(t *testing.T, key types.NamespacedName) {
	t.Helper()
	last, since := statusPatches.get(key), time.Now()
	deadline := time.Now().Add(timeout)
	for time.Since(since) < time.Second {
		if time.Now().After(deadline) {
			t.Fatalf("status patches of %s still coming after %s", key, timeout)
		}
		time.Sleep(50 * time.Millisecond)
		if n := statusPatches.get(key); n != last {
			last, since = n, time.Now()
		}
	}
}
