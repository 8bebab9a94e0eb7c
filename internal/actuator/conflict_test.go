package actuator

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// scaleAs sets the Deployment's replicas through the scale subresource under field manager
// manager, as `kubectl scale` or an HPA controller would.
func scaleAs(t *testing.T, ns, name, manager string, n int32) {
	t.Helper()
	d := &appsv1.Deployment{}
	d.Namespace, d.Name = ns, name
	sc := &autoscalingv1.Scale{}
	if err := k8sClient.SubResource("scale").Get(context.Background(), d, sc); err != nil {
		t.Fatal(err)
	}
	sc.Spec.Replicas = n
	if err := k8sClient.SubResource("scale").Update(context.Background(), d, client.WithSubResourceBody(sc), client.FieldOwner(manager)); err != nil {
		t.Fatalf("scaling %s/%s to %d as %s: %v", ns, name, n, manager, err)
	}
}

// actuate runs Actuate and fails the test on an error.
func actuate(t *testing.T, a *Actuator, va *wvav1alpha1.VariantAutoscaling, current, target int) *interfaces.ScaleConflict {
	t.Helper()
	c, err := a.Actuate(context.Background(), va, decision("", current, target))
	if err != nil {
		t.Fatalf("Actuate(target %d): %v", target, err)
	}
	return c
}

func TestDirectModeLeavesAnHPATargetAlone(t *testing.T) {
	tests := map[string]struct {
		hpaTarget string // the Deployment the HPA scales
		want      *interfaces.ScaleConflict
		replicas  int32 // spec.replicas after
	}{
		"an HPA on the Deployment wins": {
			hpaTarget: "llama",
			want:      &interfaces.ScaleConflict{Kind: interfaces.ScaleConflictHPA, Writer: "hpa", Replicas: 2},
			replicas:  2,
		},
		"an HPA on another Deployment does not count": {hpaTarget: "other", replicas: 4},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ns := newNamespace(t)
			mustCreate(t, testutil.Deployment("llama").Namespace(ns).Replicas(2).Obj())
			mustCreate(t, testutil.HPA(ns, "hpa", tc.hpaTarget))
			va := testutil.VariantAutoscaling("llama").Namespace(ns).Direct().Obj()
			before := getDeployment(t, ns, "llama")

			a := newDirectActuator(t, k8sClient)
			got := actuate(t, a, va, 2, 4)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("conflict (-want +got):\n%s", diff)
			}
			after := getDeployment(t, ns, "llama")
			if *after.Spec.Replicas != tc.replicas {
				t.Errorf("spec.replicas = %d, want %d", *after.Spec.Replicas, tc.replicas)
			}
			if tc.want != nil && after.ResourceVersion != before.ResourceVersion {
				t.Error("the Deployment was written although an HPA targets it")
			}
		})
	}
}

func TestDirectModeReportsAForeignWriter(t *testing.T) {
	ns := newNamespace(t)
	// Created with 2 replicas by this test's client: the creator is no foreign writer.
	mustCreate(t, testutil.Deployment("llama").Namespace(ns).Replicas(2).Obj())
	va := testutil.VariantAutoscaling("llama").Namespace(ns).Direct().Obj()
	a := newDirectActuator(t, k8sClient)

	if c := actuate(t, a, va, 2, 4); c != nil {
		t.Fatalf("first write: conflict %+v, want none", c)
	}
	if c := actuate(t, a, va, 4, 4); c != nil {
		t.Fatalf("WVA's own write reported as %+v", c)
	}

	// Someone scales by hand: WVA reports them and sets its decision again.
	scaleAs(t, ns, "llama", "kubectl-scale", 7)
	want := &interfaces.ScaleConflict{Kind: interfaces.ScaleConflictForeignWrite, Writer: "kubectl-scale", Replicas: 7, Written: 4}
	if diff := cmp.Diff(want, actuate(t, a, va, 7, 4)); diff != "" {
		t.Errorf("conflict (-want +got):\n%s", diff)
	}
	if got := *getDeployment(t, ns, "llama").Spec.Replicas; got != 4 {
		t.Errorf("spec.replicas = %d after the foreign write, want 4 (reasserted)", got)
	}
	if c := actuate(t, a, va, 4, 4); c != nil {
		t.Errorf("after reasserting: conflict %+v, want none", c)
	}

	// Someone sets what WVA now decides: nothing to undo, nothing to report.
	scaleAs(t, ns, "llama", "kubectl-scale", 5)
	if c := actuate(t, a, va, 5, 5); c != nil {
		t.Errorf("a foreign write of the decision itself reported as %+v", c)
	}
}

func TestDirectModeResumesAfterTheHPAIsGone(t *testing.T) {
	ns := newNamespace(t)
	mustCreate(t, testutil.Deployment("llama").Namespace(ns).Replicas(2).Obj())
	va := testutil.VariantAutoscaling("llama").Namespace(ns).Direct().Obj()
	a := newDirectActuator(t, k8sClient)
	actuate(t, a, va, 2, 3)

	hpa := testutil.HPA(ns, "hpa", "llama")
	mustCreate(t, hpa)
	if c := actuate(t, a, va, 3, 4); c == nil || c.Kind != interfaces.ScaleConflictHPA {
		t.Fatalf("with an HPA: conflict %+v, want HPA", c)
	}
	scaleAs(t, ns, "llama", "horizontal-pod-autoscaler", 6) // what the HPA would do

	// The HPA goes: WVA takes the replicas back, and the HPA's write is not "foreign".
	if err := k8sClient.Delete(context.Background(), hpa); err != nil {
		t.Fatal(err)
	}
	if c := actuate(t, a, va, 6, 4); c != nil {
		t.Errorf("after the HPA was deleted: conflict %+v, want none", c)
	}
	if got := *getDeployment(t, ns, "llama").Spec.Replicas; got != 4 {
		t.Errorf("spec.replicas = %d, want 4", got)
	}
}

func TestReplicasOwner(t *testing.T) {
	ns := newNamespace(t)
	mustCreate(t, testutil.Deployment("llama").Namespace(ns).Replicas(2).Obj())
	a := newDirectActuator(t, k8sClient)
	va := testutil.VariantAutoscaling("llama").Namespace(ns).Direct().Obj()
	actuate(t, a, va, 2, 3)
	if got := replicasOwner(getDeployment(t, ns, "llama")); got != FieldManager {
		t.Errorf("after WVA's write the owner of spec.replicas is %q, want %q", got, FieldManager)
	}
	scaleAs(t, ns, "llama", "kubectl-scale", 5)
	if got := replicasOwner(getDeployment(t, ns, "llama")); got != "kubectl-scale" {
		t.Errorf("after kubectl scale the owner of spec.replicas is %q", got)
	}
	if got := replicasOwner(&appsv1.Deployment{}); got != "" {
		t.Errorf("without managedFields the owner is %q, want none", got)
	}
}
