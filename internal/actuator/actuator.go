package actuator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// ErrTargetClaimed is returned by Actuate when another VariantAutoscaling already publishes
// the series of the same Deployment. Publishing both would give the HPA two matching series,
// which it sums.
var ErrTargetClaimed = errors.New("the Deployment's metrics are already published by another VariantAutoscaling")

// ErrNoScaleClient is returned by Actuate for a Direct-mode VariantAutoscaling when the
// Actuator was built without a client for the scale subresource.
var ErrNoScaleClient = errors.New("no client for the scale subresource was configured")

// FieldManager is the field manager of WVA's writes of spec.replicas (through the scale
// subresource). Another manager owning spec.replicas in a Deployment's managedFields is how a
// foreign writer is recognised.
const FieldManager = "workload-variant-autoscaler"

// DirectClient is what Direct mode needs of the API server: reading Deployments and listing
// HorizontalPodAutoscalers, and writing the scale subresource. Its reads should not come from
// an informer cache: a Deployment read from a cache that has not yet seen WVA's own last write
// would look like someone else's write (cmd/manager passes the manager's API reader).
type DirectClient interface {
	client.Reader
	client.SubResourceClientConstructor
}

// Actuator publishes decisions as the wva_* gauges and, in Direct mode, writes them to the
// scale target's scale subresource. It is safe for concurrent use.
type Actuator struct {
	metrics *metrics
	direct  DirectClient
	// cache, when set, is read first in Direct mode: a Deployment whose cached replicas
	// already equal the decision is neither read from the API server nor written.
	cache client.Reader

	clock clock.PassiveClock

	mu sync.Mutex
	// records holds, per VariantAutoscaling Actuate has seen, what was published for it.
	records map[types.NamespacedName]*record
	// owners maps each scale target to the VariantAutoscaling whose gauges name it.
	owners map[target]types.NamespacedName
}

// record is what the Actuator published for one VariantAutoscaling.
type record struct {
	series series
	// published is true while the gauges of series are set; the VariantAutoscaling then owns
	// series.target().
	published bool
	// lastDesired is the desired value published last for series.target(), valid when
	// hasLast; the scaling counter compares against it.
	lastDesired int
	hasLast     bool
	// written is the replica count Direct mode last wrote to series.target(), valid when
	// hasWritten.
	written    int32
	hasWritten bool
}

// New returns an Actuator whose metrics are registered on reg (cmd/manager passes
// controller-runtime's metrics.Registry). direct reads the scale target and its
// HorizontalPodAutoscalers and writes the scale subresource in Direct mode. With a nil direct,
// Direct-mode decisions fail with ErrNoScaleClient and only the gauges are published.
func New(reg prometheus.Registerer, direct DirectClient, opts ...Option) (*Actuator, error) {
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	a := &Actuator{
		metrics: m,
		direct:  direct,
		clock:   clock.RealClock{},
		records: map[types.NamespacedName]*record{},
		owners:  map[target]types.NamespacedName{},
	}
	for _, o := range opts {
		o(a)
	}
	return a, nil
}

// Option configures optional dependencies of the Actuator.
type Option func(*Actuator)

// WithCache makes Direct mode read the scale target from c (an informer-backed reader, such
// as the manager's client) before anything else. When the cached replicas already equal the
// decision and no HorizontalPodAutoscaler targets the Deployment, nothing is read from the
// API server and nothing is written. The HorizontalPodAutoscalers are always listed from c. Otherwise the Deployment is read again through the
// DirectClient before writing, so that a cache lagging behind WVA's own last write is not
// taken for a foreign writer. A stale cache that hides a foreign write costs at most the
// delay until the watch delivers it: the controller reconciles on every replica change.
func WithCache(c client.Reader) Option {
	return func(a *Actuator) { a.cache = c }
}

// WithClock sets the clock the decision age (DecisionAgeMetric) is measured with (default the
// real clock). A nil c is ignored.
func WithClock(c clock.PassiveClock) Option {
	return func(a *Actuator) {
		if c != nil {
			a.clock = c
		}
	}
}

