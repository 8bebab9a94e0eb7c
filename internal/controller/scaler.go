package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/actuator"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
)

// The scaler WVA owns for a VariantAutoscaling with spec.scaler (Metrics mode): an
// autoscaling/v2 HorizontalPodAutoscaler, or a KEDA ScaledObject written as unstructured so
// that WVA needs no KEDA Go module. Both are named after the VariantAutoscaling, controlled by
// it through an ownerReference (the garbage collector deletes them with it) and mirror
// config/samples/hpa.yaml and config/samples/keda-scaledobject.yaml.
const (
	// ScalerVariantLabel, on a scaler WVA created, names its VariantAutoscaling.
	ScalerVariantLabel = "llmd.ai/variantautoscaling"
	// ScalerSpecHashAnnotation holds a hash of the spec WVA last wrote, so that a field the API
	// server defaults or drops (such as an HPA tolerance without its feature gate) does not
	// make WVA rewrite the scaler every cycle.
	ScalerSpecHashAnnotation = "llmd.ai/scaler-spec-hash"

	managedByLabel = "app.kubernetes.io/managed-by"
	managedByValue = "workload-variant-autoscaler"
)

// ScaledObjectGVK is KEDA's ScaledObject.
var ScaledObjectGVK = schema.GroupVersionKind{Group: "keda.sh", Version: "v1alpha1", Kind: "ScaledObject"}

// WithScalerPrometheusAddress sets the Prometheus address a ScaledObject's trigger queries when
// spec.scaler.prometheusAddress is empty: the URL WVA itself reads Prometheus from. User
// information (a password) in it is never copied into a ScaledObject.
func WithScalerPrometheusAddress(addr string) Option {
	return func(r *VariantAutoscalingReconciler) { r.scalerPrometheus = withoutUserinfo(addr) }
}

func withoutUserinfo(addr string) string {
	u, err := url.Parse(addr)
	if err != nil || u.User == nil {
		return addr
	}
	u.User = nil
	return u.String()
}

// scalerState is what the reconciler remembers per VariantAutoscaling (its scalers, a keyed
// memory): the ScalerOwned reason set last (a reconcile
// may read a cached status that has not seen it yet, and must not repeat its event) and
// whether no ScaledObject of it can exist, so that a VariantAutoscaling without one is not
// looked up past the cache every cycle.
type scalerState struct {
	reason string
	// noScaledObject: WVA found no ScaledObject of the VariantAutoscaling and created none since.
	noScaledObject bool
}

// foreignScalerError says which scaler WVA did not create stands in the way of its own.
type foreignScalerError struct{ what string }

func (e *foreignScalerError) Error() string { return e.what }

func foreignScaler(format string, args ...any) error {
	return &foreignScalerError{what: fmt.Sprintf(format, args...)}
}

