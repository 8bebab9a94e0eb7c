package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/actuator"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

const timeout = 20 * time.Second

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"}}
	if err := k8sClient.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func getVA(ctx context.Context, key client.ObjectKey) (*wvav1alpha1.VariantAutoscaling, error) {
	va := &wvav1alpha1.VariantAutoscaling{}
	return va, k8sClient.Get(ctx, key, va)
}

func TestDecisionReachesStatus(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	if err := k8sClient.Create(ctx, testutil.Deployment("llama-l4").Namespace(ns).Replicas(2).Obj()); err != nil {
		t.Fatal(err)
	}
	va := testutil.VariantAutoscaling("llama-l4").Namespace(ns).Model("llama-8b").Accelerator("L4").Obj()
	if err := k8sClient.Create(ctx, va); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(va)

	// Before any decision: cached for the engines, target resolved, awaiting a decision.
	eventually(t, timeout, func() error {
		got, err := getVA(ctx, key)
		if err != nil {
			return err
		}
		if _, ok := vaCache.Get(key); !ok {
			return errors.New("VA not in the VA cache")
		}
		if !meta.IsStatusConditionTrue(got.Status.Conditions, wvav1alpha1.ConditionTargetResolved) {
			return fmt.Errorf("TargetResolved not True: %v", got.Status.Conditions)
		}
		c := meta.FindStatusCondition(got.Status.Conditions, wvav1alpha1.ConditionOptimizationReady)
		if c == nil || c.Reason != wvav1alpha1.ReasonAwaitingDecision {
			return fmt.Errorf("OptimizationReady = %v, want AwaitingDecision", c)
		}
		if got.Status.CurrentAlloc == nil || got.Status.CurrentAlloc.Replicas != 2 || got.Status.CurrentAlloc.Accelerator != "L4" {
			return fmt.Errorf("currentAlloc = %+v, want 2 replicas on L4", got.Status.CurrentAlloc)
		}
		if got.Status.ObservedGeneration != got.Generation {
			return fmt.Errorf("observedGeneration %d != generation %d", got.Status.ObservedGeneration, got.Generation)
		}
		return nil
	})

	decidedAt := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	decisions.Set(va.Name, ns, interfaces.VariantDecision{VariantName: va.Name, Namespace: ns, ModelID: "llama-8b",
		AcceleratorName: "L4", CurrentReplicas: 2, TargetReplicas: 3, Action: interfaces.ActionScaleUp,
		Reason: "scale-up: mean spare KV 0.05 < trigger 0.10", MetricsAvailable: true, LastRunTime: decidedAt})
	if !common.TriggerReconcile(trigger, va) {
		t.Fatal("trigger channel full")
	}
	eventually(t, timeout, func() error {
		got, err := getVA(ctx, key)
		if err != nil {
			return err
		}
		oa := got.Status.OptimizedAlloc
		if oa.Replicas != 3 || oa.Accelerator != "L4" || !oa.LastUpdateTime.Time.Equal(decidedAt) {
			return fmt.Errorf("optimizedAlloc = %+v", oa)
		}
		if !meta.IsStatusConditionTrue(got.Status.Conditions, wvav1alpha1.ConditionMetricsAvailable) ||
			!meta.IsStatusConditionTrue(got.Status.Conditions, wvav1alpha1.ConditionOptimizationReady) {
			return fmt.Errorf("conditions = %v", got.Status.Conditions)
		}
		cached, _ := vaCache.Get(key)
		if cached.Status.OptimizedAlloc.Replicas != 3 {
			return errors.New("VA cache does not hold the patched status")
		}
		return nil
	})

	// A later cycle loses metrics: the decision it carries (the previous target) is written,
	// MetricsAvailable turns False with the reason, and one event says so.
	decisions.Set(va.Name, ns, interfaces.VariantDecision{VariantName: va.Name, Namespace: ns, AcceleratorName: "L4",
		CurrentReplicas: 2, TargetReplicas: 3, Action: interfaces.ActionScaleUp, MetricsAvailable: false,
		MetricsReason: wvav1alpha1.ReasonPrometheusError, MetricsMessage: "query failed: connection refused",
		LastRunTime: decidedAt.Add(30 * time.Second)})
	common.TriggerReconcile(trigger, va)
	eventually(t, timeout, func() error {
		got, err := getVA(ctx, key)
		if err != nil {
			return err
		}
		c := meta.FindStatusCondition(got.Status.Conditions, wvav1alpha1.ConditionMetricsAvailable)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != wvav1alpha1.ReasonPrometheusError {
			return fmt.Errorf("MetricsAvailable = %+v", c)
		}
		if got.Status.OptimizedAlloc.Replicas != 3 {
			return fmt.Errorf("replicas = %d, want 3 kept", got.Status.OptimizedAlloc.Replicas)
		}
		evs, err := eventsFor(ctx, got)
		if err != nil {
			return err
		}
		if len(evs[EventReasonMetricsUnavailable]) != 1 {
			return fmt.Errorf("MetricsUnavailable events = %v", evs)
		}
		return nil
	})
}

