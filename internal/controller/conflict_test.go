package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// TestDirectModeConflicts runs a Direct-mode VariantAutoscaling with the real actuator against
// an HPA on its Deployment (the HPA wins: condition, one event, no scale write), the HPA's
// removal (WVA resumes) and a person editing spec.replicas (WVA wins: it sets them back, with a
// condition and one event naming the field manager).
func TestDirectModeConflicts(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	deploy := testutil.Deployment("mistral").Namespace(ns).Replicas(2).Obj()
	if err := k8sClient.Create(ctx, deploy); err != nil {
		t.Fatal(err)
	}
	hpa := testutil.HPA(ns, "mistral-hpa", deploy.Name)
	if err := k8sClient.Create(ctx, hpa); err != nil {
		t.Fatal(err)
	}
	va := testutil.VariantAutoscaling(deploy.Name).Namespace(ns).Direct().Obj()
	key := createActuated(t, va, k8sClient)
	decide := func(target int) {
		decisions.Set(va.Name, va.Namespace, interfaces.VariantDecision{TargetReplicas: target, AcceleratorName: "L4", MetricsAvailable: true})
		common.TriggerReconcile(trigger, va)
	}
	conflict := func(got *wvav1alpha1.VariantAutoscaling, status metav1.ConditionStatus, reason, mentions string) error {
		c := meta.FindStatusCondition(got.Status.Conditions, wvav1alpha1.ConditionActuationConflict)
		if c == nil || c.Status != status || c.Reason != reason || !strings.Contains(c.Message, mentions) {
			return fmt.Errorf("ActuationConflict = %+v, want %s/%s mentioning %q", c, status, reason, mentions)
		}
		return nil
	}

	// An HPA targets the Deployment: WVA publishes, does not scale, and says why, once.
	decide(4)
	eventually(t, timeout, func() error {
		got, err := getVA(ctx, key)
		if err != nil {
			return err
		}
		if got.Status.OptimizedAlloc.Replicas != 4 {
			return fmt.Errorf("decision not in status: %+v", got.Status.OptimizedAlloc)
		}
		if err := conflict(got, metav1.ConditionTrue, wvav1alpha1.ReasonHPAConflict, hpa.Name); err != nil {
			return err
		}
		if a := got.Status.Actuation; a == nil || a.Applied {
			return fmt.Errorf("status.actuation = %+v, want applied=false", a)
		}
		return wantEvents(ctx, va, EventReasonHPAConflict, 1, hpa.Name)
	})
	decide(5) // a later cycle: still no write, no second event
	eventually(t, timeout, func() error {
		got, err := getVA(ctx, key)
		if err != nil {
			return err
		}
		if got.Status.OptimizedAlloc.Replicas != 5 {
			return fmt.Errorf("decision not in status: %+v", got.Status.OptimizedAlloc)
		}
		return conflict(got, metav1.ConditionTrue, wvav1alpha1.ReasonHPAConflict, hpa.Name)
	})
	if d := getDeploy(t, ns, deploy.Name); d.ResourceVersion != deploy.ResourceVersion {
		t.Errorf("the Deployment was written (replicas %d) while an HPA targets it", *d.Spec.Replicas)
	}

	// The HPA goes: WVA scales again.
	if err := k8sClient.Delete(ctx, hpa); err != nil {
		t.Fatal(err)
	}
	decide(5)
	eventually(t, timeout, func() error {
		got, err := getVA(ctx, key)
		if err != nil {
			return err
		}
		if err := conflict(got, metav1.ConditionFalse, wvav1alpha1.ReasonNoConflict, deploy.Name); err != nil {
			return err
		}
		if n := *getDeploy(t, ns, deploy.Name).Spec.Replicas; n != 5 {
			return fmt.Errorf("spec.replicas = %d, want 5", n)
		}
		return wantEvents(ctx, va, EventReasonDirectActuationResumed, 1, deploy.Name)
	})

	// A person edits spec.replicas: the Deployment watch reconciles at once, WVA sets them back
	// and names the field manager, in the condition and in one event.
	if err := k8sClient.Patch(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: deploy.Name}},
		client.RawPatch(types.MergePatchType, []byte(`{"spec":{"replicas":9}}`)), client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, func() error {
		got, err := getVA(ctx, key)
		if err != nil {
			return err
		}
		if err := conflict(got, metav1.ConditionTrue, wvav1alpha1.ReasonForeignScaleWrite, `"kubectl-edit"`); err != nil {
			return err
		}
		d := getDeploy(t, ns, deploy.Name)
		if *d.Spec.Replicas != 5 {
			return fmt.Errorf("spec.replicas = %d, want 5 (set back)", *d.Spec.Replicas)
		}
		return wantEvents(ctx, va, EventReasonForeignScaleWrite, 1, `"kubectl-edit" set Deployment mistral to 9 replicas`)
	})
	// WVA's own write back reconciles again; that changes nothing (events are written
	// asynchronously: give a second one time to show).
	time.Sleep(time.Second)
	got, err := getVA(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := conflict(got, metav1.ConditionTrue, wvav1alpha1.ReasonForeignScaleWrite, "kubectl-edit"); err != nil {
		t.Error(err)
	}
	if err := wantEvents(ctx, va, EventReasonForeignScaleWrite, 1, "kubectl-edit"); err != nil {
		t.Error(err)
	}

	// A new decision of WVA's own clears it.
	decide(3)
	eventually(t, timeout, func() error {
		got, err := getVA(ctx, key)
		if err != nil {
			return err
		}
		return conflict(got, metav1.ConditionFalse, wvav1alpha1.ReasonNoConflict, deploy.Name)
	})

	// Metrics mode has no such condition.
	if err := k8sClient.Patch(ctx, va, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"actuation":{"mode":"Metrics"}}}`))); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, func() error {
		got, err := getVA(ctx, key)
		if err != nil {
			return err
		}
		if c := meta.FindStatusCondition(got.Status.Conditions, wvav1alpha1.ConditionActuationConflict); c != nil {
			return fmt.Errorf("Metrics mode: ActuationConflict = %+v, want none", c)
		}
		return nil
	})
}

// wantEvents checks that obj has exactly n events of reason, each mentioning text.
func wantEvents(ctx context.Context, obj client.Object, reason string, n int, text string) error {
	evs, err := eventsFor(ctx, obj)
	if err != nil {
		return err
	}
	if len(evs[reason]) != n {
		return fmt.Errorf("%s events = %q, want %d", reason, evs[reason], n)
	}
	for _, note := range evs[reason] {
		if !strings.Contains(note, text) {
			return fmt.Errorf("%s event %q does not mention %q", reason, note, text)
		}
	}
	return nil
}

func getDeploy(t *testing.T, ns, name string) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
		t.Fatal(err)
	}
	return d
}
