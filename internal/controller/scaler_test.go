package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// scalerVA creates a Deployment and a VariantAutoscaling of the same name with spec.scaler.
func scalerVA(t *testing.T, ns, name string, kind wvav1alpha1.ScalerKind, lo, hi int32) *wvav1alpha1.VariantAutoscaling {
	t.Helper()
	ctx := context.Background()
	if err := k8sClient.Create(ctx, testutil.Deployment(name).Namespace(ns).Obj()); err != nil {
		t.Fatal(err)
	}
	va := testutil.VariantAutoscaling(name).Namespace(ns).Bounds(lo, hi).Obj()
	va.Spec.Scaler = &wvav1alpha1.ScalerSpec{Kind: kind}
	if err := k8sClient.Create(ctx, va); err != nil {
		t.Fatal(err)
	}
	return va
}

// patchVA merge-patches the spec of the VariantAutoscaling key.
func patchVA(t *testing.T, key types.NamespacedName, patch string) {
	t.Helper()
	va := &wvav1alpha1.VariantAutoscaling{ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace}}
	if err := k8sClient.Patch(context.Background(), va, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatal(err)
	}
}

// waitScalerOwned waits for the ScalerOwned condition of key to have status and reason.
func waitScalerOwned(t *testing.T, key types.NamespacedName, status metav1.ConditionStatus, reason string) *metav1.Condition {
	t.Helper()
	var got *metav1.Condition
	eventually(t, timeout, func() error {
		va, err := getVA(context.Background(), key)
		if err != nil {
			return err
		}
		got = meta.FindStatusCondition(va.Status.Conditions, wvav1alpha1.ConditionScalerOwned)
		if got == nil || got.Status != status || got.Reason != reason {
			return fmt.Errorf("ScalerOwned = %+v, want %s/%s", got, status, reason)
		}
		return nil
	})
	return got
}

// checkOwner fails unless obj is controlled by va: the garbage collector deletes it with va
// (envtest runs no garbage collector, so the reference is what can be checked).
func checkOwner(t *testing.T, obj metav1.Object, va *wvav1alpha1.VariantAutoscaling) {
	t.Helper()
	ref := metav1.GetControllerOf(obj)
	if ref == nil {
		t.Fatalf("%s has no controller reference: %+v", obj.GetName(), obj.GetOwnerReferences())
	}
	want := metav1.OwnerReference{APIVersion: wvav1alpha1.GroupVersion.String(), Kind: "VariantAutoscaling", Name: va.Name,
		UID: va.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}
	if diff := cmp.Diff(want, *ref); diff != "" {
		t.Errorf("controller reference of %s (-want +got):\n%s", obj.GetName(), diff)
	}
}