func TestSpecChangeIsSeen(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	va := testutil.VariantAutoscaling("granite").Namespace(ns).Model("granite-8b").Obj()
	if err := k8sClient.Create(ctx, va); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(va)
	waitCached(t, key)

	// Merge patches: the controller writes status concurrently, so an Update could conflict.
	got, _ := getVA(ctx, key)
	before := got.DeepCopy()
	got.Spec.ModelID = "granite-13b"
	got.Spec.MaxReplicas = ptr.To[int32](4)
	if err := k8sClient.Patch(ctx, got, client.MergeFrom(before)); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, func() error {
		cached, _ := vaCache.Get(key)
		if cached.Spec.ModelID != "granite-13b" || cached.Spec.MaxReplicas == nil || *cached.Spec.MaxReplicas != 4 {
			return fmt.Errorf("cached spec = %+v", cached.Spec)
		}
		latest, err := getVA(ctx, key)
		if err != nil {
			return err
		}
		if latest.Status.ObservedGeneration != latest.Generation {
			return fmt.Errorf("observedGeneration %d, generation %d", latest.Status.ObservedGeneration, latest.Generation)
		}
		return nil
	})

	// A label change (the accelerator) is seen too, although it does not bump the generation.
	latest, _ := getVA(ctx, key)
	before = latest.DeepCopy()
	latest.Labels[wvav1alpha1.AcceleratorNameLabel] = "H100"
	if err := k8sClient.Patch(ctx, latest, client.MergeFrom(before)); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, func() error {
		cached, _ := vaCache.Get(key)
		if cached.AcceleratorName() != "H100" {
			return fmt.Errorf("cached accelerator %q", cached.AcceleratorName())
		}
		return nil
	})
}

func TestDeletedVAIsForgotten(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	_, va := createDecided(t, testutil.Deployment("mistral").Namespace(ns).Obj(), 2)
	key := client.ObjectKeyFromObject(va)
	eventually(t, timeout, func() error {
		got, err := getVA(ctx, key)
		if err != nil {
			return err
		}
		if got.Status.OptimizedAlloc.Replicas != 2 {
			return fmt.Errorf("decision not in status yet: %+v", got.Status)
		}
		return nil
	})

	// The Deployment stays: the VA must still be forgotten (the reference kept it until restart).
	if err := k8sClient.Delete(ctx, va); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, func() error {
		if _, ok := vaCache.Get(key); ok {
			return errors.New("deleted VA still in the VA cache")
		}
		if _, ok := decisions.Get(va.Name, ns); ok {
			return errors.New("deleted VA still has a decision")
		}
		return nil
	})
}

func TestMissingTargetIsReported(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	va := testutil.VariantAutoscaling("phi").Namespace(ns).Target("phi-decode").Obj()
	if err := k8sClient.Create(ctx, va); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(va)
	eventually(t, timeout, func() error {
		got, err := getVA(ctx, key)
		if err != nil {
			return err
		}
		c := meta.FindStatusCondition(got.Status.Conditions, wvav1alpha1.ConditionTargetResolved)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != wvav1alpha1.ReasonTargetNotFound || !strings.Contains(c.Message, "phi-decode") {
			return fmt.Errorf("TargetResolved = %+v", c)
		}
		evs, err := eventsFor(ctx, got)
		if err != nil {
			return err
		}
		if len(evs[EventReasonTargetNotFound]) != 1 || !strings.Contains(evs[EventReasonTargetNotFound][0], "phi-decode") {
			return fmt.Errorf("events = %v", evs)
		}
		return nil
	})

	// Triggers while the target is still missing record no further event.
	for range 3 {
		common.TriggerReconcile(trigger, va)
	}
	// Creating the Deployment resolves the target through the Deployment watch alone.
	if err := k8sClient.Create(ctx, testutil.Deployment("phi-decode").Namespace(ns).Replicas(3).Obj()); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, func() error {
		got, err := getVA(ctx, key)
		if err != nil {
			return err
		}
		if !meta.IsStatusConditionTrue(got.Status.Conditions, wvav1alpha1.ConditionTargetResolved) {
			return errors.New("TargetResolved not True after the Deployment appeared")
		}
		if got.Status.CurrentAlloc == nil || got.Status.CurrentAlloc.Replicas != 3 {
			return fmt.Errorf("currentAlloc = %+v", got.Status.CurrentAlloc)
		}
		evs, err := eventsFor(ctx, got)
		if err != nil {
			return err
		}
		if len(evs[EventReasonTargetNotFound]) != 1 || len(evs[EventReasonTargetFound]) != 1 {
			return fmt.Errorf("events = %v, want one TargetNotFound and one TargetFound", evs)
		}
		return nil
	})
}

