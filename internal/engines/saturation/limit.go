package saturation

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/log"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/limiter"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/inventory"
)

// GPUInventory reads the GPUs the cluster offers and what one replica of each scale target
// needs; *inventory.Reader implements it.
type GPUInventory interface {
	Read(ctx context.Context, selector labels.Selector, targets []types.NamespacedName) (inventory.Snapshot, map[types.NamespacedName]inventory.Requirement, error)
}

// WithGPUInventory lets the engine limit its decisions to the GPUs inv reports, when the
// configuration turns the limiter on (WVA_LIMITED_MODE). Without it decisions assume
// unlimited GPUs.
func WithGPUInventory(inv GPUInventory) Option { return func(e *Engine) { e.gpus = inv } }

// limitGPUs shares the GPUs among all decisions of the cycle (see package limiter): priority
// from the service classes, pools from the inventory of each variant's accelerator and the
// configured quotas. A decision held for lack of metrics keeps its target and only takes its
// GPUs from the pools. When the inventory cannot be read, no decision scales up.
func (e *Engine) limitGPUs(ctx context.Context, decisions []interfaces.VariantDecision, vas []wvav1alpha1.VariantAutoscaling) []interfaces.VariantDecision {
	limits := e.config.GetGPULimits()
	if e.gpus == nil || !limits.Enabled || len(decisions) == 0 {
		return decisions
	}
	logger := log.FromContext(ctx)
	byKey := make(map[types.NamespacedName]*wvav1alpha1.VariantAutoscaling, len(vas))
	targets := make([]types.NamespacedName, 0, len(decisions))
	for i := range vas {
		byKey[types.NamespacedName{Namespace: vas[i].Namespace, Name: vas[i].Name}] = &vas[i]
	}
	deployOf := func(d interfaces.VariantDecision) types.NamespacedName {
		va := byKey[types.NamespacedName{Namespace: d.Namespace, Name: d.VariantName}]
		if va == nil {
			return types.NamespacedName{}
		}
		return types.NamespacedName{Namespace: d.Namespace, Name: va.Spec.ScaleTargetRef.Name}
	}
	for _, d := range decisions {
		targets = append(targets, deployOf(d))
	}
	sel, err := inventory.ParseSelector(limits.NodeSelector)
	var snap inventory.Snapshot
	var reqs map[types.NamespacedName]inventory.Requirement
	if err == nil {
		snap, reqs, err = e.gpus.Read(ctx, sel, targets)
	}
	if err != nil {
		e.metrics.collectionErrors.Inc()
		logger.Error(err, "Reading the GPU inventory failed; no variant scales up this cycle")
		for i := range decisions {
			d := &decisions[i]
			if d.TargetReplicas > d.CurrentReplicas && !d.SafetyOverride {
				d.TargetReplicas = max(d.CurrentReplicas, boundsOf(byKey[types.NamespacedName{Namespace: d.Namespace, Name: d.VariantName}], d.CurrentReplicas))
				d.Action = interfaces.ActionFor(d.CurrentReplicas, d.TargetReplicas)
				d.Reason += " Scale-up withheld: the GPU inventory could not be read."
			}
		}
		return decisions
	}

	classes := e.config.GetServiceClasses()
	pools := map[string]limiter.Pool{}
	demands := make([]limiter.Demand, len(decisions))
	for i, d := range decisions {
		va := byKey[types.NamespacedName{Namespace: d.Namespace, Name: d.VariantName}]
		req := reqs[deployOf(d)]
		lo, hi := d.TargetReplicas, d.TargetReplicas
		if va != nil && !d.SafetyOverride {
			vs := analysis.VariantState{CurrentReplicas: d.CurrentReplicas}
			if va.Spec.MinReplicas != nil {
				m := int(*va.Spec.MinReplicas)
				vs.MinReplicas = &m
			}
			if va.Spec.MaxReplicas != nil {
				vs.MaxReplicas = int(*va.Spec.MaxReplicas)
			}
			lo, hi = vs.Bounds()
		}
		dem := limiter.Demand{Variant: d.Namespace + "/" + d.VariantName,
			Priority: interfaces.PriorityForModel(classes, d.ModelID, d.Namespace), GPUsPerReplica: req.GPUs,
			Min: lo, Max: hi, Want: d.TargetReplicas}
		if req.GPUs > 0 {
			acc := d.AcceleratorName
			free, products, _ := snap.Free(acc)
			key := "inventory/" + strings.Join(products, ",")
			if len(products) == 0 {
				key = "inventory/none/" + strings.ToLower(acc)
				pools[key] = limiter.Pool{GPUs: 0, Description: fmt.Sprintf("the %s GPU inventory (no selected Node carries it)", acc)}
			} else {
				pools[key] = limiter.Pool{GPUs: free, Description: fmt.Sprintf("the %s GPU inventory", acc)}
			}
			dem.Pools = append(dem.Pools, key)
			for _, q := range limits.QuotaFor(acc, d.Namespace) {
				qk := "quota/" + strings.ToLower(q.Accelerator) + "/" + q.Namespace
				desc := fmt.Sprintf("the cluster-wide %s GPU quota", q.Accelerator)
				if q.Namespace != "" {
					desc = fmt.Sprintf("the %s GPU quota of namespace %s", q.Accelerator, q.Namespace)
				}
				pools[qk] = limiter.Pool{GPUs: q.GPUs, Description: desc}
				dem.Pools = append(dem.Pools, qk)
			}
		}
		demands[i] = dem
	}
	res := limiter.Allocate(demands, pools)
	for i := range decisions {
		d, a := &decisions[i], res.Allocations[i]
		if a.Replicas != d.TargetReplicas {
			d.Reason += fmt.Sprintf(" Limited to %d of %d replicas by %s.", a.Replicas, d.TargetReplicas, a.Limit)
			d.TargetReplicas = a.Replicas
			d.Action = interfaces.ActionFor(d.CurrentReplicas, d.TargetReplicas)
		}
		if a.Limited() {
			d.LimitedBy = a.Limit
		}
		if a.OverMinimum != "" {
			d.Reason += fmt.Sprintf(" minReplicas needs more GPUs than %s; replicas may stay Pending.", a.OverMinimum)
		}
	}
	logger.V(4).Info("GPU limiter", "steps", res.Steps, "remaining", res.Remaining)
	return decisions
}

// boundsOf returns va's lower replica bound (current replicas when va is unknown).
func boundsOf(va *wvav1alpha1.VariantAutoscaling, current int) int {
	if va == nil {
		return current
	}
	vs := analysis.VariantState{CurrentReplicas: current}
	if va.Spec.MinReplicas != nil {
		m := int(*va.Spec.MinReplicas)
		vs.MinReplicas = &m
	}
	lo, _ := vs.Bounds()
	return lo
}
