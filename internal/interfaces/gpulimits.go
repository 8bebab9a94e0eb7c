package interfaces

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strings"
)

// GPULimits is the configuration of the GPU limiter, from the main ConfigMap.
type GPULimits struct {
	// Enabled turns the limiter on (WVA_LIMITED_MODE). Off, decisions assume unlimited GPUs and
	// no Node or Pod is watched.
	Enabled bool
	// NodeSelector restricts the inventory to the Nodes it matches, in the label-selector
	// syntax (WVA_NODE_SELECTOR); empty: every Node.
	NodeSelector string
	// Quotas caps the GPUs of accelerator types, cluster-wide or per namespace (WVA_GPU_QUOTAS).
	Quotas []GPUQuota
}

// GPUQuota caps the GPUs that WVA-managed variants of one accelerator type may hold. The JSON
// keys are the YAML keys of WVA_GPU_QUOTAS.
type GPUQuota struct {
	// Accelerator is the accelerator type, as VariantAutoscalings name it (case-insensitive).
	Accelerator string `json:"accelerator"`
	// Namespace restricts the quota to the variants of one namespace; empty: cluster-wide.
	Namespace string `json:"namespace,omitempty"`
	// GPUs is the cap.
	GPUs int `json:"gpus"`
}

// UnclassifiedPriority is the priority of a model that no service class lists: after every
// class.
const UnclassifiedPriority = math.MaxInt32

// PriorityForModel returns the priority the service classes give modelID in namespace (a lower
// number is more important), chosen like SLOForModel: the namespaced entry first, then the
// most important class. UnclassifiedPriority when no class lists the model.
func PriorityForModel(classes map[string]ServiceClass, modelID, namespace string) int {
	best, bestNs, found := UnclassifiedPriority, false, false
	for _, key := range slices.Sorted(maps.Keys(classes)) {
		c := classes[key]
		for _, m := range c.Data {
			if m.Model != modelID || (m.Namespace != "" && m.Namespace != namespace) {
				continue
			}
			ns := m.Namespace != ""
			if !found || better(ns, bestNs, cmp.Compare(c.Priority, best)) {
				best, bestNs, found = c.Priority, ns, true
			}
		}
	}
	return best
}

// QuotaFor returns the quotas that apply to a variant of accelerator acc in namespace: the
// cluster-wide one and the namespace's, each when set.
func (l GPULimits) QuotaFor(acc, namespace string) []GPUQuota {
	var out []GPUQuota
	for _, q := range l.Quotas {
		if strings.EqualFold(q.Accelerator, acc) && (q.Namespace == "" || q.Namespace == namespace) {
			out = append(out, q)
		}
	}
	return out
}