// syncScaler makes the scaler of va match spec.scaler and records the ScalerOwned condition:
// it creates or updates the scaler WVA owns, unless one it does not own targets the Deployment
// or has its name, and deletes the scalers WVA owns that spec.scaler no longer asks for. It
// returns an error to retry. targetExists is false while the scale target is missing: no
// scaler is created for it then, but one no longer asked for is still deleted.
func (r *VariantAutoscalingReconciler) syncScaler(ctx context.Context, va *wvav1alpha1.VariantAutoscaling, targetExists bool) error {
	key := client.ObjectKeyFromObject(va)
	want := va.Spec.Scaler
	if want == nil || va.ActuationMode() != wvav1alpha1.ActuationMetrics {
		meta.RemoveStatusCondition(&va.Status.Conditions, wvav1alpha1.ConditionScalerOwned)
		r.scalers.update(key, func(s *scalerState) { s.reason = "" })
		return errors.Join(r.deleteOwnedHPA(ctx, va), r.deleteOwnedScaledObject(ctx, va))
	}
	if !targetExists {
		return nil
	}
	var (
		kindName string
		err      error
		wrote    string
	)
	switch want.Kind {
	case wvav1alpha1.ScalerScaledObject:
		kindName = "ScaledObject " + va.Name
		err = r.deleteOwnedHPA(ctx, va)
		if err == nil {
			wrote, err = r.syncScaledObject(ctx, va)
		}
	default:
		kindName = "HorizontalPodAutoscaler " + va.Name
		err = r.deleteOwnedScaledObject(ctx, va)
		if err == nil {
			wrote, err = r.syncHPA(ctx, va)
		}
	}

	prev, ok := r.scalers.get(key)
	if !ok {
		if c := meta.FindStatusCondition(va.Status.Conditions, wvav1alpha1.ConditionScalerOwned); c != nil {
			prev.reason = c.Reason
		}
	}
	target := va.Spec.ScaleTargetRef.Name
	var reason, msg string
	status := metav1.ConditionFalse
	var foreign *foreignScalerError
	switch {
	case errors.As(err, &foreign):
		reason = wvav1alpha1.ReasonForeignScaler
		msg = fmt.Sprintf("%s; WVA leaves it as it is and does not create %s. Delete it, or remove spec.scaler and keep it.",
			foreign.what, kindName)
		err = nil // nothing to retry: the next cycle looks again
	case err != nil:
		reason = wvav1alpha1.ReasonScalerFailed
		msg = fmt.Sprintf("Writing %s for Deployment %s failed: %v", kindName, target, err)
	default:
		status, reason = metav1.ConditionTrue, wvav1alpha1.ReasonScalerUpToDate
		msg = fmt.Sprintf("WVA owns %s, which scales Deployment %s on %s between %d and %d replicas.",
			kindName, target, actuator.DesiredReplicasMetric, scalerMinReplicas(va, want.Kind), scalerMaxReplicas(va))
	}
	r.setCondition(va, wvav1alpha1.ConditionScalerOwned, status, reason, msg)
	r.scalers.update(key, func(s *scalerState) { s.reason = reason })
	switch {
	case wrote != "":
		scalerWrittenEvent(r.recorder, va, wrote, kindName, target)
	case reason != prev.reason && reason == wvav1alpha1.ReasonForeignScaler:
		foreignScalerEvent(r.recorder, va, msg)
	case reason != prev.reason && reason == wvav1alpha1.ReasonScalerFailed:
		scalerFailedEvent(r.recorder, va, msg)
	}
	if err != nil {
		return fmt.Errorf("writing %s for %s: %w", kindName, key, err)
	}
	return nil
}

// scalerMinReplicas is the scaler's lower bound: spec.minReplicas (default 1). An HPA keeps at
// least 1, because minReplicas 0 needs the HPAScaleToZero feature gate; KEDA scales to 0.
func scalerMinReplicas(va *wvav1alpha1.VariantAutoscaling, kind wvav1alpha1.ScalerKind) int32 {
	lo := ptr.Deref(va.Spec.MinReplicas, 1)
	if kind != wvav1alpha1.ScalerScaledObject {
		lo = max(lo, 1)
	}
	return max(lo, 0)
}

// scalerMaxReplicas is the scaler's upper bound: spec.maxReplicas, or when unset the bound WVA
// applies itself (analysis.DefaultMaxReplicas, or minReplicas when higher).
func scalerMaxReplicas(va *wvav1alpha1.VariantAutoscaling) int32 {
	lo := max(ptr.Deref(va.Spec.MinReplicas, 1), 1)
	if va.Spec.MaxReplicas != nil {
		return max(*va.Spec.MaxReplicas, lo)
	}
	return max(analysis.DefaultMaxReplicas, lo)
}

// scalerBehavior is the stabilisation of config/samples/hpa.yaml: scale up at once, at most
// +2 pods or +100% a minute; scale down by 1 pod a minute after 5 minutes of lower decisions.
// tolerance 0 (HPA only) makes the HPA follow WVA exactly; KEDA's HPA config has no tolerance.
func scalerBehavior(withTolerance bool) *autoscalingv2.HorizontalPodAutoscalerBehavior {
	tol := func() *resource.Quantity {
		if !withTolerance {
			return nil
		}
		return resource.NewQuantity(0, resource.DecimalSI)
	}
	return &autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleUp: &autoscalingv2.HPAScalingRules{
			StabilizationWindowSeconds: ptr.To[int32](0),
			Tolerance:                  tol(),
			SelectPolicy:               ptr.To(autoscalingv2.MaxChangePolicySelect),
			Policies: []autoscalingv2.HPAScalingPolicy{
				{Type: autoscalingv2.PodsScalingPolicy, Value: 2, PeriodSeconds: 60},
				{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 60},
			},
		},
		ScaleDown: &autoscalingv2.HPAScalingRules{
			StabilizationWindowSeconds: ptr.To[int32](300),
			Tolerance:                  tol(),
			Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 60}},
		},
	}
}