// Actuate publishes d for va: wva_desired_replicas = d.TargetReplicas, wva_current_replicas =
// d.CurrentReplicas and their ratio, labelled with va's scale target, namespace and d's
// accelerator (va's when d names none). Series published earlier for va under other labels
// are deleted first. In Direct mode it then sets the scale target's replicas to
// d.TargetReplicas, clamped to va's bounds and never below 1, when they differ, and reports
// any other writer of those replicas it found:
//   - a HorizontalPodAutoscaler targeting the Deployment wins: the replicas are not written;
//   - another field manager that changed spec.replicas since WVA's last write, to a value
//     other than the decision, loses: the decision is written again.
func (a *Actuator) Actuate(ctx context.Context, va *wvav1alpha1.VariantAutoscaling, d interfaces.VariantDecision) (*interfaces.ScaleConflict, error) {
	key := client.ObjectKeyFromObject(va)
	if d.TargetReplicas < 0 || d.CurrentReplicas < 0 {
		return nil, fmt.Errorf("actuating decision for %s: negative replicas (current %d, target %d)",
			key, d.CurrentReplicas, d.TargetReplicas)
	}
	acc := d.AcceleratorName
	if acc == "" {
		acc = va.AcceleratorName()
	}
	s := series{variant: va.Spec.ScaleTargetRef.Name, namespace: va.Namespace, accelerator: acc}
	changed, err := a.publish(key, s, d.CurrentReplicas, d.TargetReplicas)
	if err != nil {
		return nil, err
	}
	if changed {
		a.metrics.observeAge(OperationPublish, d.LastRunTime, a.clock.Now())
	}
	log.FromContext(ctx).V(4).Info("Published decision", "variantAutoscaling", klog.KObj(va),
		"deployment", klog.KRef(s.namespace, s.variant), "accelerator", acc,
		"current", d.CurrentReplicas, "desired", d.TargetReplicas)

	if va.ActuationMode() != wvav1alpha1.ActuationDirect {
		a.setWritten(key, 0, false)
		return nil, nil
	}
	conflict, err := a.scale(ctx, va, DirectReplicas(va, d.TargetReplicas), d.LastRunTime)
	if err != nil {
		a.metrics.failed(s.target(), OperationScale)
		return nil, err
	}
	return conflict, nil
}

// publish sets the gauges of s for the VariantAutoscaling key, after deleting the series key
// published under other labels. It reports whether the desired value published for the
// target changed (the first publication counts as a change).
func (a *Actuator) publish(key types.NamespacedName, s series, current, desired int) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()

	rec := a.records[key]
	if rec == nil {
		rec = &record{series: s}
		a.records[key] = rec
	}
	if rec.series != s {
		a.relabel(key, rec, s)
	}

	t := s.target()
	if owner, ok := a.owners[t]; ok && owner != key {
		a.metrics.failed(t, OperationPublish)
		return false, fmt.Errorf("publishing metrics of %s for Deployment %s: %w (%s)", key, t, ErrTargetClaimed, owner)
	}
	a.owners[t] = key
	changed := !rec.hasLast || rec.lastDesired != desired
	if rec.hasLast {
		a.metrics.scaled(t, rec.lastDesired, desired)
	}
	a.metrics.set(s, current, desired)
	rec.published, rec.lastDesired, rec.hasLast = true, desired, true
	return changed, nil
}

// relabel moves rec to the label set s: it deletes the gauges rec published and releases its
// target. When the target changed, the new target starts without a previous desired value and
// the old target's counters are deleted unless another VariantAutoscaling names it; when only
// the accelerator changed, the counter continues. The caller holds a.mu.
func (a *Actuator) relabel(key types.NamespacedName, rec *record, s series) {
	old := rec.series
	a.unpublish(key, rec)
	rec.series = s
	if old.target() != s.target() {
		rec.hasLast, rec.hasWritten = false, false
		a.dropCountersIfUnused(old.target())
	}
}

// unpublish deletes the gauges rec published and releases its target. The caller holds a.mu.
func (a *Actuator) unpublish(key types.NamespacedName, rec *record) {
	if !rec.published {
		return
	}
	a.metrics.deleteGauges(rec.series)
	if a.owners[rec.series.target()] == key {
		delete(a.owners, rec.series.target())
	}
	rec.published = false
}

// dropCountersIfUnused deletes t's counters unless some VariantAutoscaling still names t.
// The caller holds a.mu.
func (a *Actuator) dropCountersIfUnused(t target) {
	for _, r := range a.records {
		if r.series.target() == t {
			return
		}
	}
	a.metrics.deleteCounters(t)
}

// Forget deletes every series published for the VariantAutoscaling key: its three gauges and,
// unless another VariantAutoscaling names the same Deployment, the Deployment's counters. The
// controller calls it when the VariantAutoscaling is deleted.
func (a *Actuator) Forget(key types.NamespacedName) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rec := a.records[key]
	if rec == nil {
		return
	}
	a.unpublish(key, rec)
	delete(a.records, key)
	a.dropCountersIfUnused(rec.series.target())
}

