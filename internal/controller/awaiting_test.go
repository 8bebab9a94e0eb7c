package controller

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// patchCounter is a client counting its status patches per key.
type patchCounter struct {
	client.Client
	n *keyCounter
}

func (c patchCounter) Status() client.SubResourceWriter {
	return patchCounterStatus{SubResourceWriter: c.Client.Status(), n: c.n}
}

type patchCounterStatus struct {
	client.SubResourceWriter
	n *keyCounter
}

func (s patchCounterStatus) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	s.n.inc(client.ObjectKeyFromObject(obj))
	return s.SubResourceWriter.Patch(ctx, obj, patch, opts...)
}

// TestFirstDecisionIsTheFirstStatusWrite drives a reconciler with a 1-minute awaiting-decision
// grace and a fake clock (the suite's reconciler is kept off these VariantAutoscalings' status):
// a VariantAutoscaling whose target resolved gets no status write until its first decision,
// which is then written in one patch with every condition (before the grace: two patches, the
// first saying AwaitingDecision); one that gets no decision within the grace is written with
// AwaitingDecision; one whose target is missing is written at once, and so is its target's
// creation.
func TestFirstDecisionIsTheFirstStatusWrite(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	for _, name := range []string{"decided", "undecided"} {
		if err := k8sClient.Create(ctx, testutil.Deployment(name).Namespace(ns).Replicas(1).Obj()); err != nil {
			t.Fatal(err)
		}
	}
	var keys []types.NamespacedName
	for _, target := range []string{"decided", "undecided", "missing"} {
		va := testutil.VariantAutoscaling(target).Namespace(ns).Obj()
		key := client.ObjectKeyFromObject(va)
		mutedStatus.set(key, struct{}{})
		t.Cleanup(func() { mutedStatus.forget(key) })
		if err := k8sClient.Create(ctx, va); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key)
	}
	decided, undecided, missing := keys[0], keys[1], keys[2]

	patches := &keyCounter{n: map[types.NamespacedName]int{}}
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC))
	dec := common.NewInternalDecisionCache()
	r := NewVariantAutoscalingReconciler(patchCounter{Client: k8sClient, n: patches}, events.NewFakeRecorder(100), dec,
		common.NewVACache(), nil, WithClock(clk), WithAwaitingDecisionGrace(time.Minute))
	reconcile := func(key types.NamespacedName) ctrl.Result {
		t.Helper()
		res, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key})
		if err != nil {
			t.Fatalf("reconciling %s: %v", key, err)
		}
		return res
	}
	// condition is the reason of the condition typ in key's stored status ("" when absent).
	condition := func(key types.NamespacedName, typ string) string {
		t.Helper()
		va, err := getVA(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if c := meta.FindStatusCondition(va.Status.Conditions, typ); c != nil {
			return c.Reason
		}
		return ""
	}

	// Start: the two resolved targets wait, the missing one is written.
	for _, key := range []types.NamespacedName{decided, undecided} {
		if res := reconcile(key); res.RequeueAfter != time.Minute {
			t.Errorf("%s: requeue after %s, want 1m0s (the grace)", key.Name, res.RequeueAfter)
		}
	}
	reconcile(missing)
	if got := condition(missing, wvav1alpha1.ConditionTargetResolved); got != wvav1alpha1.ReasonTargetNotFound {
		t.Errorf("missing target: TargetResolved reason %q, want %s at once", got, wvav1alpha1.ReasonTargetNotFound)
	}

	// The missing target is created: TargetResolved is corrected at once, not after the grace.
	if err := k8sClient.Create(ctx, testutil.Deployment(missing.Name).Namespace(ns).Replicas(1).Obj()); err != nil {
		t.Fatal(err)
	}
	reconcile(missing)
	if got := condition(missing, wvav1alpha1.ConditionTargetResolved); got != wvav1alpha1.ReasonTargetFound {
		t.Errorf("created target: TargetResolved reason %q, want %s at once", got, wvav1alpha1.ReasonTargetFound)
	}

	// 20 s later the engine's first decision arrives for one of them.
	clk.SetTime(clk.Now().Add(20 * time.Second))
	if res := reconcile(undecided); res.RequeueAfter != 40*time.Second {
		t.Errorf("undecided: requeue after %s, want the 40s left of the grace", res.RequeueAfter)
	}
	dec.Set(decided.Name, ns, interfaces.VariantDecision{VariantName: decided.Name, Namespace: ns, AcceleratorName: "L4",
		MetricsAvailable: true, CurrentReplicas: 1, TargetReplicas: 1, Action: interfaces.ActionNoChange, LastRunTime: clk.Now()})
	reconcile(decided)
	if n := patches.get(decided); n != 1 {
		t.Errorf("decided: %d status patches up to its first decision, want 1", n)
	}
	if n := patches.get(undecided); n != 0 {
		t.Errorf("undecided: %d status patches within the grace, want 0", n)
	}
	for typ, want := range map[string]string{
		wvav1alpha1.ConditionTargetResolved:    wvav1alpha1.ReasonTargetFound,
		wvav1alpha1.ConditionMetricsAvailable:  wvav1alpha1.ReasonMetricsFound,
		wvav1alpha1.ConditionOptimizationReady: wvav1alpha1.ReasonOptimizationSucceeded,
	} {
		if got := condition(decided, typ); got != want {
			t.Errorf("decided: %s reason %q, want %s", typ, got, want)
		}
	}
	if got := condition(decided, wvav1alpha1.ConditionReady); got == "" {
		t.Error("decided: no Ready condition")
	}

	// The grace passes without a decision: AwaitingDecision is written.
	clk.SetTime(clk.Now().Add(40 * time.Second))
	if res := reconcile(undecided); res.RequeueAfter != 0 {
		t.Errorf("undecided after the grace: requeue after %s, want none", res.RequeueAfter)
	}
	if got := condition(undecided, wvav1alpha1.ConditionOptimizationReady); got != wvav1alpha1.ReasonAwaitingDecision {
		t.Errorf("undecided after the grace: OptimizationReady reason %q, want %s", got, wvav1alpha1.ReasonAwaitingDecision)
	}
	if n := patches.get(undecided); n != 1 {
		t.Errorf("undecided: %d status patches after the grace, want 1", n)
	}
}