// desiredHPASpec is the HorizontalPodAutoscaler of va: an External metric target of
// AverageValue 1 on wva_desired_replicas of the variant, so that the HPA copies WVA's number.
func desiredHPASpec(va *wvav1alpha1.VariantAutoscaling) autoscalingv2.HorizontalPodAutoscalerSpec {
	target := va.Spec.ScaleTargetRef.Name
	return autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: target},
		MinReplicas:    ptr.To(scalerMinReplicas(va, wvav1alpha1.ScalerHPA)),
		MaxReplicas:    scalerMaxReplicas(va),
		Metrics: []autoscalingv2.MetricSpec{{
			Type: autoscalingv2.ExternalMetricSourceType,
			External: &autoscalingv2.ExternalMetricSource{
				Metric: autoscalingv2.MetricIdentifier{
					Name: actuator.DesiredReplicasMetric,
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{
						actuator.LabelVariantName:      target,
						actuator.ScrapedNamespaceLabel: va.Namespace,
					}},
				},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(1, resource.DecimalSI)},
			},
		}},
		Behavior: scalerBehavior(true),
	}
}

// specHash is a short hash of a scaler spec as WVA writes it.
func specHash(spec any) (string, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return "", fmt.Errorf("encoding the scaler spec: %w", err)
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:8]), nil
}

// ownedMeta sets the labels, the spec hash and the controller reference WVA puts on a scaler.
func (r *VariantAutoscalingReconciler) ownedMeta(va *wvav1alpha1.VariantAutoscaling, obj client.Object, hash string) error {
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[managedByLabel] = managedByValue
	labels[ScalerVariantLabel] = va.Name
	obj.SetLabels(labels)
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[ScalerSpecHashAnnotation] = hash
	obj.SetAnnotations(ann)
	if err := controllerutil.SetControllerReference(va, obj, r.client.Scheme()); err != nil {
		return fmt.Errorf("setting the owner of %s: %w", klog.KObj(obj), err)
	}
	return nil
}

// syncHPA creates or updates the HorizontalPodAutoscaler of va and says what it wrote
// ("created", "updated" or ""). The HorizontalPodAutoscalers come from the manager's cache.
func (r *VariantAutoscalingReconciler) syncHPA(ctx context.Context, va *wvav1alpha1.VariantAutoscaling) (string, error) {
	var list autoscalingv2.HorizontalPodAutoscalerList
	if err := r.client.List(ctx, &list, client.InNamespace(va.Namespace)); err != nil {
		return "", fmt.Errorf("listing HorizontalPodAutoscalers: %w", err)
	}
	var own *autoscalingv2.HorizontalPodAutoscaler
	for i := range list.Items {
		h := &list.Items[i]
		mine := metav1.IsControlledBy(h, va)
		switch {
		case h.Name == va.Name && !mine:
			return "", foreignScaler("HorizontalPodAutoscaler %s exists and was not created by WVA", h.Name)
		case mine && h.Name == va.Name:
			own = h
		case !mine && targets(h.Spec.ScaleTargetRef, va):
			return "", foreignScaler("HorizontalPodAutoscaler %s, which WVA did not create, targets Deployment %s", h.Name, va.Spec.ScaleTargetRef.Name)
		}
	}
	spec := desiredHPASpec(va)
	hash, err := specHash(spec)
	if err != nil {
		return "", err
	}
	if own == nil {
		hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: va.Name, Namespace: va.Namespace}, Spec: spec}
		if err := r.ownedMeta(va, hpa, hash); err != nil {
			return "", err
		}
		if err := r.client.Create(ctx, hpa); err != nil {
			return "", fmt.Errorf("creating HorizontalPodAutoscaler %s: %w", klog.KObj(hpa), err)
		}
		log.FromContext(ctx).V(1).Info("Created HorizontalPodAutoscaler", "variantAutoscaling", klog.KObj(va), "hpa", klog.KObj(hpa))
		return "created", nil
	}
	if own.Annotations[ScalerSpecHashAnnotation] == hash && hpaCoreMatches(&own.Spec, &spec) {
		return "", nil
	}
	// A merge patch from the cached object: the cache drops managedFields (see cmd/manager),
	// which an Update would send back.
	updated := own.DeepCopy()
	updated.Spec = spec
	if err := r.ownedMeta(va, updated, hash); err != nil {
		return "", err
	}
	if err := r.client.Patch(ctx, updated, client.MergeFrom(own)); err != nil {
		return "", fmt.Errorf("updating HorizontalPodAutoscaler %s: %w", klog.KObj(own), err)
	}
	log.FromContext(ctx).V(1).Info("Updated HorizontalPodAutoscaler", "variantAutoscaling", klog.KObj(va), "hpa", klog.KObj(own))
	return "updated", nil
}