func TestInvalidVAIsRejected(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	tests := map[string]struct {
		mutate func(*wvav1alpha1.VariantAutoscaling)
		field  string
	}{
		"empty modelID":      {func(va *wvav1alpha1.VariantAutoscaling) { va.Spec.ModelID = "" }, "spec.modelID"},
		"cost not a decimal": {func(va *wvav1alpha1.VariantAutoscaling) { va.Spec.VariantCost = "cheap" }, "spec.variantCost"},
		"negative cost":      {func(va *wvav1alpha1.VariantAutoscaling) { va.Spec.VariantCost = "-1" }, "spec.variantCost"},
		"target not a Deployment": {func(va *wvav1alpha1.VariantAutoscaling) {
			va.Spec.ScaleTargetRef.Kind = "StatefulSet"
		}, "spec.scaleTargetRef.kind"},
		"target in another API group": {func(va *wvav1alpha1.VariantAutoscaling) {
			va.Spec.ScaleTargetRef.APIVersion = "apps/v2"
		}, "spec.scaleTargetRef.apiVersion"},
		"min above max": {func(va *wvav1alpha1.VariantAutoscaling) {
			va.Spec.MinReplicas, va.Spec.MaxReplicas = ptr.To[int32](5), ptr.To[int32](2)
		}, "spec.minReplicas"},
		"zero max": {func(va *wvav1alpha1.VariantAutoscaling) { va.Spec.MaxReplicas = ptr.To[int32](0) }, "spec.maxReplicas"},
		"empty accelerator list": {func(va *wvav1alpha1.VariantAutoscaling) {
			va.Spec.ModelProfile = &wvav1alpha1.ModelProfile{Accelerators: []wvav1alpha1.AcceleratorProfile{}}
		}, "spec.modelProfile.accelerators"},
		"zero accelerator count": {func(va *wvav1alpha1.VariantAutoscaling) {
			va.Spec.ModelProfile = &wvav1alpha1.ModelProfile{Accelerators: []wvav1alpha1.AcceleratorProfile{{Acc: "A100", AccCount: 0, MaxBatchSize: 8}}}
		}, "spec.modelProfile.accelerators[0].accCount"},
		"negative beta": {func(va *wvav1alpha1.VariantAutoscaling) {
			va.Spec.ModelProfile = &wvav1alpha1.ModelProfile{Accelerators: []wvav1alpha1.AcceleratorProfile{{Acc: "A100", AccCount: 1, MaxBatchSize: 8,
				PerfParms: &wvav1alpha1.PerfParms{DecodeParms: wvav1alpha1.DecodeParms{Alpha: 20, Beta: -1}}}}}
		}, "spec.modelProfile.accelerators[0].perfParms.decodeParms.beta"},
		"unknown actuation mode": {func(va *wvav1alpha1.VariantAutoscaling) {
			va.Spec.Actuation = &wvav1alpha1.ActuationSpec{Mode: "Sometimes"}
		}, "spec.actuation.mode"},
		"slo without a target": {func(va *wvav1alpha1.VariantAutoscaling) {
			va.Spec.SLO = &wvav1alpha1.SLOSpec{Attainment: "0.99"}
		}, "spec.slo must set ttftMilliseconds or itlMilliseconds"},
		"zero ttft": {func(va *wvav1alpha1.VariantAutoscaling) {
			va.Spec.SLO = &wvav1alpha1.SLOSpec{TTFTMilliseconds: ptr.To[int32](0)}
		}, "spec.slo.ttftMilliseconds must be between 1 and 600000"},
		"ttft above ten minutes": {func(va *wvav1alpha1.VariantAutoscaling) {
			va.Spec.SLO = &wvav1alpha1.SLOSpec{TTFTMilliseconds: ptr.To[int32](600_001)}
		}, "spec.slo.ttftMilliseconds must be between 1 and 600000"},
		"negative itl": {func(va *wvav1alpha1.VariantAutoscaling) {
			va.Spec.SLO = &wvav1alpha1.SLOSpec{ITLMilliseconds: ptr.To[int32](-5)}
		}, "spec.slo.itlMilliseconds must be between 1 and 60000"},
		"attainment of 1": {func(va *wvav1alpha1.VariantAutoscaling) {
			va.Spec.SLO = &wvav1alpha1.SLOSpec{ITLMilliseconds: ptr.To[int32](50), Attainment: "1"}
		}, "spec.slo.attainment must be a decimal from 0.5 up to but excluding 1"},
		"attainment below a half": {func(va *wvav1alpha1.VariantAutoscaling) {
			va.Spec.SLO = &wvav1alpha1.SLOSpec{ITLMilliseconds: ptr.To[int32](50), Attainment: "0.4"}
		}, "spec.slo.attainment must be a decimal from 0.5 up to but excluding 1"},
		"zero startup delay": {func(va *wvav1alpha1.VariantAutoscaling) { va.Spec.StartupDelaySeconds = ptr.To[int32](0) },
			"spec.startupDelaySeconds must be between 1 and 3600"},
		"startup delay above an hour": {func(va *wvav1alpha1.VariantAutoscaling) { va.Spec.StartupDelaySeconds = ptr.To[int32](3601) },
			"spec.startupDelaySeconds must be between 1 and 3600"},
		"attainment as a percentage": {func(va *wvav1alpha1.VariantAutoscaling) {
			va.Spec.SLO = &wvav1alpha1.SLOSpec{ITLMilliseconds: ptr.To[int32](50), Attainment: "99%"}
		}, "spec.slo.attainment must be a decimal from 0.5 up to but excluding 1"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			va := testutil.VariantAutoscaling("bad").Namespace(ns).Obj()
			tc.mutate(va)
			err := k8sClient.Create(ctx, va)
			if !apierrors.IsInvalid(err) {
				t.Fatalf("Create error = %v, want Invalid", err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name %s", err, tc.field)
			}
		})
	}

	t.Run("valid full object with defaults", func(t *testing.T) {
		va := testutil.VariantAutoscaling("good").Namespace(ns).Bounds(1, 8).Direct().Obj()
		va.Spec.ModelProfile = &wvav1alpha1.ModelProfile{Accelerators: []wvav1alpha1.AcceleratorProfile{{Acc: "A100", AccCount: 1, MaxBatchSize: 4,
			PerfParms: &wvav1alpha1.PerfParms{DecodeParms: wvav1alpha1.DecodeParms{Alpha: 20.58, Beta: 0.41}, PrefillParms: wvav1alpha1.PrefillParms{Gamma: 20.58, Delta: 0.041}}}}}
		if err := k8sClient.Create(ctx, va); err != nil {
			t.Fatal(err)
		}
		got, err := getVA(ctx, client.ObjectKeyFromObject(va))
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.VariantCost != "10.0" || got.Cost() != 10 {
			t.Errorf("variantCost defaulted to %q, want 10.0", got.Spec.VariantCost)
		}
		if got.Spec.ModelProfile.Accelerators[0].PerfParms.DecodeParms.Alpha != 20.58 {
			t.Errorf("alpha = %v", got.Spec.ModelProfile.Accelerators[0].PerfParms.DecodeParms.Alpha)
		}
	})

	t.Run("valid slo", func(t *testing.T) {
		for name, slo := range map[string]wvav1alpha1.SLOSpec{
			"slo-full":     {TTFTMilliseconds: ptr.To[int32](500), ITLMilliseconds: ptr.To[int32](24), Attainment: "0.995"},
			"slo-ttft":     {TTFTMilliseconds: ptr.To[int32](600_000)},
			"slo-itl-half": {ITLMilliseconds: ptr.To[int32](1), Attainment: "0.5"},
		} {
			va := testutil.VariantAutoscaling(name).Namespace(ns).Obj()
			va.Spec.SLO = &slo
			if err := k8sClient.Create(ctx, va); err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			got, err := getVA(ctx, client.ObjectKeyFromObject(va))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(slo, *got.Spec.SLO); diff != "" {
				t.Errorf("%s: stored slo (-want +got):\n%s", name, diff)
			}
		}
	})
}

