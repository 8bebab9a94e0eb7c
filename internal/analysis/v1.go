package analysis

import (
	"fmt"
	"strings"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// minNonSaturatedForScaleDown is the number of non-saturated replicas the v1 removal simulation
// needs before it can approve a scale-down.
const minNonSaturatedForScaleDown = 2

// VariantAnalysis is the v1 saturation summary of one variant's reporting replicas.
type VariantAnalysis struct {
	// Name is the variant name.
	Name string
	// Accelerator is the variant's accelerator type.
	Accelerator string
	// Cost is the cost of one replica of the variant.
	Cost float64
	// ReplicaCount is the number of replicas that reported metrics.
	ReplicaCount int
	// NonSaturatedCount is the number of reporting replicas below both thresholds.
	NonSaturatedCount int
	// SaturatedReplicas names the saturated replicas in input order.
	SaturatedReplicas []string
	// MaxKvCacheUsage is the highest KV-cache usage among the reporting replicas.
	MaxKvCacheUsage float64
	// MaxQueueLength is the longest waiting queue among the reporting replicas.
	MaxQueueLength float64
	// AvgSpareKv is the mean spare KV (threshold - usage) over non-saturated replicas, 0 if none.
	AvgSpareKv float64
	// AvgSpareQ is the mean spare queue (threshold - length) over non-saturated replicas, 0 if none.
	AvgSpareQ float64
}

// SaturationAnalysis is the model-level result of the v1 saturation analysis (SPEC 4.3).
type SaturationAnalysis struct {
	// ModelID is the analysed model.
	ModelID string
	// Namespace is the model's namespace.
	Namespace string
	// TotalReplicas is the number of replicas that reported metrics, over all variants.
	TotalReplicas int
	// NonSaturatedCount is the number of non-saturated replicas, over all variants.
	NonSaturatedCount int
	// AvgSpareKv is the mean spare KV over all non-saturated replicas (0 if none).
	AvgSpareKv float64
	// AvgSpareQ is the mean spare queue over all non-saturated replicas (0 if none).
	AvgSpareQ float64
	// ShouldScaleUp is true when a mean spare falls strictly below its trigger.
	ShouldScaleUp bool
	// ScaleUpReason names the trigger(s) that fired, with their values.
	ScaleUpReason string
	// ScaleDownSafe is true when removing one non-saturated replica keeps both spares at or above
	// their triggers.
	ScaleDownSafe bool
	// ScaleDownReason explains the removal simulation's verdict.
	ScaleDownReason string
	// Variants holds one entry per variant with at least one reporting replica, sorted by name.
	Variants []VariantAnalysis
	// AnalyzedAt is the time passed to AnalyzeSaturation.
	AnalyzedAt time.Time
}

// V1Analyzer is the reference saturation analyzer: AnalyzeSaturation followed by
// CalculateSaturationTargets. It moves a model by at most one replica per cycle.
type V1Analyzer struct{}

// Name returns AnalyzerV1.
func (V1Analyzer) Name() string { return AnalyzerV1 }

// Analyze runs the v1 saturation analysis and target calculation for one model. Every target
// lies within the variant's bounds (VariantState.Bounds); invalid thresholds keep current replicas.
func (V1Analyzer) Analyze(m ModelState, cfg interfaces.SaturationScalingConfig, now time.Time) Result {
	m, inputNote := sanitizeModel(m)
	if keys := cfg.InvalidKeys(); len(keys) > 0 {
		return Result{
			ModelID: m.ModelID, Namespace: m.Namespace, Analyzer: AnalyzerV1, AnalyzedAt: now,
			Summary: invalidConfigSummary(keys),
			Targets: keepCurrent(m.Variants, func(v VariantState) string {
				return fmt.Sprintf("no change: invalid saturation thresholds (%s); keeping current %d replicas", strings.Join(keys, ", "), v.CurrentReplicas)
			}),
		}
	}
	a := AnalyzeSaturation(m, cfg, now)
	summary := a.summary(cfg)
	if a.TotalReplicas > 0 {
		var silent []string
		for _, v := range sortedVariants(m.Variants) {
			if len(v.Pods) == 0 {
				silent = append(silent, v.Name)
			}
		}
		if len(silent) > 0 {
			summary += "; no decision for variants without metrics: " + strings.Join(silent, ", ")
		}
	}
	if inputNote != "" {
		summary += "; inputs: " + inputNote
	}
	return Result{
		ModelID:    m.ModelID,
		Namespace:  m.Namespace,
		Analyzer:   AnalyzerV1,
		Targets:    CalculateSaturationTargets(a, m.Variants),
		Summary:    summary,
		AnalyzedAt: now,
	}
}

// AnalyzeSaturation classifies every reporting replica of the model as saturated or not and
// derives the model-level scale-up trigger and scale-down safety (SPEC 4.3). A replica is
// saturated when its KV usage or queue length reaches the configured threshold. Variants without
// reporting replicas are left out of Variants. Readings are sanitized as in V1Analyzer.Analyze.
func AnalyzeSaturation(m ModelState, cfg interfaces.SaturationScalingConfig, now time.Time) SaturationAnalysis {
	m, _ = sanitizeModel(m)
	a := SaturationAnalysis{ModelID: m.ModelID, Namespace: m.Namespace, AnalyzedAt: now}
	var spareKv, spareQ, loadKv, loadQ float64
	for _, v := range sortedVariants(m.Variants) {
		if len(v.Pods) == 0 {
			continue
		}
		va := VariantAnalysis{Name: v.Name, Accelerator: v.Accelerator, Cost: v.Cost, ReplicaCount: len(v.Pods)}
		var vSpareKv, vSpareQ float64
		for _, p := range v.Pods {
			va.MaxKvCacheUsage = max(va.MaxKvCacheUsage, p.KvCacheUsage)
			va.MaxQueueLength = max(va.MaxQueueLength, p.QueueLength)
			if p.KvCacheUsage >= cfg.KvCacheThreshold || p.QueueLength >= cfg.QueueLengthThreshold {
				va.SaturatedReplicas = append(va.SaturatedReplicas, p.Name)
				continue
			}
			va.NonSaturatedCount++
			vSpareKv += cfg.KvCacheThreshold - p.KvCacheUsage
			vSpareQ += cfg.QueueLengthThreshold - p.QueueLength
			loadKv += p.KvCacheUsage
			loadQ += p.QueueLength
		}
		if va.NonSaturatedCount > 0 {
			va.AvgSpareKv = vSpareKv / float64(va.NonSaturatedCount)
			va.AvgSpareQ = vSpareQ / float64(va.NonSaturatedCount)
		}
		spareKv += vSpareKv
		spareQ += vSpareQ
		a.TotalReplicas += va.ReplicaCount
		a.NonSaturatedCount += va.NonSaturatedCount
		a.Variants = append(a.Variants, va)
	}
	if a.TotalReplicas == 0 {
		a.ScaleDownReason = "no replica reported metrics"
		return a
	}
	if a.NonSaturatedCount > 0 {
		a.AvgSpareKv = spareKv / float64(a.NonSaturatedCount)
		a.AvgSpareQ = spareQ / float64(a.NonSaturatedCount)
	}

	var fired []string
	if a.AvgSpareKv < cfg.KvSpareTrigger {
		fired = append(fired, fmt.Sprintf("mean spare KV %.3f < trigger %.2f", a.AvgSpareKv, cfg.KvSpareTrigger))
	}
	if a.AvgSpareQ < cfg.QueueSpareTrigger {
		fired = append(fired, fmt.Sprintf("mean spare queue %.1f < trigger %.1f", a.AvgSpareQ, cfg.QueueSpareTrigger))
	}
	if len(fired) > 0 {
		a.ShouldScaleUp = true
		a.ScaleUpReason = strings.Join(fired, " and ")
		if a.NonSaturatedCount == 0 {
			a.ScaleUpReason = fmt.Sprintf("all %d replicas saturated, so %s", a.TotalReplicas, a.ScaleUpReason)
		}
	}

	if a.NonSaturatedCount < minNonSaturatedForScaleDown {
		a.ScaleDownReason = fmt.Sprintf("%d non-saturated replica(s); the removal simulation needs at least %d",
			a.NonSaturatedCount, minNonSaturatedForScaleDown)
		return a
	}
	survivors := float64(a.NonSaturatedCount - 1)
	remKv := cfg.KvCacheThreshold - loadKv/survivors
	remQ := cfg.QueueLengthThreshold - loadQ/survivors
	a.ScaleDownSafe = remKv >= cfg.KvSpareTrigger && remQ >= cfg.QueueSpareTrigger
	a.ScaleDownReason = fmt.Sprintf("without one of %d non-saturated replicas spare KV would be %.3f (%s trigger %.2f) and spare queue %.1f (%s trigger %.1f)",
		a.NonSaturatedCount, remKv, cmpSymbol(remKv, cfg.KvSpareTrigger), cfg.KvSpareTrigger,
		remQ, cmpSymbol(remQ, cfg.QueueSpareTrigger), cfg.QueueSpareTrigger)
	return a
}

// cmpSymbol returns ">=" when x >= y and "<" otherwise.
func cmpSymbol(x, y float64) string {
	if x >= y {
		return ">="
	}
	return "<"
}

// summary states the model-level finding of the analysis in one sentence.
func (a SaturationAnalysis) summary(cfg interfaces.SaturationScalingConfig) string {
	switch {
	case a.TotalReplicas == 0:
		return "no metrics: no replica of the model reported KV-cache or queue readings"
	case a.ShouldScaleUp:
		return "scale-up: " + a.ScaleUpReason
	case a.ScaleDownSafe:
		return "scale-down safe: " + a.ScaleDownReason
	default:
		return fmt.Sprintf("steady: mean spare KV %.3f >= trigger %.2f and mean spare queue %.1f >= trigger %.1f; scale-down unsafe: %s",
			a.AvgSpareKv, cfg.KvSpareTrigger, a.AvgSpareQ, cfg.QueueSpareTrigger, a.ScaleDownReason)
	}
}

// v1Entry is the working state of one analysed variant during target calculation.
type v1Entry struct {
	va        VariantAnalysis
	st        VariantState
	target    int
	preserved bool
	base      string
	action    string
}

// CalculateSaturationTargets turns a v1 analysis into replica targets (SPEC 4.4). states supplies
// current, previously desired and bounds per variant; a variant missing from states is treated
// as having 0 current and 0 desired replicas. Only analysed variants get a target unless the
// analysis has no variants, in which case every state keeps its current replicas.
//
// Rules: a variant keeps its current replicas, or its previously published target while that is
// not reached yet ("preserved", excluded from changes). On ShouldScaleUp the cheapest
// non-preserved variant (ties: first name) gains one replica; otherwise on ScaleDownSafe the most
// expensive non-preserved variant above one replica (ties: last name) loses one.
// Improvement over the reference: a variant at its MaxReplicas is not chosen for scale-up, one at
// max(MinReplicas, 1) not for scale-down, and every target is clamped to the set bounds.
func CalculateSaturationTargets(a SaturationAnalysis, states []VariantState) []VariantTarget {
	states = sanitizeStates(states)
	if len(a.Variants) == 0 {
		if len(states) == 0 {
			return nil
		}
		return keepCurrent(states, func(s VariantState) string {
			return fmt.Sprintf("no metrics: no replica of the model reported readings; keeping current %d", s.CurrentReplicas)
		})
	}

	byName := make(map[string]VariantState, len(states))
	for _, s := range states {
		if _, dup := byName[s.Name]; !dup {
			byName[s.Name] = s
		}
	}
	entries := make([]*v1Entry, 0, len(a.Variants))
	for _, va := range a.Variants {
		s, ok := byName[va.Name]
		if !ok {
			s = VariantState{Name: va.Name, Accelerator: va.Accelerator, Cost: va.Cost}
		}
		e := &v1Entry{va: va, st: s, target: s.CurrentReplicas}
		stable := s.DesiredReplicas == 0 || s.DesiredReplicas == s.CurrentReplicas
		complete := va.ReplicaCount == s.CurrentReplicas
		switch {
		case s.DesiredReplicas != 0 && s.DesiredReplicas != s.CurrentReplicas:
			e.target, e.preserved = s.DesiredReplicas, true
			e.base = fmt.Sprintf("previous target %d not reached yet (current %d), so it is kept and the variant is excluded from this cycle's change",
				s.DesiredReplicas, s.CurrentReplicas)
		case stable && complete:
			e.target = va.ReplicaCount
			e.base = fmt.Sprintf("all %d replica(s) report metrics", va.ReplicaCount)
		default:
			e.base = fmt.Sprintf("%d of %d replicas report metrics, so the base is the current %d", va.ReplicaCount, s.CurrentReplicas, s.CurrentReplicas)
		}
		entries = append(entries, e)
	}

	switch {
	case a.ShouldScaleUp:
		var c *v1Entry
		for _, e := range entries {
			if e.preserved || e.target >= e.st.maxReplicas() {
				continue
			}
			if c == nil || e.va.Cost < c.va.Cost || (e.va.Cost == c.va.Cost && e.va.Name < c.va.Name) {
				c = e
			}
		}
		for _, e := range entries {
			switch {
			case e == c:
				e.target++
				e.action = fmt.Sprintf("scale-up +1 (%s); cheapest eligible variant (cost %s)", a.ScaleUpReason, num(e.va.Cost))
			case c == nil:
				e.action = fmt.Sprintf("scale-up wanted (%s) but no variant is eligible", a.ScaleUpReason)
			default:
				e.action = fmt.Sprintf("the model's +1 goes to %s", c.va.Name)
			}
		}
	case a.ScaleDownSafe:
		var c *v1Entry
		for _, e := range entries {
			if e.preserved || e.target <= max(1, e.st.minReplicas()) {
				continue
			}
			if c == nil || e.va.Cost > c.va.Cost || (e.va.Cost == c.va.Cost && e.va.Name > c.va.Name) {
				c = e
			}
		}
		for _, e := range entries {
			switch {
			case e == c:
				e.target--
				e.action = fmt.Sprintf("scale-down -1 (%s); most expensive eligible variant (cost %s)", a.ScaleDownReason, num(e.va.Cost))
			case c == nil:
				e.action = "scale-down safe but no variant is above its lower bound"
			default:
				e.action = fmt.Sprintf("the model's -1 goes to %s", c.va.Name)
			}
		}
	default:
		for _, e := range entries {
			e.action = "no scale-up trigger fired and scale-down is unsafe"
		}
	}

	out := make([]VariantTarget, 0, len(entries))
	for _, e := range entries {
		reason := e.base + "; " + e.action
		if lo, hi := e.st.Bounds(); e.target > hi {
			e.target = hi
			reason += "; clamped to " + e.st.maxNote()
		} else if e.target < lo {
			e.target = lo
			reason += fmt.Sprintf("; raised to minReplicas %d", lo)
		}
		out = append(out, VariantTarget{
			Variant: e.va.Name, Accelerator: e.st.Accelerator, Current: e.st.CurrentReplicas, Desired: e.st.DesiredReplicas,
			Target: e.target, Action: interfaces.ActionFor(e.st.CurrentReplicas, e.target), Reason: reason,
		})
	}
	return out
}