// hpaCoreMatches compares the fields of an HPA that nothing defaults: a hand edit of them is
// undone even when the spec hash annotation was left as it was.
func hpaCoreMatches(have, want *autoscalingv2.HorizontalPodAutoscalerSpec) bool {
	return have.ScaleTargetRef == want.ScaleTargetRef && have.MaxReplicas == want.MaxReplicas &&
		ptr.Deref(have.MinReplicas, 1) == ptr.Deref(want.MinReplicas, 1) && len(have.Metrics) == len(want.Metrics)
}

// targets reports whether ref names va's scale target.
func targets(ref autoscalingv2.CrossVersionObjectReference, va *wvav1alpha1.VariantAutoscaling) bool {
	return ref.Kind == "Deployment" && ref.Name == va.Spec.ScaleTargetRef.Name
}

// deleteOwnedHPA deletes the HorizontalPodAutoscaler WVA created for va, if any.
func (r *VariantAutoscalingReconciler) deleteOwnedHPA(ctx context.Context, va *wvav1alpha1.VariantAutoscaling) error {
	hpa := &autoscalingv2.HorizontalPodAutoscaler{}
	err := r.client.Get(ctx, client.ObjectKeyFromObject(va), hpa)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("reading HorizontalPodAutoscaler %s: %w", client.ObjectKeyFromObject(va), err)
	case !metav1.IsControlledBy(hpa, va):
		return nil
	}
	if err := r.client.Delete(ctx, hpa, client.Preconditions{UID: &hpa.UID}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting HorizontalPodAutoscaler %s: %w", klog.KObj(hpa), err)
	}
	log.FromContext(ctx).V(1).Info("Deleted HorizontalPodAutoscaler", "variantAutoscaling", klog.KObj(va), "hpa", klog.KObj(hpa))
	return nil
}

// scaledObjectSpec is the part of KEDA's ScaledObject spec WVA writes (keda.sh/v1alpha1).
type scaledObjectSpec struct {
	ScaleTargetRef        scaledObjectTarget    `json:"scaleTargetRef"`
	PollingInterval       int32                 `json:"pollingInterval"`
	CooldownPeriod        int32                 `json:"cooldownPeriod"`
	InitialCooldownPeriod int32                 `json:"initialCooldownPeriod"`
	MinReplicaCount       int32                 `json:"minReplicaCount"`
	MaxReplicaCount       int32                 `json:"maxReplicaCount"`
	Fallback              scaledObjectFallback  `json:"fallback"`
	Advanced              scaledObjectAdvanced  `json:"advanced"`
	Triggers              []scaledObjectTrigger `json:"triggers"`
}

type scaledObjectTarget struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
}

type scaledObjectFallback struct {
	FailureThreshold int32  `json:"failureThreshold"`
	Replicas         int32  `json:"replicas"`
	Behavior         string `json:"behavior"`
}

type scaledObjectAdvanced struct {
	RestoreToOriginalReplicaCount bool                `json:"restoreToOriginalReplicaCount"`
	HorizontalPodAutoscalerConfig scaledObjectHPAConf `json:"horizontalPodAutoscalerConfig"`
}

type scaledObjectHPAConf struct {
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior"`
}

type scaledObjectTrigger struct {
	Type              string            `json:"type"`
	Name              string            `json:"name"`
	MetricType        string            `json:"metricType"`
	Metadata          map[string]string `json:"metadata"`
	AuthenticationRef *scaledObjectAuth `json:"authenticationRef,omitempty"`
}

type scaledObjectAuth struct {
	Name string `json:"name"`
}

