package actuator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
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

// Actuator publishes decisions as the wva_* gauges and, in Direct mode, writes them to the
// scale target's scale subresource. It is safe for concurrent use.
type Actuator struct {
	metrics *metrics
	scales  client.SubResourceClientConstructor

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
}

// New returns an Actuator whose metrics are registered on reg (cmd/manager passes
// controller-runtime's metrics.Registry). scales reads and writes the scale subresource in
// Direct mode; a client.Client will do. With a nil scales, Direct-mode decisions fail with
// ErrNoScaleClient and only the gauges are published.
func New(reg prometheus.Registerer, scales client.SubResourceClientConstructor) (*Actuator, error) {
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Actuator{
		metrics: m,
		scales:  scales,
		records: map[types.NamespacedName]*record{},
		owners:  map[target]types.NamespacedName{},
	}, nil
}

// Actuate publishes d for va: wva_desired_replicas = d.TargetReplicas, wva_current_replicas =
// d.CurrentReplicas and their ratio, labelled with va's scale target, namespace and d's
// accelerator (va's when d names none). Series published earlier for va under other labels
// are deleted first. In Direct mode it then sets the scale target's replicas to
// d.TargetReplicas, clamped to va's bounds and never below 1, when they differ.
func (a *Actuator) Actuate(ctx context.Context, va *wvav1alpha1.VariantAutoscaling, d interfaces.VariantDecision) error {
	key := client.ObjectKeyFromObject(va)
	if d.TargetReplicas < 0 || d.CurrentReplicas < 0 {
		return fmt.Errorf("actuating decision for %s: negative replicas (current %d, target %d)",
			key, d.CurrentReplicas, d.TargetReplicas)
	}
	acc := d.AcceleratorName
	if acc == "" {
		acc = va.AcceleratorName()
	}
	s := series{variant: va.Spec.ScaleTargetRef.Name, namespace: va.Namespace, accelerator: acc}
	if err := a.publish(key, s, d.CurrentReplicas, d.TargetReplicas); err != nil {
		return err
	}
	log.FromContext(ctx).V(4).Info("Published decision", "variantAutoscaling", klog.KObj(va),
		"deployment", klog.KRef(s.namespace, s.variant), "accelerator", acc,
		"current", d.CurrentReplicas, "desired", d.TargetReplicas)

	if va.ActuationMode() != wvav1alpha1.ActuationDirect {
		return nil
	}
	if err := a.scale(ctx, va, DirectReplicas(va, d.TargetReplicas)); err != nil {
		a.metrics.failed(s.target(), OperationScale)
		return err
	}
	return nil
}

// publish sets the gauges of s for the VariantAutoscaling key, after deleting the series key
// published under other labels.
func (a *Actuator) publish(key types.NamespacedName, s series, current, desired int) error {
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
		return fmt.Errorf("publishing metrics of %s for Deployment %s: %w (%s)", key, t, ErrTargetClaimed, owner)
	}
	a.owners[t] = key
	if rec.hasLast {
		a.metrics.scaled(t, rec.lastDesired, desired)
	}
	a.metrics.set(s, current, desired)
	rec.published, rec.lastDesired, rec.hasLast = true, desired, true
	return nil
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
		rec.hasLast = false
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
// they already are want. It retries on conflicts.
func (a *Actuator) scale(ctx context.Context, va *wvav1alpha1.VariantAutoscaling, want int32) error {
	key := types.NamespacedName{Namespace: va.Namespace, Name: va.Spec.ScaleTargetRef.Name}
	if a.scales == nil {
		return fmt.Errorf("scaling Deployment %s to %d replicas: %w", key, want, ErrNoScaleClient)
	}
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	var from int32
	updated := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sc := &autoscalingv1.Scale{}
		if err := a.scales.SubResource("scale").Get(ctx, deploy, sc); err != nil {
			return fmt.Errorf("getting scale of Deployment %s: %w", key, err)
		}
		if sc.Spec.Replicas == want {
			updated = false
			return nil
		}
		from = sc.Spec.Replicas
		sc.Spec.Replicas = want
		if err := a.scales.SubResource("scale").Update(ctx, deploy, client.WithSubResourceBody(sc)); err != nil {
			return fmt.Errorf("updating scale of Deployment %s from %d to %d replicas: %w", key, from, want, err)
		}
		updated = true
		return nil
	})
	if err != nil {
		return err
	}
	if updated {
		log.FromContext(ctx).V(1).Info("Scaled Deployment", "variantAutoscaling", klog.KObj(va),
			"deployment", klog.KRef(key.Namespace, key.Name), "from", from, "to", want)
	}
	return nil
}