func TestActuation(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	deploy, va := createDecided(t, testutil.Deployment("qwen").Namespace(ns).Replicas(2).Obj(), 3)
	key := client.ObjectKeyFromObject(va)
	eventually(t, timeout, func() error {
		if target, ok, _ := actuated.state(key); !ok || target != 3 {
			return fmt.Errorf("actuated target %d (%v), want 3", target, ok)
		}
		got, err := getVA(ctx, key)
		if err != nil {
			return err
		}
		if a := got.Status.Actuation; a == nil || !a.Applied || a.Mode != wvav1alpha1.ActuationMetrics {
			return fmt.Errorf("status.actuation = %+v", a)
		}
		return nil
	})

	// The target disappears: the published series are withdrawn.
	if err := k8sClient.Delete(ctx, deploy); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, func() error {
		if _, ok, n := actuated.state(key); ok || n == 0 {
			return fmt.Errorf("still actuated after the target was deleted (forgotten %d times)", n)
		}
		return nil
	})
	// So does the VA: forgotten again, and never actuated since.
	_, _, before := actuated.state(key)
	if err := k8sClient.Delete(ctx, va); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, func() error {
		if _, ok, n := actuated.state(key); ok || n <= before {
			return fmt.Errorf("VA deletion not forgotten (%d Forget calls)", n)
		}
		return nil
	})
}