// DirectReplicas is the replica count Direct mode writes for a decision of target replicas:
// target clamped to va's spec.minReplicas (1 when unset; 0 only when the VA allows it) and
// spec.maxReplicas.
func DirectReplicas(va *wvav1alpha1.VariantAutoscaling, target int) int32 {
	n, lo := target, 1
	if va.Spec.MinReplicas != nil {
		lo = int(*va.Spec.MinReplicas)
	}
	n = max(n, lo)
	if hi := va.Spec.MaxReplicas; hi != nil && n > int(*hi) {
		n = int(*hi)
	}
	return int32(max(0, min(n, math.MaxInt32)))
}

// scale sets the replicas of va's scale target to want through the scale subresource, unless
// they already are want or a HorizontalPodAutoscaler targets the Deployment. It reports
// another writer of the replicas, and retries on conflicts.
// decidedAt is when the decision was computed, for DecisionAgeMetric.
func (a *Actuator) scale(ctx context.Context, va *wvav1alpha1.VariantAutoscaling, want int32, decidedAt time.Time) (*interfaces.ScaleConflict, error) {
	key := types.NamespacedName{Namespace: va.Namespace, Name: va.Spec.ScaleTargetRef.Name}
	vaKey := client.ObjectKeyFromObject(va)
	if a.direct == nil {
		return nil, fmt.Errorf("scaling Deployment %s to %d replicas: %w", key, want, ErrNoScaleClient)
	}
	hpa, err := a.hpaFor(ctx, key)
	if err != nil {
		return nil, err
	}
	if a.cache != nil && hpa == "" {
		cached := &appsv1.Deployment{}
		if err := a.cache.Get(ctx, key, cached); err == nil && cached.DeletionTimestamp.IsZero() && replicasOf(cached) == want {
			a.setWritten(vaKey, want, true)
			log.FromContext(ctx).V(4).Info("Deployment already at the desired replicas", "variantAutoscaling", klog.KObj(va),
				"deployment", klog.KRef(key.Namespace, key.Name), "replicas", want)
			return nil, nil
		}
	}
	written, hasWritten := a.lastWritten(vaKey)
	var conflict *interfaces.ScaleConflict
	var from int32
	updated := false
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		deploy := &appsv1.Deployment{}
		if err := a.direct.Get(ctx, key, deploy); err != nil {
			return fmt.Errorf("getting Deployment %s: %w", key, err)
		}
		from = replicasOf(deploy)
		conflict = nil
		if hpa != "" {
			conflict = &interfaces.ScaleConflict{Kind: interfaces.ScaleConflictHPA, Writer: hpa, Replicas: from}
			return nil
		}
		if from == want {
			updated = false
			return nil
		}
		// Someone else changed the replicas since WVA wrote them, and WVA is about to undo it.
		if owner := replicasOwner(deploy); hasWritten && from != written && owner != "" && owner != FieldManager {
			conflict = &interfaces.ScaleConflict{Kind: interfaces.ScaleConflictForeignWrite, Writer: owner, Replicas: from, Written: written}
		}
		sc := &autoscalingv1.Scale{
			ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, ResourceVersion: deploy.ResourceVersion},
			Spec:       autoscalingv1.ScaleSpec{Replicas: want},
		}
		if err := a.direct.SubResource("scale").Update(ctx, deploy, client.WithSubResourceBody(sc), client.FieldOwner(FieldManager)); err != nil {
			return fmt.Errorf("updating scale of Deployment %s from %d to %d replicas: %w", key, from, want, err)
		}
		updated = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	logger := log.FromContext(ctx)
	switch {
	case conflict != nil && conflict.Kind == interfaces.ScaleConflictHPA:
		// WVA gave the replicas up: a later write of WVA's starts from scratch.
		a.setWritten(vaKey, 0, false)
		logger.V(2).Info("HorizontalPodAutoscaler targets the Deployment; not scaling it", "variantAutoscaling", klog.KObj(va),
			"deployment", klog.KRef(key.Namespace, key.Name), "hpa", klog.KRef(key.Namespace, conflict.Writer))
		return conflict, nil
	case conflict != nil:
		logger.V(1).Info("Another field manager set the replicas; setting them back", "variantAutoscaling", klog.KObj(va),
			"deployment", klog.KRef(key.Namespace, key.Name), "fieldManager", conflict.Writer, "found", from, "written", written)
	}
	a.setWritten(vaKey, want, true)
	if updated {
		a.metrics.observeAge(OperationScale, decidedAt, a.clock.Now())
		logger.V(1).Info("Scaled Deployment", "variantAutoscaling", klog.KObj(va),
			"deployment", klog.KRef(key.Namespace, key.Name), "from", from, "to", want)
	}
	return conflict, nil
}

