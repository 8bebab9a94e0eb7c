package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/saturation"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/inventory"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// overloaded is a collector.Source that reports every target's pods full (KV used up, 30
// requests waiting on each), so the analyzer wants several times the current replicas.
type overloaded struct{ replicas int }

func (o overloaded) Collect(_ context.Context, targets []collector.Target, now time.Time) (collector.Snapshot, error) {
	snap := collector.Snapshot{Variants: map[types.NamespacedName]collector.VariantObservation{}, CollectedAt: now}
	for _, t := range targets {
		pods := make([]analysis.PodMetrics, o.replicas)
		for i := range pods {
			pods[i] = analysis.PodMetrics{Name: fmt.Sprintf("%s-%d", t.Deployment, i), KvCacheUsage: 1, QueueLength: 30, RunningRequests: 8}
		}
		snap.Variants[t.VariantAutoscaling] = collector.VariantObservation{TargetFound: true, CurrentReplicas: o.replicas,
			ReadyReplicas: o.replicas, Pods: pods, Metrics: collector.Status{Available: true, Reason: wvav1alpha1.ReasonMetricsFound}}
	}
	return snap, nil
}

// inNamespace lists the cached VariantAutoscalings of one namespace only.
type inNamespace struct {
	c  *common.VACache
	ns string
}

func (s inNamespace) ReadyVAs() []wvav1alpha1.VariantAutoscaling {
	var out []wvav1alpha1.VariantAutoscaling
	for _, va := range s.c.ReadyVAs() {
		if va.Namespace == s.ns {
			out = append(out, va)
		}
	}
	return out
}

func gpuNode(t *testing.T, ctx context.Context, name string, gpus int64) {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}}}
	if err := k8sClient.Create(ctx, n); err != nil {
		t.Fatal(err)
	}
	n.Status.Allocatable = corev1.ResourceList{"nvidia.com/gpu": *resource.NewQuantity(gpus, resource.DecimalSI)}
	if err := k8sClient.Status().Update(ctx, n); err != nil {
		t.Fatal(err)
	}
}

// TestTwoModelsCompeteForGPUs runs the saturation engine with the GPU inventory read from the
// real API server through the manager's informers: a premium and a free model both want
// several times the 6 free H100s. The premium model gets all but the free model's minimum;
// both are marked Limited in status and by an event naming the inventory; when a Node is added
// the limit lifts.
func TestTwoModelsCompeteForGPUs(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	gpuNode(t, ctx, "h100-compete-1", 8)
	one := *resource.NewQuantity(1, resource.DecimalSI)
	foreign := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "training", Namespace: ns},
		Spec: corev1.PodSpec{NodeName: "h100-compete-1", Containers: []corev1.Container{{Name: "t", Image: "train",
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{"nvidia.com/gpu": *resource.NewQuantity(2, resource.DecimalSI)}}}}}}
	if err := testutil.CreatePod(ctx, k8sClient, foreign, "", true); err != nil {
		t.Fatal(err)
	}
	var vas []*wvav1alpha1.VariantAutoscaling
	for _, model := range []string{"chat", "batch"} {
		d := testutil.Deployment(model).Namespace(ns).Replicas(2).Obj()
		d.Spec.Template.Spec.Containers[0].Resources.Limits = corev1.ResourceList{"nvidia.com/gpu": one}
		if err := k8sClient.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
		va := testutil.VariantAutoscaling(model).Namespace(ns).Model(model).Accelerator("H100").Bounds(1, 20).Obj()
		if err := k8sClient.Create(ctx, va); err != nil {
			t.Fatal(err)
		}
		waitCached(t, client.ObjectKeyFromObject(va))
		vas = append(vas, va)
	}
	chat, batch := vas[0], vas[1]

	cfg := common.NewGlobalConfig()
	cfg.UpdateGPULimits(interfaces.GPULimits{Enabled: true})
	cfg.UpdateServiceClasses(map[string]interfaces.ServiceClass{
		"premium": {Name: "Premium", Priority: 1, Data: []interfaces.ServiceClassModel{{Model: "chat", TTFTMs: 500}}},
		"free":    {Name: "Free", Priority: 10, Data: []interfaces.ServiceClassModel{{Model: "batch", TTFTMs: 5000}}},
	})
	engine, err := saturation.New(overloaded{replicas: 2}, inNamespace{vaCache, ns}, cfg, decisions, trigger,
		saturation.WithRegisterer(prometheus.NewRegistry()), saturation.WithGPUInventory(inventory.NewReader(cachedClient)))
	if err != nil {
		t.Fatal(err)
	}

	// replicas < 0 accepts at least -replicas.
	expect := func(va *wvav1alpha1.VariantAutoscaling, replicas int, reason, limit string, events map[string]int) {
		t.Helper()
		eventually(t, timeout, func() error {
			if err := engine.RunOnce(ctx); err != nil {
				return err
			}
			got, err := getVA(ctx, client.ObjectKeyFromObject(va))
			if err != nil {
				return err
			}
			c := meta.FindStatusCondition(got.Status.Conditions, wvav1alpha1.ConditionOptimizationReady)
			ok := got.Status.OptimizedAlloc.Replicas == replicas || (replicas < 0 && got.Status.OptimizedAlloc.Replicas >= -replicas)
			if !ok || c == nil || c.Reason != reason || !strings.Contains(c.Message, limit) {
				return fmt.Errorf("%s: %d replicas, OptimizationReady %+v; want %d, %s, %q", va.Name, got.Status.OptimizedAlloc.Replicas, c, replicas, reason, limit)
			}
			evs, err := eventsFor(ctx, got)
			if err != nil {
				return err
			}
			for r, n := range events {
				if len(evs[r]) != n {
					return fmt.Errorf("%s: %d %s events, want %d: %v", va.Name, len(evs[r]), r, n, evs)
				}
			}
			if n := len(evs[EventReasonLimited]); n > 0 && !strings.Contains(evs[EventReasonLimited][0], limit) {
				return fmt.Errorf("Limited event %q does not name %q", evs[EventReasonLimited][0], limit)
			}
			return nil
		})
	}
	// 8 H100s, 2 held by a foreign pod: 6 for WVA. The free model keeps its minimum of 1.
	expect(chat, 5, wvav1alpha1.ReasonLimited, "the H100 GPU inventory (6 GPUs)", map[string]int{EventReasonLimited: 1})
	expect(batch, 1, wvav1alpha1.ReasonLimited, "the H100 GPU inventory (6 GPUs)", map[string]int{EventReasonLimited: 1})
	// More cycles under the same limit add no event.
	for range 3 {
		if err := engine.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	expect(batch, 1, wvav1alpha1.ReasonLimited, "the H100 GPU inventory (6 GPUs)", map[string]int{EventReasonLimited: 1})

	// A second Node with 32 H100s: enough for both; the limit lifts.
	gpuNode(t, ctx, "h100-compete-2", 32)
	expect(chat, -6, wvav1alpha1.ReasonOptimizationSucceeded, "", map[string]int{EventReasonLimited: 1, EventReasonLimitLifted: 1})
	expect(batch, -6, wvav1alpha1.ReasonOptimizationSucceeded, "", map[string]int{EventReasonLimited: 1, EventReasonLimitLifted: 1})
}