// desiredScaledObjectSpec is the ScaledObject spec of va, as config/samples/keda-scaledobject.yaml:
// a Prometheus trigger of AverageValue 1 on max(wva_desired_replicas) of the variant.
func (r *VariantAutoscalingReconciler) desiredScaledObjectSpec(va *wvav1alpha1.VariantAutoscaling) (scaledObjectSpec, error) {
	want := va.Spec.Scaler
	addr := want.PrometheusAddress
	if addr == "" {
		addr = r.scalerPrometheus
	}
	if addr == "" {
		return scaledObjectSpec{}, errors.New("no Prometheus address: set spec.scaler.prometheusAddress")
	}
	target := va.Spec.ScaleTargetRef.Name
	lo, hi := scalerMinReplicas(va, wvav1alpha1.ScalerScaledObject), scalerMaxReplicas(va)
	trigger := scaledObjectTrigger{
		Type: "prometheus", Name: "wva-desired-replicas", MetricType: string(autoscalingv2.AverageValueMetricType),
		Metadata: map[string]string{
			"serverAddress": addr,
			"query": fmt.Sprintf(`max(%s{%s=%q,%s=%q})`, actuator.DesiredReplicasMetric,
				actuator.LabelVariantName, target, actuator.ScrapedNamespaceLabel, va.Namespace),
			"threshold":           "1",
			"activationThreshold": "0",
		},
	}
	if want.AuthenticationRef != "" {
		trigger.AuthenticationRef = &scaledObjectAuth{Name: want.AuthenticationRef}
	}
	return scaledObjectSpec{
		ScaleTargetRef:        scaledObjectTarget{APIVersion: "apps/v1", Kind: "Deployment", Name: target},
		PollingInterval:       5,
		CooldownPeriod:        30,
		InitialCooldownPeriod: 30,
		MinReplicaCount:       lo,
		MaxReplicaCount:       hi,
		// While Prometheus cannot be queried, hold at least 2 replicas (within the bounds).
		Fallback: scaledObjectFallback{FailureThreshold: 3, Replicas: min(max(2, lo, 1), hi), Behavior: "currentReplicasIfHigher"},
		Advanced: scaledObjectAdvanced{HorizontalPodAutoscalerConfig: scaledObjectHPAConf{Behavior: scalerBehavior(false)}},
		Triggers: []scaledObjectTrigger{trigger},
	}, nil
}

func newScaledObject() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(ScaledObjectGVK)
	return u
}

