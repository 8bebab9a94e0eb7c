package analysis

import (
	"fmt"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// kq is a (kvCacheUsage, queueLength) reading.
type kq [2]float64

// podsOf builds pods named prefix-1, prefix-2, ... from readings.
func podsOf(prefix string, readings ...kq) []PodMetrics {
	out := make([]PodMetrics, 0, len(readings))
	for i, r := range readings {
		out = append(out, PodMetrics{Name: fmt.Sprintf("%s-%d", prefix, i+1), KvCacheUsage: r[0], QueueLength: r[1]})
	}
	return out
}

// podsRun builds n pods with the same kv, queue and running readings.
func podsRun(prefix string, n int, kv, queue, running float64) []PodMetrics {
	out := make([]PodMetrics, 0, n)
	for i := range n {
		out = append(out, PodMetrics{Name: fmt.Sprintf("%s-%d", prefix, i+1), KvCacheUsage: kv, QueueLength: queue, RunningRequests: running})
	}
	return out
}

// model builds a ModelState for llama in ns.
func model(vs ...VariantState) ModelState {
	return ModelState{ModelID: "llama", Namespace: "ns", Variants: vs}
}

// targetsOf maps variant name to target replicas.
func targetsOf(ts []VariantTarget) map[string]int {
	out := make(map[string]int, len(ts))
	for _, t := range ts {
		out[t.Variant] = t.Target
	}
	return out
}

var defaultCfg = interfaces.DefaultSaturationScalingConfig()
