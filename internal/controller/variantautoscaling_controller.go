package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// ScaleTargetNameIndex indexes VariantAutoscalings by spec.scaleTargetRef.name, so that a
// Deployment event finds the VariantAutoscalings that point at it.
const ScaleTargetNameIndex = "spec.scaleTargetRef.name"

// Actuator applies a decision to the world: the wva_* gauges and, in Direct mode, the scale
// target's replicas. The controller calls it after writing the decision to status.
type Actuator interface {
	// Actuate applies d for va. In Direct mode it reports another writer of the scale
	// target's replicas, if it found one (nil otherwise).
	Actuate(ctx context.Context, va *wvav1alpha1.VariantAutoscaling, d interfaces.VariantDecision) (*interfaces.ScaleConflict, error)
	// Forget removes everything published for the VariantAutoscaling with the given key.
	Forget(key types.NamespacedName)
}

// VariantAutoscalingReconciler follows the common layer's Controller Pattern: it caches each
// VariantAutoscaling for the engines, reads the engines' decision and writes it, with the
// conditions, to status in one patch.
type VariantAutoscalingReconciler struct {
	client    client.Client
	recorder  events.EventRecorder
	decisions *common.InternalDecisionCache
	vas       *common.VACache
	trigger   <-chan event.GenericEvent
	actuator  Actuator
	clock     clock.PassiveClock
	conflicts keyed[lastConflict]
	// limits holds the GPU limit the last decision was held by ("" for none), so that a
	// reconcile reading a stale cached status does not repeat the Limited event.
	limits keyed[string]
	// failing holds the VariantAutoscalings whose last actuation failed: a retry may read a
	// cached status that has not seen applied=false yet, and must not repeat the event.
	failing keyed[struct{}]
	// scalers remembers the ScalerOwned state per VariantAutoscaling (scaler.go).
	scalers keyed[scalerState]
	// scalerPrometheus is the default Prometheus address of a ScaledObject's trigger.
	scalerPrometheus string
	// workers is the number of VariantAutoscalings reconciled in parallel (0: controller-runtime's default).
	workers int
	// awaitGrace is how long a VariantAutoscaling whose target resolved waits for the engine's
	// first decision before its status is written without one (0: written at once). awaiting
	// holds when each such VariantAutoscaling was first reconciled without a decision.
	awaitGrace time.Duration
	awaiting   keyed[time.Time]
}

// Option configures optional dependencies of the VariantAutoscalingReconciler.
type Option func(*VariantAutoscalingReconciler)

// WithActuator makes the reconciler apply each decision through a.
func WithActuator(a Actuator) Option {
	return func(r *VariantAutoscalingReconciler) { r.actuator = a }
}

// WithClock sets the clock used for condition transition times (default: the real clock).
func WithClock(c clock.PassiveClock) Option {
	return func(r *VariantAutoscalingReconciler) { r.clock = c }
}

// WithMaxConcurrentReconciles sets how many VariantAutoscalings are reconciled in parallel.
func WithMaxConcurrentReconciles(n int) Option {
	return func(r *VariantAutoscalingReconciler) { r.workers = n }
}

// WithAwaitingDecisionGrace defers the status write of a VariantAutoscaling that has no
// decision yet and whose target resolved, for at most grace after its first such reconcile:
// the engine's first decision usually arrives within that time and is then written in one
// status patch, instead of one patch saying AwaitingDecision and a second one with the
// decision moments later. A target that is missing or unreadable is written at once, and so is
// AwaitingDecision when grace passes without a decision. 0 (the default) writes at once.
func WithAwaitingDecisionGrace(grace time.Duration) Option {
	return func(r *VariantAutoscalingReconciler) { r.awaitGrace = grace }
}

