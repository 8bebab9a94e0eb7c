package analysis

import (
	"fmt"
	"math"
	"strings"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// DefaultMaxReplicas is the upper replica bound of a variant whose VariantAutoscaling sets no
// maxReplicas (or minReplicas, or the variant's current replicas, when that is higher: the
// default stops growth, it does not cut a fleet someone scaled by hand). Without it one absurd reading (a waiting
// queue of 1e18) could ask for billions of replicas in one cycle. 100 is the default
// maxReplicaCount of KEDA's ScaledObject; for GPU-served models it is a large fleet (100 or more
// accelerators for one variant), so a variant that really needs more states it in maxReplicas.
const DefaultMaxReplicas = 100

// Ranges of the inputs an analyzer accepts. A reading outside them is either ignored (NaN, ±Inf,
// negative: the pod counts as not reporting, as the collector does) or clamped (finite but
// larger than any real replica reports), so that every quantity derived from them stays finite.
const (
	// maxPodRequests bounds a pod's waiting and running requests: no vLLM replica holds a
	// million requests.
	maxPodRequests = 1e6
	// maxKvCacheTokens bounds the KV-cache capacity of one replica; capacities below one token
	// are unknown (0).
	maxKvCacheTokens = 1e12
	// maxCost bounds the cost of one replica.
	maxCost = 1e12
	// maxLatencyMs bounds the decode latency parameters, in milliseconds.
	maxLatencyMs = 1e9
)

// ClampCount converts x to an integer count within [lo, hi], clamping in float64 before the
// conversion so that no value overflows: NaN and anything at or below lo give lo, anything at or
// above hi gives hi (hi below lo is read as lo). Fractions are truncated: round x first
// (math.Ceil, math.Floor) to choose the direction.
func ClampCount(x float64, lo, hi int) int {
	hi = max(hi, lo)
	switch {
	case !(x > float64(lo)): // also NaN
		return lo
	case x >= float64(hi):
		return hi
	default:
		return int(x)
	}
}

// Bounds returns the replica bounds the analyzers apply to v: minReplicas (1 when unset) and
// maxReplicas, DefaultMaxReplicas when unset; hi is never below lo.
func (v VariantState) Bounds() (lo, hi int) {
	return v.minReplicas(), v.maxReplicas()
}

// maxReplicas returns the upper bound: MaxReplicas, or when unset DefaultMaxReplicas or the
// current replicas if more (the default bounds growth; it never removes replicas someone chose to
// run); never below minReplicas.
func (v VariantState) maxReplicas() int {
	hi := v.MaxReplicas
	if hi <= 0 {
		hi = max(DefaultMaxReplicas, min(v.CurrentReplicas, math.MaxInt32))
	}
	return max(hi, v.minReplicas())
}

// maxNote names the upper bound in reasons, saying when it is the default.
func (v VariantState) maxNote() string {
	if v.MaxReplicas <= 0 {
		return fmt.Sprintf("the default maxReplicas %d (spec.maxReplicas is unset)", v.maxReplicas())
	}
	return fmt.Sprintf("maxReplicas %d", v.maxReplicas())
}

// clampReplicas moves n into v's bounds and returns a note saying so ("" when n was inside).
func (v VariantState) clampReplicas(n int) (int, string) {
	lo, hi := v.Bounds()
	switch {
	case n > hi:
		return hi, fmt.Sprintf("lowered from %d to %s", n, v.maxNote())
	case n < lo:
		return lo, fmt.Sprintf("raised from %d to minReplicas %d", n, lo)
	default:
		return n, ""
	}
}

// usable reports whether x is a finite, non-negative reading.
func usable(x float64) bool {
	return !math.IsNaN(x) && !math.IsInf(x, 0) && x >= 0
}

// bounded returns x limited to [0, hi], with 0 for NaN, negative and -Inf values.
func bounded(x, hi float64) float64 {
	if !(x > 0) {
		return 0
	}
	return min(x, hi)
}

// sanitizeModel returns a copy of m whose numbers lie in the ranges the analyzers accept (m is
// not modified), and a sentence describing what it changed ("" when nothing). Pods with a NaN,
// infinite or negative reading are left out; readings above the bounds are clamped; replica
// counts are limited to [0, MaxInt32], the range of the API's fields.
func sanitizeModel(m ModelState) (ModelState, string) {
	out := m
	out.Variants = make([]VariantState, len(m.Variants))
	var dropped, clamped []string
	for i, v := range m.Variants {
		v.CurrentReplicas = min(max(v.CurrentReplicas, 0), math.MaxInt32)
		v.ReadyReplicas = min(max(v.ReadyReplicas, 0), math.MaxInt32)
		v.DesiredReplicas = min(max(v.DesiredReplicas, 0), math.MaxInt32)
		v.MaxReplicas = min(max(v.MaxReplicas, 0), math.MaxInt32)
		if v.MinReplicas != nil {
			lo := min(max(*v.MinReplicas, 0), math.MaxInt32)
			v.MinReplicas = &lo
		}
		v.Cost = bounded(v.Cost, maxCost)
		if !(v.KvCacheTokens >= 1) {
			v.KvCacheTokens = 0
		}
		v.KvCacheTokens = min(v.KvCacheTokens, maxKvCacheTokens)
		v.DecodeAlphaMs = bounded(v.DecodeAlphaMs, maxLatencyMs)
		v.DecodeBetaMs = bounded(v.DecodeBetaMs, maxLatencyMs)
		v.PrefillGammaMs = bounded(v.PrefillGammaMs, maxLatencyMs)
		v.PrefillDeltaMs = bounded(v.PrefillDeltaMs, maxLatencyMs)
		v.MaxBatch = min(max(v.MaxBatch, 0), maxPodRequests)

		changed := false
		for _, p := range v.Pods {
			if !podInRange(p) {
				changed = true
				break
			}
		}
		if changed {
			pods := make([]PodMetrics, 0, len(v.Pods))
			for _, p := range v.Pods {
				if !usable(p.KvCacheUsage) || !usable(p.QueueLength) || !usable(p.RunningRequests) {
					dropped = append(dropped, p.Name)
					continue
				}
				if p.QueueLength > maxPodRequests || p.RunningRequests > maxPodRequests {
					clamped = append(clamped, p.Name)
				}
				p.KvCacheUsage = min(p.KvCacheUsage, 1)
				p.QueueLength = min(p.QueueLength, maxPodRequests)
				p.RunningRequests = min(p.RunningRequests, maxPodRequests)
				pods = append(pods, p)
			}
			v.Pods = pods
		}
		out.Variants[i] = v
	}
	var notes []string
	if len(dropped) > 0 {
		notes = append(notes, fmt.Sprintf("readings of %s are not finite non-negative numbers and were ignored", strings.Join(dropped, ", ")))
	}
	if len(clamped) > 0 {
		notes = append(notes, fmt.Sprintf("request counts of %s above %s were read as %s", strings.Join(clamped, ", "),
			num(maxPodRequests), num(maxPodRequests)))
	}
	return out, strings.Join(notes, "; ")
}

// sanitizeStates is sanitizeModel for a bare list of variants.
func sanitizeStates(vs []VariantState) []VariantState {
	m, _ := sanitizeModel(ModelState{Variants: vs})
	return m.Variants
}

// podInRange reports whether every reading of p is already within the accepted ranges.
func podInRange(p PodMetrics) bool {
	return usable(p.KvCacheUsage) && usable(p.QueueLength) && usable(p.RunningRequests) &&
		p.KvCacheUsage <= 1 && p.QueueLength <= maxPodRequests && p.RunningRequests <= maxPodRequests
}

// keepCurrent returns targets that keep every variant of vs at its current replicas, moved into
// its bounds, each with reason why (plus the bound's note when it applied).
func keepCurrent(vs []VariantState, why func(v VariantState) string) []VariantTarget {
	out := make([]VariantTarget, 0, len(vs))
	for _, v := range sortedVariants(vs) {
		target, note := v.clampReplicas(v.CurrentReplicas)
		reason := why(v)
		if note != "" {
			reason += "; " + note
		}
		out = append(out, VariantTarget{
			Variant: v.Name, Accelerator: v.Accelerator, Current: v.CurrentReplicas, Desired: v.DesiredReplicas,
			Target: target, Action: interfaces.ActionFor(v.CurrentReplicas, target), Reason: reason,
		})
	}
	return out
}