// waitCached waits until the controller has cached the VariantAutoscaling, as the engine only
// decides for cached ones.
func waitCached(t *testing.T, key client.ObjectKey) {
	t.Helper()
	eventually(t, timeout, func() error {
		if _, ok := vaCache.Get(key); !ok {
			return fmt.Errorf("%s not in the VA cache", key)
		}
		return nil
	})
}

// createActuated creates va with an actuator of its own on direct (Direct mode's uncached
// client; opts as for actuator.New) and waits until the controller has cached it.
func createActuated(t *testing.T, va *wvav1alpha1.VariantAutoscaling, direct actuator.DirectClient, opts ...actuator.Option) client.ObjectKey {
	t.Helper()
	key := client.ObjectKeyFromObject(va)
	act, err := actuator.New(prometheus.NewRegistry(), direct, opts...)
	if err != nil {
		t.Fatal(err)
	}
	actuated.delegate(key, act)
	if err := k8sClient.Create(context.Background(), va); err != nil {
		t.Fatal(err)
	}
	waitCached(t, key)
	return key
}

// createDecided creates deploy and a VariantAutoscaling of the same name targeting it, waits
// until the controller has cached the VA (the engine decides only for cached VAs: a trigger for
// a VA the informer has not seen yet reads NotFound, which forgets its decision), then stores a
// decision of target replicas on L4 and triggers a reconcile.
func createDecided(t *testing.T, deploy *appsv1.Deployment, target int) (*appsv1.Deployment, *wvav1alpha1.VariantAutoscaling) {
	t.Helper()
	ctx := context.Background()
	if err := k8sClient.Create(ctx, deploy); err != nil {
		t.Fatal(err)
	}
	va := testutil.VariantAutoscaling(deploy.Name).Namespace(deploy.Namespace).Obj()
	if err := k8sClient.Create(ctx, va); err != nil {
		t.Fatal(err)
	}
	waitCached(t, client.ObjectKeyFromObject(va))
	decisions.Set(va.Name, va.Namespace, interfaces.VariantDecision{TargetReplicas: target, AcceleratorName: "L4", MetricsAvailable: true})
	common.TriggerReconcile(trigger, va)
	return deploy, va
}

func TestActuationFailureIsReportedOnce(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	key := client.ObjectKey{Namespace: ns, Name: "phi"}
	actuated.failOn(key)
	_, va := createDecided(t, testutil.Deployment("phi").Namespace(ns).Obj(), 2)
	eventually(t, timeout, func() error {
		if n := actuated.failures(key); n < 3 {
			return fmt.Errorf("%d failed attempts, want retries", n)
		}
		got, err := getVA(ctx, key)
		if err != nil {
			return err
		}
		if a := got.Status.Actuation; a == nil || a.Applied {
			return fmt.Errorf("status.actuation = %+v, want applied=false", a)
		}
		if got.Status.OptimizedAlloc.Replicas != 2 {
			return fmt.Errorf("decision not in status: %+v", got.Status.OptimizedAlloc)
		}
		evs, err := eventsFor(ctx, va)
		if err != nil {
			return err
		}
		if len(evs[EventReasonActuationFailed]) != 1 {
			return fmt.Errorf("ActuationFailed events = %q, want exactly one", evs[EventReasonActuationFailed])
		}
		return nil
	})
	// Later retries add no event (events are written asynchronously: give them time to show).
	time.Sleep(time.Second)
	evs, err := eventsFor(ctx, va)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(evs[EventReasonActuationFailed]); n != 1 || actuated.failures(key) < 4 {
		t.Errorf("%d ActuationFailed events after %d failed attempts, want 1", n, actuated.failures(key))
	}
}
