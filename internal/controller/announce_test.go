package controller

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/actuator"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/saturation"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// loadSource is a collector.Source reporting one replica per target with the KV usage and
// queue length set per VariantAutoscaling name (default KV 0.3, nothing waiting).
type loadSource struct {
	mu    sync.Mutex
	kv    map[string]float64
	queue map[string]float64
}

func (s *loadSource) set(name string, kv, queue float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kv[name], s.queue[name] = kv, queue
}

func (s *loadSource) Collect(_ context.Context, targets []collector.Target, now time.Time) (collector.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := collector.Snapshot{Variants: map[types.NamespacedName]collector.VariantObservation{}, CollectedAt: now}
	for _, t := range targets {
		kv, ok := s.kv[t.VariantAutoscaling.Name]
		if !ok {
			kv = 0.3
		}
		snap.Variants[t.VariantAutoscaling] = collector.VariantObservation{TargetFound: true, CurrentReplicas: 1, ReadyReplicas: 1,
			Pods:    []analysis.PodMetrics{{Name: t.Deployment + "-0", KvCacheUsage: kv, QueueLength: s.queue[t.VariantAutoscaling.Name], RunningRequests: 4}},
			Metrics: collector.Status{Available: true, Reason: wvav1alpha1.ReasonMetricsFound}}
	}
	return snap, nil
}

// TestOnlyChangedDecisionsReachTheController runs the saturation engine against the real
// controller on envtest, relaying the engine's trigger requests to the controller and
// counting them: 10 VariantAutoscalings get their first decisions from one cycle (10
// requests); a cycle whose decisions did not change (only the load figures moved) requests
// no reconcile and patches no status; a cycle in which one variant's load steps requests a
// reconcile of that variant only, and only its status is patched. (Every cycle used to
// request a reconcile of every VariantAutoscaling.)
func TestOnlyChangedDecisionsReachTheController(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	const n = 10
	var keys []types.NamespacedName
	for i := range n {
		name := fmt.Sprintf("granite-%d", i)
		if err := k8sClient.Create(ctx, testutil.Deployment(name).Namespace(ns).Obj()); err != nil {
			t.Fatal(err)
		}
		va := testutil.VariantAutoscaling(name).Namespace(ns).Model(name).Accelerator("L4").Bounds(1, 10).Obj()
		if err := k8sClient.Create(ctx, va); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, client.ObjectKeyFromObject(va))
	}
	for _, k := range keys {
		waitCached(t, k)
	}
	src := &loadSource{kv: map[string]float64{}, queue: map[string]float64{}}
	engineTrigger := common.NewDecisionTrigger()
	engine, err := saturation.New(src, inNamespace{vaCache, ns}, common.NewGlobalConfig(), decisions, engineTrigger,
		saturation.WithRegisterer(prometheus.NewRegistry()), saturation.WithResync(0))
	if err != nil {
		t.Fatal(err)
	}
	// cycle runs one engine cycle and relays its requests to the controller, by key.
	cycle := func() map[types.NamespacedName]int {
		t.Helper()
		if err := engine.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		got := map[types.NamespacedName]int{}
		for len(engineTrigger) > 0 {
			ev := <-engineTrigger
			got[client.ObjectKeyFromObject(ev.Object)]++
			trigger <- event.GenericEvent{Object: ev.Object}
		}
		return got
	}
	decided := func(k types.NamespacedName, replicas int) func() error {
		return func() error {
			got, err := getVA(ctx, k)
			if err != nil {
				return err
			}
			c := meta.FindStatusCondition(got.Status.Conditions, wvav1alpha1.ConditionOptimizationReady)
			if got.Status.OptimizedAlloc.Replicas != replicas || c == nil || c.Status != metav1.ConditionTrue {
				return fmt.Errorf("%s: optimizedAlloc %+v, OptimizationReady %+v; want %d replicas", k, got.Status.OptimizedAlloc, c, replicas)
			}
			return nil
		}
	}

	if got := cycle(); len(got) != n {
		t.Fatalf("first cycle requested %d reconciles, want %d: %v", len(got), n, got)
	}
	for _, k := range keys {
		eventually(t, timeout, decided(k, 1))
	}
	patches := map[types.NamespacedName]int{}
	for _, k := range keys {
		patches[k] = statusPatches.get(k)
	}

	for i, k := range keys {
		src.set(k.Name, 0.3+float64(i)/100, 0) // other load figures, the same decisions
	}
	if got := cycle(); len(got) != 0 {
		t.Fatalf("a cycle without a changed decision requested %d reconciles: %v", len(got), got)
	}

	stepped := keys[3]
	src.set(stepped.Name, 0.98, 12)
	got := cycle()
	if len(got) != 1 || got[stepped] != 1 {
		t.Fatalf("requested %v, want only %v", got, stepped)
	}
	eventually(t, timeout, func() error {
		got, err := getVA(ctx, stepped)
		if err != nil {
			return err
		}
		if got.Status.OptimizedAlloc.Replicas <= 1 {
			return fmt.Errorf("stepped variant still at %+v", got.Status.OptimizedAlloc)
		}
		return nil
	})
	// Give a wrongly requested reconcile of another variant time to show.
	time.Sleep(time.Second)
	for _, k := range keys {
		if k == stepped {
			continue
		}
		if d := statusPatches.get(k) - patches[k]; d != 0 {
			t.Errorf("%s: %d status patches after its first decision, want 0", k, d)
		}
	}
}

// TestForeignHPAIsNoticedWithoutANewDecision: a Direct-mode VariantAutoscaling whose decision
// is written and steady (the engine requests no more reconciles) gets an HPA created on its
// Deployment by someone else: the controller notices from the HPA watch alone, reports
// HPAConflict and leaves the replicas; when the HPA is deleted it reports NoConflict again.
func TestForeignHPAIsNoticedWithoutANewDecision(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	deploy := testutil.Deployment("llama").Namespace(ns).Replicas(1).Obj()
	if err := k8sClient.Create(ctx, deploy); err != nil {
		t.Fatal(err)
	}
	va := testutil.VariantAutoscaling(deploy.Name).Namespace(ns).Direct().Obj()
	key := createActuated(t, va, k8sClient, actuator.WithCache(cachedClient))
	decisions.Set(va.Name, va.Namespace, interfaces.VariantDecision{VariantName: va.Name, Namespace: ns, TargetReplicas: 2,
		CurrentReplicas: 1, AcceleratorName: "L4", MetricsAvailable: true})
	common.TriggerReconcile(trigger, va)
	conflict := func(reason string) func() error {
		return func() error {
			got, err := getVA(ctx, key)
			if err != nil {
				return err
			}
			c := meta.FindStatusCondition(got.Status.Conditions, wvav1alpha1.ConditionActuationConflict)
			if c == nil || c.Reason != reason {
				return fmt.Errorf("ActuationConflict = %+v, want %s", c, reason)
			}
			return nil
		}
	}
	eventually(t, timeout, conflict(wvav1alpha1.ReasonNoConflict))
	if n := *getDeploy(t, ns, deploy.Name).Spec.Replicas; n != 2 {
		t.Fatalf("spec.replicas = %d, want 2", n)
	}

	// No decision and no trigger from here on.
	hpa := testutil.HPA(ns, "someone-elses-hpa", deploy.Name)
	if err := k8sClient.Create(ctx, hpa); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, conflict(wvav1alpha1.ReasonHPAConflict))
	if err := k8sClient.Delete(ctx, hpa); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, conflict(wvav1alpha1.ReasonNoConflict))
}