// NewVariantAutoscalingReconciler returns a reconciler that reads decisions from decisions,
// caches VariantAutoscalings in vas and reconciles whenever trigger delivers an event.
func NewVariantAutoscalingReconciler(c client.Client, recorder events.EventRecorder, decisions *common.InternalDecisionCache,
	vas *common.VACache, trigger <-chan event.GenericEvent, opts ...Option) *VariantAutoscalingReconciler {
	r := &VariantAutoscalingReconciler{client: c, recorder: recorder, decisions: decisions, vas: vas, trigger: trigger, clock: clock.RealClock{}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// SetupWithManager registers the reconciler: it watches VariantAutoscalings (spec, label and
// deletion changes), the Deployments they target, every HorizontalPodAutoscaler that targets
// one of those Deployments (its appearance, removal or retargeting starts or ends an
// ActuationConflict in Direct mode), and the engines' decision trigger channel. The engines
// announce only decisions that changed, so nothing else would reconcile a VariantAutoscaling
// whose decision is steady when such an HPA is created.
func (r *VariantAutoscalingReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &wvav1alpha1.VariantAutoscaling{}, ScaleTargetNameIndex,
		func(o client.Object) []string {
			return []string{o.(*wvav1alpha1.VariantAutoscaling).Spec.ScaleTargetRef.Name}
		}); err != nil {
		return fmt.Errorf("indexing VariantAutoscalings by scale target: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("variantautoscaling").
		WithOptions(crcontroller.Options{MaxConcurrentReconciles: r.workers}).
		For(&wvav1alpha1.VariantAutoscaling{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{}))).
		// The HorizontalPodAutoscalers WVA creates for spec.scaler: a change or deletion by
		// someone else is undone at once. ScaledObjects are not watched (KEDA may be absent).
		Owns(&autoscalingv2.HorizontalPodAutoscaler{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&appsv1.Deployment{}, handler.EnqueueRequestsFromMapFunc(r.vasForDeployment),
			builder.WithPredicates(deploymentScaleChanged())).
		Watches(&autoscalingv2.HorizontalPodAutoscaler{}, handler.EnqueueRequestsFromMapFunc(r.vasForHPA),
			builder.WithPredicates(hpaTargetChanged())).
		WatchesRawSource(source.Channel(r.trigger, &handler.EnqueueRequestForObject{})).
		Complete(r)
}

func (r *VariantAutoscalingReconciler) vasForDeployment(ctx context.Context, o client.Object) []reconcile.Request {
	var list wvav1alpha1.VariantAutoscalingList
	if err := r.client.List(ctx, &list, client.InNamespace(o.GetNamespace()),
		client.MatchingFields{ScaleTargetNameIndex: o.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "Listing VariantAutoscalings for Deployment", "deployment", klog.KObj(o))
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs
}

// vasForHPA maps a HorizontalPodAutoscaler to the VariantAutoscalings whose scale target is the
// Deployment it targets (on an update controller-runtime maps the old object as well, so a
// retargeted HPA reaches both the old and the new target's VariantAutoscalings).
func (r *VariantAutoscalingReconciler) vasForHPA(ctx context.Context, o client.Object) []reconcile.Request {
	h, ok := o.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok {
		return nil
	}
	ref := h.Spec.ScaleTargetRef
	if gv, err := schema.ParseGroupVersion(ref.APIVersion); err != nil || ref.Kind != "Deployment" ||
		(gv.Group != "" && gv.Group != appsv1.GroupName) {
		return nil
	}
	target := &appsv1.Deployment{}
	target.Namespace, target.Name = h.Namespace, ref.Name
	return r.vasForDeployment(ctx, target)
}

// hpaTargetChanged passes HorizontalPodAutoscaler creates and deletes, and updates that change
// its scale target; not the status updates the HPA controller makes every sync period.
func hpaTargetChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, ok1 := e.ObjectOld.(*autoscalingv2.HorizontalPodAutoscaler)
			n, ok2 := e.ObjectNew.(*autoscalingv2.HorizontalPodAutoscaler)
			return ok1 && ok2 && o.Spec.ScaleTargetRef != n.Spec.ScaleTargetRef
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// deploymentScaleChanged passes Deployment creates and deletes, and updates that change the
// replica counts or start a deletion.
func deploymentScaleChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, ok1 := e.ObjectOld.(*appsv1.Deployment)
			n, ok2 := e.ObjectNew.(*appsv1.Deployment)
			if !ok1 || !ok2 {
				return false
			}
			return replicasOf(o) != replicasOf(n) || o.Status.Replicas != n.Status.Replicas ||
				o.Status.ReadyReplicas != n.Status.ReadyReplicas || o.DeletionTimestamp.IsZero() != n.DeletionTimestamp.IsZero()
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

func replicasOf(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// Reconcile brings the status of one VariantAutoscaling up to date with its scale target and
// the engines' latest decision.
func (r *VariantAutoscalingReconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	va := &wvav1alpha1.VariantAutoscaling{}
	if err := r.client.Get(ctx, req.NamespacedName, va); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(ctx, req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("getting VariantAutoscaling %s: %w", req.NamespacedName, err)
	}
	if !va.DeletionTimestamp.IsZero() {
		r.forget(ctx, req.NamespacedName)
		return ctrl.Result{}, nil
	}
	r.vas.Update(va)

	original := va.DeepCopy()
	var scalerErr error
	deferWrite := false
	defer func() {
		retErr = errors.Join(retErr, scalerErr)
		if deferWrite {
			r.vas.Update(va)
			return
		}
		r.setReady(va)
		if err := r.patchStatus(ctx, original, va); err != nil {
			retErr = errors.Join(retErr, err)
			return
		}
		r.vas.Update(va)
	}()

	deploy := r.resolveTarget(ctx, va)
	scalerErr = r.syncScaler(ctx, va, deploy != nil)
	if deploy == nil && r.actuator != nil {
		// Nothing to actuate: withdraw the published series rather than leave them stale.
		r.actuator.Forget(req.NamespacedName)
	}
	if deploy != nil {
		va.Status.CurrentAlloc = &wvav1alpha1.CurrentAlloc{
			Accelerator:   va.AcceleratorName(),
			Replicas:      replicasOf(deploy),
			ReadyReplicas: deploy.Status.ReadyReplicas,
		}
	}

	d, ok := r.decisions.Get(va.Name, va.Namespace)
	if c := meta.FindStatusCondition(original.Status.Conditions, wvav1alpha1.ConditionTargetResolved); !ok && deploy != nil &&
		r.awaitGrace > 0 && (c == nil || c.Status == metav1.ConditionTrue) {
		// The status says nothing wrong about the target (a status saying it is missing is
		// corrected at once), and the first decision is expected within the grace.
		if wait := awaitingLeft(&r.awaiting, req.NamespacedName, r.clock.Now(), r.awaitGrace); wait > 0 {
			deferWrite = true
			return ctrl.Result{RequeueAfter: wait}, nil
		}
	}
	if !ok {
		r.setCondition(va, wvav1alpha1.ConditionOptimizationReady, metav1.ConditionFalse, wvav1alpha1.ReasonAwaitingDecision,
			"No engine cycle has produced a decision for this variant yet.")
		if meta.FindStatusCondition(va.Status.Conditions, wvav1alpha1.ConditionMetricsAvailable) == nil {
			r.setCondition(va, wvav1alpha1.ConditionMetricsAvailable, metav1.ConditionUnknown, wvav1alpha1.ReasonAwaitingMetrics,
				"No engine cycle has read metrics for this variant yet.")
		}
		va.Status.ObservedGeneration = va.Generation
		return ctrl.Result{}, nil
	}

	r.applyDecision(va, original, d)
	va.Status.ObservedGeneration = va.Generation
	logDecision(ctx, va, original, d)
	if r.actuator != nil && deploy != nil {
		mode := va.ActuationMode()
		va.Status.Actuation = &wvav1alpha1.ActuationStatus{Mode: mode}
		conflict, err := r.actuator.Actuate(ctx, va, d)
		if err != nil {
			// Retried with backoff by returning the error (which controller-runtime logs); the
			// event marks the transition only, not every retry.
			key := client.ObjectKeyFromObject(va)
			if prev := original.Status.Actuation; prev == nil || prev.Applied {
				if _, failed := r.failing.set(key, struct{}{}); !failed {
					actuationFailedEvent(r.recorder, va, err)
				}
			}
			return ctrl.Result{}, fmt.Errorf("applying decision for %s (%s mode): %w", req.NamespacedName, mode, err)
		}
		r.failing.forget(client.ObjectKeyFromObject(va))
		va.Status.Actuation.Applied = conflict == nil || conflict.Kind != interfaces.ScaleConflictHPA
		r.recordScaleConflict(va, original, conflict)
	}
	return ctrl.Result{}, nil
}

// resolveTarget reads the scale target and records the TargetResolved condition. It returns
// nil when the target is missing, being deleted or unreadable.
func (r *VariantAutoscalingReconciler) resolveTarget(ctx context.Context, va *wvav1alpha1.VariantAutoscaling) *appsv1.Deployment {
	name := va.Spec.ScaleTargetRef.Name
	wasResolved := meta.IsStatusConditionTrue(va.Status.Conditions, wvav1alpha1.ConditionTargetResolved)
	wasUnresolved := meta.IsStatusConditionFalse(va.Status.Conditions, wvav1alpha1.ConditionTargetResolved)

	deploy := &appsv1.Deployment{}
	err := r.client.Get(ctx, types.NamespacedName{Namespace: va.Namespace, Name: name}, deploy)
	switch {
	case err == nil && deploy.DeletionTimestamp.IsZero():
		r.setCondition(va, wvav1alpha1.ConditionTargetResolved, metav1.ConditionTrue, wvav1alpha1.ReasonTargetFound,
			fmt.Sprintf("Deployment %s exists.", name))
		if wasUnresolved {
			targetFoundEvent(r.recorder, va, name)
		}
		return deploy
	case err == nil:
		r.setCondition(va, wvav1alpha1.ConditionTargetResolved, metav1.ConditionFalse, wvav1alpha1.ReasonTargetDeleting,
			fmt.Sprintf("Deployment %s is being deleted.", name))
		err = errors.New("it is being deleted")
	case apierrors.IsNotFound(err):
		r.setCondition(va, wvav1alpha1.ConditionTargetResolved, metav1.ConditionFalse, wvav1alpha1.ReasonTargetNotFound,
			fmt.Sprintf("Deployment %s does not exist in namespace %s.", name, va.Namespace))
		err = errors.New("it does not exist")
	default:
		r.setCondition(va, wvav1alpha1.ConditionTargetResolved, metav1.ConditionUnknown, wvav1alpha1.ReasonTargetNotFound,
			fmt.Sprintf("Reading Deployment %s failed: %v", name, err))
	}
	if wasResolved || !wasUnresolved {
		targetNotFoundEvent(r.recorder, va, name, err)
	}
	return nil
}

// logDecision logs the analyzer's detailed reason for d: at V(1) when the decision-level
// status (optimizedAlloc or the OptimizationReady condition) changed, at V(4) otherwise.
func logDecision(ctx context.Context, va, original *wvav1alpha1.VariantAutoscaling, d interfaces.VariantDecision) {
	v := 4
	before := meta.FindStatusCondition(original.Status.Conditions, wvav1alpha1.ConditionOptimizationReady)
	after := meta.FindStatusCondition(va.Status.Conditions, wvav1alpha1.ConditionOptimizationReady)
	if original.Status.OptimizedAlloc.Replicas != va.Status.OptimizedAlloc.Replicas || before == nil || after == nil ||
		before.Reason != after.Reason || before.Message != after.Message {
		v = 1
	}
	log.FromContext(ctx).V(v).Info("Decision", "variantAutoscaling", klog.KObj(va), "current", d.CurrentReplicas,
		"target", d.TargetReplicas, "accelerator", d.AcceleratorName, "reason", d.Reason)
}

// applyDecision copies d into status: optimizedAlloc and the MetricsAvailable and
// OptimizationReady conditions, recording events on transitions.
func (r *VariantAutoscalingReconciler) applyDecision(va, original *wvav1alpha1.VariantAutoscaling, d interfaces.VariantDecision) {
	replicas, accelerator, ts := common.DecisionToOptimizedAlloc(d)
	if !d.LastRunTime.IsZero() {
		ts = metav1.NewTime(d.LastRunTime)
	}
	prev := original.Status.OptimizedAlloc
	if prev.Replicas != replicas || prev.Accelerator != accelerator || prev.LastUpdateTime.IsZero() {
		va.Status.OptimizedAlloc = wvav1alpha1.OptimizedAlloc{Replicas: replicas, Accelerator: accelerator, LastUpdateTime: ts}
		if !prev.LastUpdateTime.IsZero() && prev.Replicas != replicas {
			desiredReplicasChangedEvent(r.recorder, va, prev.Replicas, replicas, d)
		}
	}

	metricsWereAvailable := !meta.IsStatusConditionFalse(original.Status.Conditions, wvav1alpha1.ConditionMetricsAvailable)
	metricsWereLost := meta.IsStatusConditionFalse(original.Status.Conditions, wvav1alpha1.ConditionMetricsAvailable)
	reason := d.MetricsReason
	if d.MetricsAvailable {
		if reason == "" {
			reason = wvav1alpha1.ReasonMetricsFound
		}
		r.setCondition(va, wvav1alpha1.ConditionMetricsAvailable, metav1.ConditionTrue, reason, messageOr(d.MetricsMessage, "Fresh metrics were read for the model."))
		r.setOptimized(va, original, d)
		if metricsWereLost {
			metricsAvailableEvent(r.recorder, va)
		}
		return
	}
	if reason == "" {
		reason = wvav1alpha1.ReasonMetricsMissing
	}
	msg := messageOr(d.MetricsMessage, "No metrics were read for the model.")
	r.setCondition(va, wvav1alpha1.ConditionMetricsAvailable, metav1.ConditionFalse, reason, msg)
	r.setCondition(va, wvav1alpha1.ConditionOptimizationReady, metav1.ConditionTrue, wvav1alpha1.ReasonDecisionHeld,
		fmt.Sprintf("Holding %d replicas: metrics are unavailable, so the previous decision stands (see MetricsAvailable).", d.TargetReplicas))
	if metricsWereAvailable {
		metricsUnavailableEvent(r.recorder, va, reason, msg)
	}
}

// decisionMessage is the OptimizationReady message of a computed decision. It names only
// decision-level facts (target, current replicas, accelerator, direction), so that it changes
// only when the decision does: the analyzer's reason embeds live load figures (KV usage,
// demand, arrival rate) that move every cycle, and copying it into status would patch every
// VariantAutoscaling every cycle. That reason is logged at V(1) when the decision changes and
// carried by the DesiredReplicasChanged event.
func decisionMessage(d interfaces.VariantDecision) string {
	action := d.Action
	if action == "" {
		action = interfaces.ActionFor(d.CurrentReplicas, d.TargetReplicas)
	}
	acc := d.AcceleratorName
	if acc == "" {
		acc = "its accelerator"
	}
	return fmt.Sprintf("Desired %d replicas on %s (current %d, %s).", d.TargetReplicas, acc, d.CurrentReplicas, action)
}

func messageOr(msg, fallback string) string {
	if msg == "" {
		return fallback
	}
	return msg
}

func (r *VariantAutoscalingReconciler) setCondition(va *wvav1alpha1.VariantAutoscaling, typ string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&va.Status.Conditions, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: message,
		ObservedGeneration: va.Generation, LastTransitionTime: metav1.NewTime(r.clock.Now()),
	})
}

// patchStatus sends the status difference between original and va as one merge patch; it
// sends nothing when the status did not change.
func (r *VariantAutoscalingReconciler) patchStatus(ctx context.Context, original, va *wvav1alpha1.VariantAutoscaling) error {
	patch := client.MergeFrom(original)
	data, err := patch.Data(va)
	if err != nil {
		return fmt.Errorf("computing status patch for %s: %w", klog.KObj(va), err)
	}
	if string(data) == "{}" {
		return nil
	}
	if err := r.client.Status().Patch(ctx, va, patch); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("patching status of %s: %w", klog.KObj(va), err)
	}
	log.FromContext(ctx).V(4).Info("Patched status", "variantAutoscaling", klog.KObj(va), "patch", string(data))
	return nil
}

// forget drops every trace of a VariantAutoscaling that no longer exists or is being deleted.
func (r *VariantAutoscalingReconciler) forget(ctx context.Context, key types.NamespacedName) {
	r.vas.Remove(key)
	r.decisions.Delete(key.Name, key.Namespace)
	r.conflicts.forget(key)
	r.limits.forget(key)
	r.failing.forget(key)
	r.scalers.forget(key)
	r.awaiting.forget(key)
	if r.actuator != nil {
		r.actuator.Forget(key)
	}
	log.FromContext(ctx).V(2).Info("Forgot VariantAutoscaling", "variantAutoscaling", key)
}