// hpaFor returns the name of a HorizontalPodAutoscaler that targets the Deployment key, or ""
// when none does. KEDA's ScaledObjects count: KEDA scales through an HPA of its own.
// With a cache (WithCache) the HorizontalPodAutoscalers are listed from it, without a deep
// copy: not one API list per VariantAutoscaling per cycle. An HPA created a moment ago that
// the watch has not delivered yet costs at most one more write of WVA's; the next reconcile
// sees it.
func (a *Actuator) hpaFor(ctx context.Context, key types.NamespacedName) (string, error) {
	var hpas autoscalingv2.HorizontalPodAutoscalerList
	var err error
	if a.cache != nil {
		err = a.cache.List(ctx, &hpas, client.InNamespace(key.Namespace), client.UnsafeDisableDeepCopy)
	} else {
		err = a.direct.List(ctx, &hpas, client.InNamespace(key.Namespace))
	}
	if err != nil {
		return "", fmt.Errorf("listing HorizontalPodAutoscalers in %s for Deployment %s: %w", key.Namespace, key, err)
	}
	var names []string
	for _, h := range hpas.Items {
		ref := h.Spec.ScaleTargetRef
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err != nil || ref.Kind != "Deployment" || ref.Name != key.Name || (gv.Group != "" && gv.Group != appsv1.GroupName) {
			continue
		}
		names = append(names, h.Name)
	}
	if len(names) == 0 {
		return "", nil
	}
	slices.Sort(names) // the same name every cycle
	return names[0], nil
}

// replicasOwner returns the field manager that owns spec.replicas of deploy, other than WVA's
// when another shares it, or "" when managedFields name none.
func replicasOwner(deploy *appsv1.Deployment) string {
	owner := ""
	for _, mf := range deploy.ManagedFields {
		if mf.FieldsV1 == nil {
			continue
		}
		var fields struct {
			Spec map[string]json.RawMessage `json:"f:spec"`
		}
		if err := json.Unmarshal(mf.FieldsV1.Raw, &fields); err != nil {
			continue
		}
		if _, ok := fields.Spec["f:replicas"]; !ok {
			continue
		}
		if mf.Manager != FieldManager {
			return mf.Manager
		}
		owner = mf.Manager
	}
	return owner
}

func replicasOf(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1 // the API server's default
	}
	return *d.Spec.Replicas
}

// lastWritten returns what Direct mode last wrote for the VariantAutoscaling key.
func (a *Actuator) lastWritten(key types.NamespacedName) (int32, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if rec := a.records[key]; rec != nil {
		return rec.written, rec.hasWritten
	}
	return 0, false
}

// setWritten records what Direct mode wrote for the VariantAutoscaling key (ok false: WVA
// does not own the replicas, as in Metrics mode or while an HPA targets the Deployment).
// Reconciles of one key never run concurrently, so this cannot race with a relabel of key.
func (a *Actuator) setWritten(key types.NamespacedName, n int32, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if rec := a.records[key]; rec != nil {
		rec.written, rec.hasWritten = n, ok
	}
}

// WakeFromZero sets the replicas of the Deployment key to replicas through the scale
// subresource when, read from the API server, they are 0, and reports whether it wrote. It
// never lowers replicas nor overrides a count someone else set, and it writes in both actuation
// modes and whatever HorizontalPodAutoscaler targets the Deployment: a model at zero with a
// request waiting must not wait for an HPA's or KEDA's next look at their metrics.
func (a *Actuator) WakeFromZero(ctx context.Context, key types.NamespacedName, replicas int32) (bool, error) {
	if a.direct == nil {
		return false, fmt.Errorf("scaling Deployment %s from zero: %w", key, ErrNoScaleClient)
	}
	wrote := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		deploy := &appsv1.Deployment{}
		if err := a.direct.Get(ctx, key, deploy); err != nil {
			return fmt.Errorf("getting Deployment %s: %w", key, err)
		}
		if replicasOf(deploy) != 0 || !deploy.DeletionTimestamp.IsZero() {
			wrote = false
			return nil
		}
		sc := &autoscalingv1.Scale{
			ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, ResourceVersion: deploy.ResourceVersion},
			Spec:       autoscalingv1.ScaleSpec{Replicas: replicas},
		}
		if err := a.direct.SubResource("scale").Update(ctx, deploy, client.WithSubResourceBody(sc), client.FieldOwner(FieldManager)); err != nil {
			return fmt.Errorf("updating scale of Deployment %s from 0 to %d replicas: %w", key, replicas, err)
		}
		wrote = true
		return nil
	})
	if err != nil {
		a.metrics.failed(target{namespace: key.Namespace, name: key.Name}, OperationScale)
		return false, err
	}
	if wrote {
		log.FromContext(ctx).V(1).Info("Scaled Deployment from zero", "deployment", klog.KRef(key.Namespace, key.Name), "to", replicas)
	}
	return wrote, nil
}