// syncScaledObject creates or updates the ScaledObject of va and says what it wrote. The
// ScaledObjects are listed past the cache (WVA does not watch them: KEDA may not be installed).
func (r *VariantAutoscalingReconciler) syncScaledObject(ctx context.Context, va *wvav1alpha1.VariantAutoscaling) (string, error) {
	spec, err := r.desiredScaledObjectSpec(va)
	if err != nil {
		return "", err
	}
	var hpas autoscalingv2.HorizontalPodAutoscalerList
	if err := r.client.List(ctx, &hpas, client.InNamespace(va.Namespace)); err != nil {
		return "", fmt.Errorf("listing HorizontalPodAutoscalers: %w", err)
	}
	for i := range hpas.Items {
		h := &hpas.Items[i]
		if targets(h.Spec.ScaleTargetRef, va) && !ownedByOurScaledObject(h, va) {
			return "", foreignScaler("HorizontalPodAutoscaler %s, which WVA did not create, targets Deployment %s", h.Name, va.Spec.ScaleTargetRef.Name)
		}
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(ScaledObjectGVK.GroupVersion().WithKind("ScaledObjectList"))
	if err := r.client.List(ctx, list, client.InNamespace(va.Namespace)); err != nil {
		if meta.IsNoMatchError(err) {
			return "", errors.New("the ScaledObject API (keda.sh/v1alpha1) is not installed: install KEDA, or use kind HPA")
		}
		return "", fmt.Errorf("listing ScaledObjects: %w", err)
	}
	var own *unstructured.Unstructured
	for i := range list.Items {
		so := &list.Items[i]
		mine := metav1.IsControlledBy(so, va)
		name, _, _ := unstructured.NestedString(so.Object, "spec", "scaleTargetRef", "name")
		kind, _, _ := unstructured.NestedString(so.Object, "spec", "scaleTargetRef", "kind")
		switch {
		case so.GetName() == va.Name && !mine:
			return "", foreignScaler("ScaledObject %s exists and was not created by WVA", so.GetName())
		case mine && so.GetName() == va.Name:
			own = so
		case !mine && name == va.Spec.ScaleTargetRef.Name && (kind == "" || kind == "Deployment"):
			return "", foreignScaler("ScaledObject %s, which WVA did not create, targets Deployment %s", so.GetName(), name)
		}
	}
	hash, err := specHash(spec)
	if err != nil {
		return "", err
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&spec)
	if err != nil {
		return "", fmt.Errorf("encoding the ScaledObject spec: %w", err)
	}
	key := client.ObjectKeyFromObject(va)
	if own == nil {
		so := newScaledObject()
		so.SetName(va.Name)
		so.SetNamespace(va.Namespace)
		so.Object["spec"] = content
		if err := r.ownedMeta(va, so, hash); err != nil {
			return "", err
		}
		if err := r.client.Create(ctx, so); err != nil {
			return "", fmt.Errorf("creating ScaledObject %s: %w", klog.KObj(so), err)
		}
		r.scalers.update(key, func(s *scalerState) { s.noScaledObject = false })
		log.FromContext(ctx).V(1).Info("Created ScaledObject", "variantAutoscaling", klog.KObj(va), "scaledObject", klog.KObj(so))
		return "created", nil
	}
	r.scalers.update(key, func(s *scalerState) { s.noScaledObject = false })
	if own.GetAnnotations()[ScalerSpecHashAnnotation] == hash && scaledObjectCoreMatches(own, &spec) {
		return "", nil
	}
	own.Object["spec"] = content
	if err := r.ownedMeta(va, own, hash); err != nil {
		return "", err
	}
	if err := r.client.Update(ctx, own); err != nil {
		return "", fmt.Errorf("updating ScaledObject %s: %w", klog.KObj(own), err)
	}
	log.FromContext(ctx).V(1).Info("Updated ScaledObject", "variantAutoscaling", klog.KObj(va), "scaledObject", klog.KObj(own))
	return "updated", nil
}

// scaledObjectCoreMatches compares the target and the bounds of a ScaledObject with spec.
func scaledObjectCoreMatches(so *unstructured.Unstructured, spec *scaledObjectSpec) bool {
	name, _, _ := unstructured.NestedString(so.Object, "spec", "scaleTargetRef", "name")
	lo, _, _ := unstructured.NestedInt64(so.Object, "spec", "minReplicaCount")
	hi, _, _ := unstructured.NestedInt64(so.Object, "spec", "maxReplicaCount")
	return name == spec.ScaleTargetRef.Name && lo == int64(spec.MinReplicaCount) && hi == int64(spec.MaxReplicaCount)
}

// ownedByOurScaledObject reports whether KEDA created h for the ScaledObject WVA owns for va.
func ownedByOurScaledObject(h *autoscalingv2.HorizontalPodAutoscaler, va *wvav1alpha1.VariantAutoscaling) bool {
	ref := metav1.GetControllerOf(h)
	if ref == nil || ref.Kind != ScaledObjectGVK.Kind || ref.Name != va.Name {
		return false
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	return err == nil && gv.Group == ScaledObjectGVK.Group
}

// deleteOwnedScaledObject deletes the ScaledObject WVA created for va, if any. It reads past
// the cache only while one may exist (after a restart once).
func (r *VariantAutoscalingReconciler) deleteOwnedScaledObject(ctx context.Context, va *wvav1alpha1.VariantAutoscaling) error {
	key := client.ObjectKeyFromObject(va)
	if s, ok := r.scalers.get(key); ok && s.noScaledObject {
		return nil
	}
	so := newScaledObject()
	err := r.client.Get(ctx, key, so)
	switch {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		r.scalers.update(key, func(s *scalerState) { s.noScaledObject = true })
		return nil
	case err != nil:
		return fmt.Errorf("reading ScaledObject %s: %w", key, err)
	case !metav1.IsControlledBy(so, va):
		r.scalers.update(key, func(s *scalerState) { s.noScaledObject = true })
		return nil
	}
	uid := so.GetUID()
	if err := r.client.Delete(ctx, so, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting ScaledObject %s: %w", key, err)
	}
	r.scalers.update(key, func(s *scalerState) { s.noScaledObject = true })
	log.FromContext(ctx).V(1).Info("Deleted ScaledObject", "variantAutoscaling", klog.KObj(va), "scaledObject", key)
	return nil
}