func TestScalerHPA(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	va := scalerVA(t, ns, "llama", wvav1alpha1.ScalerHPA, 2, 6)
	key := client.ObjectKeyFromObject(va)

	hpa := &autoscalingv2.HorizontalPodAutoscaler{}
	eventually(t, timeout, func() error { return k8sClient.Get(ctx, key, hpa) })
	checkOwner(t, hpa, va)
	want := autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "llama"},
		MinReplicas:    ptr.To[int32](2),
		MaxReplicas:    6,
		Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: "wva_desired_replicas", Selector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"variant_name": "llama", "exported_namespace": ns}}},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("1"))},
		}}},
		Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleUp: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](0), Tolerance: ptr.To(resource.MustParse("0")),
				SelectPolicy: ptr.To(autoscalingv2.MaxChangePolicySelect), Policies: []autoscalingv2.HPAScalingPolicy{
					{Type: autoscalingv2.PodsScalingPolicy, Value: 2, PeriodSeconds: 60},
					{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 60}}},
			ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](300), Tolerance: ptr.To(resource.MustParse("0")),
				SelectPolicy: ptr.To(autoscalingv2.MaxChangePolicySelect), // the API server's default
				Policies:     []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 60}}},
		},
	}
	if diff := cmp.Diff(want, hpa.Spec, cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })); diff != "" {
		t.Errorf("HPA spec (-want +got):\n%s", diff)
	}
	if hpa.Labels[ScalerVariantLabel] != va.Name || hpa.Labels["app.kubernetes.io/managed-by"] != "workload-variant-autoscaler" {
		t.Errorf("HPA labels %v", hpa.Labels)
	}
	c := waitScalerOwned(t, key, metav1.ConditionTrue, wvav1alpha1.ReasonScalerUpToDate)
	if !strings.Contains(c.Message, "HorizontalPodAutoscaler llama") || !strings.Contains(c.Message, "between 2 and 6 replicas") {
		t.Errorf("ScalerOwned message %q", c.Message)
	}

	// A VA change reaches the HPA.
	patchVA(t, key, `{"spec":{"maxReplicas":9}}`)
	eventually(t, timeout, func() error {
		if err := k8sClient.Get(ctx, key, hpa); err != nil {
			return err
		}
		if hpa.Spec.MaxReplicas != 9 {
			return fmt.Errorf("HPA maxReplicas %d, want 9", hpa.Spec.MaxReplicas)
		}
		return nil
	})
	// A hand edit of the HPA is undone.
	if err := k8sClient.Patch(ctx, hpa, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"maxReplicas":3}}`))); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, func() error {
		if err := k8sClient.Get(ctx, key, hpa); err != nil {
			return err
		}
		if hpa.Spec.MaxReplicas != 9 {
			return fmt.Errorf("HPA maxReplicas %d after a hand edit, want 9 again", hpa.Spec.MaxReplicas)
		}
		return nil
	})
	// Reconciles of an unchanged VA leave the HPA as it is (no rewrite every cycle).
	rv := hpa.ResourceVersion
	for i := range 3 {
		before := statusPatches.get(key)
		patchVA(t, key, fmt.Sprintf(`{"metadata":{"labels":{"touch":"%d"}}}`, i))
		common.TriggerReconcile(trigger, va)
		eventually(t, timeout, func() error {
			v, err := getVA(ctx, key)
			if err != nil {
				return err
			}
			if cached, ok := vaCache.Get(key); !ok || cached.Labels["touch"] != v.Labels["touch"] {
				return fmt.Errorf("reconcile of label %d not seen yet (%d status patches before)", i, before)
			}
			return nil
		})
	}
	if err := k8sClient.Get(ctx, key, hpa); err != nil {
		t.Fatal(err)
	}
	if hpa.ResourceVersion != rv {
		t.Errorf("HPA rewritten by reconciles of an unchanged VA: resourceVersion %s -> %s", rv, hpa.ResourceVersion)
	}
	eventually(t, timeout, func() error {
		ev, err := eventsFor(ctx, va)
		if err != nil {
			return err
		}
		if len(ev[EventReasonScalerCreated]) != 1 || len(ev[EventReasonScalerUpdated]) < 2 {
			return fmt.Errorf("events %v, want one ScalerCreated and two ScalerUpdated", ev)
		}
		return nil
	})

	// Removing spec.scaler deletes the HPA WVA created.
	patchVA(t, key, `{"spec":{"scaler":null}}`)
	eventually(t, timeout, func() error {
		err := k8sClient.Get(ctx, key, &autoscalingv2.HorizontalPodAutoscaler{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("HPA after spec.scaler was removed: %v, want NotFound", err)
		}
		v, err := getVA(ctx, key)
		if err != nil {
			return err
		}
		if c := meta.FindStatusCondition(v.Status.Conditions, wvav1alpha1.ConditionScalerOwned); c != nil {
			return fmt.Errorf("ScalerOwned still set: %+v", c)
		}
		return nil
	})
}

// TestScalerLeavesForeignHPA: an HPA the user made for the Deployment, and one that only has
// the name WVA would use, are neither overwritten nor joined by a second HPA.
func TestScalerLeavesForeignHPA(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	foreign := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "users-hpa", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "mistral"},
			MaxReplicas:    4,
		},
	}
	if err := k8sClient.Create(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	sameName := foreign.DeepCopy()
	sameName.ObjectMeta = metav1.ObjectMeta{Name: "granite", Namespace: ns}
	sameName.Spec.ScaleTargetRef.Name = "elsewhere"
	if err := k8sClient.Create(ctx, sameName); err != nil {
		t.Fatal(err)
	}

	va := scalerVA(t, ns, "mistral", wvav1alpha1.ScalerHPA, 1, 8)
	key := client.ObjectKeyFromObject(va)
	c := waitScalerOwned(t, key, metav1.ConditionFalse, wvav1alpha1.ReasonForeignScaler)
	if !strings.Contains(c.Message, "HorizontalPodAutoscaler users-hpa, which WVA did not create, targets Deployment mistral") {
		t.Errorf("ScalerOwned message %q", c.Message)
	}
	// With a decision applied, the foreign HPA is what keeps the variant from Ready.
	waitCached(t, key)
	decisions.Set(va.Name, va.Namespace, interfaces.VariantDecision{TargetReplicas: 2, AcceleratorName: "L4", MetricsAvailable: true})
	common.TriggerReconcile(trigger, va)
	waitReady(t, key, metav1.ConditionFalse, wvav1alpha1.ReasonForeignScaler)

	named := scalerVA(t, ns, "granite", wvav1alpha1.ScalerHPA, 1, 8)
	c = waitScalerOwned(t, client.ObjectKeyFromObject(named), metav1.ConditionFalse, wvav1alpha1.ReasonForeignScaler)
	if !strings.Contains(c.Message, "HorizontalPodAutoscaler granite exists and was not created by WVA") {
		t.Errorf("ScalerOwned message %q", c.Message)
	}

	for _, h := range []*autoscalingv2.HorizontalPodAutoscaler{foreign, sameName} {
		got := &autoscalingv2.HorizontalPodAutoscaler{}
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(h), got); err != nil {
			t.Fatal(err)
		}
		if got.ResourceVersion != h.ResourceVersion || len(got.OwnerReferences) != 0 {
			t.Errorf("HPA %s was changed: resourceVersion %s -> %s, owners %v", h.Name, h.ResourceVersion, got.ResourceVersion, got.OwnerReferences)
		}
	}
	if err := k8sClient.Get(ctx, key, &autoscalingv2.HorizontalPodAutoscaler{}); !apierrors.IsNotFound(err) {
		t.Errorf("WVA's HPA for mistral: %v, want NotFound while users-hpa targets the Deployment", err)
	}
	ev, err := eventsFor(ctx, va)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ev[EventReasonForeignScaler]); n != 1 {
		t.Errorf("%d ForeignScaler events, want 1: %v", n, ev)
	}

	// Once the user's HPA is gone, WVA creates its own.
	if err := k8sClient.Delete(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	patchVA(t, key, `{"metadata":{"labels":{"touch":"1"}}}`) // a reconcile (the engine's cycle in production)
	waitScalerOwned(t, key, metav1.ConditionTrue, wvav1alpha1.ReasonScalerUpToDate)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{}
	if err := k8sClient.Get(ctx, key, hpa); err != nil {
		t.Fatal(err)
	}
	checkOwner(t, hpa, va)
	waitReady(t, key, metav1.ConditionTrue, wvav1alpha1.ReasonAutoscaling)
}

func TestScalerScaledObject(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	va := scalerVA(t, ns, "qwen", wvav1alpha1.ScalerScaledObject, 0, 4)
	key := client.ObjectKeyFromObject(va)

	so := newScaledObject()
	eventually(t, timeout, func() error { return k8sClient.Get(ctx, key, so) })
	checkOwner(t, so, va)
	raw, err := json.Marshal(so.Object["spec"])
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	upDown := map[string]any{
		"scaleUp": map[string]any{"stabilizationWindowSeconds": 0.0, "selectPolicy": "Max", "policies": []any{
			map[string]any{"type": "Pods", "value": 2.0, "periodSeconds": 60.0},
			map[string]any{"type": "Percent", "value": 100.0, "periodSeconds": 60.0}}},
		"scaleDown": map[string]any{"stabilizationWindowSeconds": 300.0, "policies": []any{
			map[string]any{"type": "Pods", "value": 1.0, "periodSeconds": 60.0}}},
	}
	want := map[string]any{
		"scaleTargetRef":  map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "qwen"},
		"pollingInterval": 5.0, "cooldownPeriod": 30.0, "initialCooldownPeriod": 30.0,
		"minReplicaCount": 0.0, "maxReplicaCount": 4.0,
		"fallback": map[string]any{"failureThreshold": 3.0, "replicas": 2.0, "behavior": "currentReplicasIfHigher"},
		"advanced": map[string]any{"restoreToOriginalReplicaCount": false,
			"horizontalPodAutoscalerConfig": map[string]any{"behavior": upDown}},
		"triggers": []any{map[string]any{"type": "prometheus", "name": "wva-desired-replicas", "metricType": "AverageValue",
			"metadata": map[string]any{
				// The manager's Prometheus URL, without its password.
				"serverAddress":       "https://prometheus.monitoring.svc:9090",
				"query":               `max(wva_desired_replicas{variant_name="qwen",exported_namespace="` + ns + `"})`,
				"threshold":           "1",
				"activationThreshold": "0",
			}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ScaledObject spec (-want +got):\n%s", diff)
	}
	waitScalerOwned(t, key, metav1.ConditionTrue, wvav1alpha1.ReasonScalerUpToDate)

	// A VA change reaches the ScaledObject; so do the address and the authentication.
	patchVA(t, key, `{"spec":{"maxReplicas":7,"scaler":{"prometheusAddress":"http://prom.example:9090","authenticationRef":"prom-ca"}}}`)
	eventually(t, timeout, func() error {
		if err := k8sClient.Get(ctx, key, so); err != nil {
			return err
		}
		hi, _, _ := unstructured.NestedInt64(so.Object, "spec", "maxReplicaCount")
		triggers, _, _ := unstructured.NestedSlice(so.Object, "spec", "triggers")
		if hi != 7 || len(triggers) != 1 {
			return fmt.Errorf("maxReplicaCount %d, triggers %v; want 7 and one trigger", hi, triggers)
		}
		tr := triggers[0].(map[string]any)
		addr, _, _ := unstructured.NestedString(tr, "metadata", "serverAddress")
		auth, _, _ := unstructured.NestedString(tr, "authenticationRef", "name")
		if addr != "http://prom.example:9090" || auth != "prom-ca" {
			return fmt.Errorf("serverAddress %q, authenticationRef %q", addr, auth)
		}
		return nil
	})

	// Switching to an HPA deletes the ScaledObject.
	patchVA(t, key, `{"spec":{"scaler":{"kind":"HPA","prometheusAddress":null,"authenticationRef":null}}}`)
	eventually(t, timeout, func() error {
		if err := k8sClient.Get(ctx, key, newScaledObject()); !apierrors.IsNotFound(err) {
			return fmt.Errorf("ScaledObject after the switch to HPA: %v, want NotFound", err)
		}
		return k8sClient.Get(ctx, key, &autoscalingv2.HorizontalPodAutoscaler{})
	})
}

// TestScalerLeavesForeignScaledObject: a ScaledObject the user made for the Deployment is left
// as it is, and no second one is created.
func TestScalerLeavesForeignScaledObject(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	foreign := newScaledObject()
	foreign.SetName("users-so")
	foreign.SetNamespace(ns)
	foreign.Object["spec"] = map[string]any{"scaleTargetRef": map[string]any{"name": "phi"}, "maxReplicaCount": int64(3)}
	if err := k8sClient.Create(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	va := scalerVA(t, ns, "phi", wvav1alpha1.ScalerScaledObject, 1, 8)
	key := client.ObjectKeyFromObject(va)
	c := waitScalerOwned(t, key, metav1.ConditionFalse, wvav1alpha1.ReasonForeignScaler)
	if !strings.Contains(c.Message, "ScaledObject users-so, which WVA did not create, targets Deployment phi") {
		t.Errorf("ScalerOwned message %q", c.Message)
	}
	if err := k8sClient.Get(ctx, key, newScaledObject()); !apierrors.IsNotFound(err) {
		t.Errorf("WVA's ScaledObject for phi: %v, want NotFound", err)
	}
	got := newScaledObject()
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(foreign), got); err != nil {
		t.Fatal(err)
	}
	if got.GetResourceVersion() != foreign.GetResourceVersion() {
		t.Errorf("users-so was changed: resourceVersion %s -> %s", foreign.GetResourceVersion(), got.GetResourceVersion())
	}
}

// TestScalerValidation: the API server rejects spec.scaler in Direct mode and the
// ScaledObject-only fields on an HPA.
func TestScalerValidation(t *testing.T) {
	ns := newNamespace(t)
	tests := map[string]struct {
		scaler  wvav1alpha1.ScalerSpec
		direct  bool
		wantErr string
	}{
		"direct mode": {scaler: wvav1alpha1.ScalerSpec{Kind: wvav1alpha1.ScalerHPA}, direct: true,
			wantErr: "spec.scaler needs Metrics actuation"},
		"address on an HPA": {scaler: wvav1alpha1.ScalerSpec{Kind: wvav1alpha1.ScalerHPA, PrometheusAddress: "http://p:9090"},
			wantErr: "apply to kind ScaledObject only"},
		"unknown kind":  {scaler: wvav1alpha1.ScalerSpec{Kind: "VPA"}, wantErr: "Unsupported value"},
		"bad address":   {scaler: wvav1alpha1.ScalerSpec{Kind: wvav1alpha1.ScalerScaledObject, PrometheusAddress: "prom:9090"}, wantErr: "should match"},
		"scaled object": {scaler: wvav1alpha1.ScalerSpec{Kind: wvav1alpha1.ScalerScaledObject, PrometheusAddress: "http://p:9090", AuthenticationRef: "a"}},
	}
	i := 0
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			i++
			w := testutil.VariantAutoscaling(fmt.Sprintf("v%d", i)).Namespace(ns)
			if tc.direct {
				w = w.Direct()
			}
			va := w.Obj()
			va.Spec.Scaler = &tc.scaler
			err := k8sClient.Create(context.Background(), va, client.DryRunAll)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("create: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("create: %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
}

func TestScalerBounds(t *testing.T) {
	tests := map[string]struct {
		lo, hi         *int32
		kind           wvav1alpha1.ScalerKind
		wantLo, wantHi int32
	}{
		"unset":                  {kind: wvav1alpha1.ScalerHPA, wantLo: 1, wantHi: 100},
		"set":                    {lo: ptr.To[int32](2), hi: ptr.To[int32](6), kind: wvav1alpha1.ScalerHPA, wantLo: 2, wantHi: 6},
		"zero min on an HPA":     {lo: ptr.To[int32](0), hi: ptr.To[int32](6), kind: wvav1alpha1.ScalerHPA, wantLo: 1, wantHi: 6},
		"zero min on KEDA":       {lo: ptr.To[int32](0), hi: ptr.To[int32](6), kind: wvav1alpha1.ScalerScaledObject, wantLo: 0, wantHi: 6},
		"min above default max":  {lo: ptr.To[int32](150), kind: wvav1alpha1.ScalerHPA, wantLo: 150, wantHi: 150},
		"zero min, no max, KEDA": {lo: ptr.To[int32](0), kind: wvav1alpha1.ScalerScaledObject, wantLo: 0, wantHi: 100},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			va := testutil.VariantAutoscaling("v").Obj()
			va.Spec.MinReplicas, va.Spec.MaxReplicas = tc.lo, tc.hi
			if lo, hi := scalerMinReplicas(va, tc.kind), scalerMaxReplicas(va); lo != tc.wantLo || hi != tc.wantHi {
				t.Errorf("bounds [%d, %d], want [%d, %d]", lo, hi, tc.wantLo, tc.wantHi)
			}
		})
	}
}

func TestScaledObjectNeedsAnAddress(t *testing.T) {
	r := &VariantAutoscalingReconciler{}
	va := testutil.VariantAutoscaling("v").Obj()
	va.Spec.Scaler = &wvav1alpha1.ScalerSpec{Kind: wvav1alpha1.ScalerScaledObject}
	if _, err := r.desiredScaledObjectSpec(va); err == nil || !strings.Contains(err.Error(), "spec.scaler.prometheusAddress") {
		t.Errorf("error %v, want one naming spec.scaler.prometheusAddress", err)
	}
	WithScalerPrometheusAddress("https://u:p@prom:9090/x")(r)
	spec, err := r.desiredScaledObjectSpec(va)
	if err != nil {
		t.Fatal(err)
	}
	if got := spec.Triggers[0].Metadata["serverAddress"]; got != "https://prom:9090/x" {
		t.Errorf("serverAddress %q, want the manager's URL without user and password", got)
	}
}
