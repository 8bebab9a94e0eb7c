package policy

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/saturation"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/inventory"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
)

// gpuInventory is the simulated cluster's GPU inventory as the engine reads it: a fixed number
// of GPUs per accelerator type, none held by pods WVA does not manage, and each Deployment's
// replica needing its profile's GPUs (what inventory.Reader reads from Nodes and pod templates
// in a real cluster).
type gpuInventory struct {
	snap inventory.Snapshot
	reqs map[types.NamespacedName]inventory.Requirement
}

var _ saturation.GPUInventory = (*gpuInventory)(nil)

// newGPUInventory returns the inventory of gpus (per profile name) for variants.
func newGPUInventory(gpus map[string]int, variants []sim.VariantSpec) *gpuInventory {
	inv := &gpuInventory{snap: inventory.Snapshot{Accelerators: map[string]inventory.Count{}},
		reqs: map[types.NamespacedName]inventory.Requirement{}}
	for acc, n := range gpus {
		inv.snap.Accelerators[acc] = inventory.Count{Allocatable: n, Nodes: 1}
	}
	for _, v := range variants {
		inv.reqs[v.Key()] = inventory.Requirement{Resource: inventory.GPUResource("nvidia.com"), GPUs: max(v.Profile.GPUsPerReplica, 1)}
	}
	return inv
}

// Read implements saturation.GPUInventory; the simulated cluster has one pool per accelerator,
// so the selector is ignored.
func (g *gpuInventory) Read(_ context.Context, _ labels.Selector, targets []types.NamespacedName) (inventory.Snapshot, map[types.NamespacedName]inventory.Requirement, error) {
	out := make(map[types.NamespacedName]inventory.Requirement, len(targets))
	for _, t := range targets {
		if r, ok := g.reqs[t]; ok {
			out[t] = r
		}
	}
	return inventory.Snapshot{Accelerators: maps.Clone(g.snap.Accelerators)}, out, nil
}

// serviceClasses returns one service class per priority of priorities (model -> priority),
// listing its models with the targets of slo.
func serviceClasses(priorities map[string]int, slo interfaces.SLOTargets) map[string]interfaces.ServiceClass {
	out := map[string]interfaces.ServiceClass{}
	for _, model := range slices.Sorted(maps.Keys(priorities)) {
		p := priorities[model]
		key := fmt.Sprintf("priority-%d", p)
		c := out[key]
		c.Name, c.Priority = key, p
		c.Data = append(c.Data, interfaces.ServiceClassModel{Model: model, TTFTMs: int(slo.TTFT.Milliseconds()),
			TPOTMs: int(slo.ITL.Milliseconds()), Attainment: slo.Attainment})
		out[key] = c
	}
	for k, c := range out {
		slices.SortFunc(c.Data, func(a, b interfaces.ServiceClassModel) int { return cmp.Compare(a.Model, b.Model) })
		out[k] = c
	}
	return out
}
