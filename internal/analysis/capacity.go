package analysis

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

const (
	// defaultBandWidth is how far the default scale-down utilisation sits below the scale-up
	// utilisation (never more than half of it).
	defaultBandWidth = 0.2
	// relTolerance absorbs floating-point noise in capacity comparisons.
	relTolerance = 1e-9
)

// CapacityThresholds are the utilisation and queue bounds of the capacity analyzer, derived from
// a SaturationScalingConfig.
type CapacityThresholds struct {
	// ScaleUpUtilization (u_up) is kvCacheThreshold - kvSpareTrigger: the model scales up when
	// KV demand / supply exceeds it, and sizes the fleet to reach it. <= 0 disables the KV signal.
	ScaleUpUtilization float64
	// ScaleDownUtilization (u_down) is the lower edge of the hysteresis band: replicas are removed
	// only while the smaller fleet stays at or below it.
	ScaleDownUtilization float64
	// ScaleUpQueue (q_up) is queueLengthThreshold - queueSpareTrigger, the tolerated mean waiting
	// queue per replica. <= 0 disables the queue signal.
	ScaleUpQueue float64
	// ScaleDownQueue (q_down) is q_up * u_down / u_up, the mean queue the smaller fleet must stay at
	// or below.
	ScaleDownQueue float64
}

// CapacityThresholdsFor derives the capacity analyzer's thresholds from cfg. When
// cfg.ScaleDownUtilization is 0 the scale-down utilisation defaults to
// max(u_up - 0.2, u_up / 2).
func CapacityThresholdsFor(cfg interfaces.SaturationScalingConfig) CapacityThresholds {
	t := CapacityThresholds{
		ScaleUpUtilization: cfg.KvCacheThreshold - cfg.KvSpareTrigger,
		ScaleUpQueue:       cfg.QueueLengthThreshold - cfg.QueueSpareTrigger,
	}
	if t.ScaleUpUtilization <= 0 {
		return t
	}
	t.ScaleDownUtilization = cfg.ScaleDownUtilization
	if t.ScaleDownUtilization <= 0 || t.ScaleDownUtilization >= t.ScaleUpUtilization {
		t.ScaleDownUtilization = max(t.ScaleUpUtilization-defaultBandWidth, t.ScaleUpUtilization/2)
	}
	if t.ScaleUpQueue > 0 {
		t.ScaleDownQueue = t.ScaleUpQueue * t.ScaleDownUtilization / t.ScaleUpUtilization
	}
	return t
}

// CapacityAnalysis is the model-level arithmetic of the capacity analyzer. Capacities and KV
// demand are in capacity units: tokens when every variant declares KvCacheTokens, otherwise
// replicas (every replica counts as 1).
type CapacityAnalysis struct {
	CapacityThresholds
	// TokenUnits is true when capacity units are tokens, false when they are replicas.
	TokenUnits bool
	// RunningKnown is true when at least one replica reported running requests.
	RunningKnown bool
	// KvPerRequest is the model's mean KV footprint of one running request (capacity units);
	// 0 when unknown.
	KvPerRequest float64
	// Demand (D) is the KV in use plus the KV the waiting requests will need, extrapolated to
	// ready replicas without metrics.
	Demand float64
	// Waiting (Q) is the number of waiting requests, extrapolated like Demand.
	Waiting float64
	// Running (R) is the number of running requests, extrapolated like Demand (0 when unknown).
	Running float64
	// Concurrency (A) is the assumed number of requests one replica runs when full.
	Concurrency float64
	// Supply (S) is the capacity of the current replicas (spec, so starting ones count), after
	// clamping each variant to its bounds.
	Supply float64
	// Replicas is the number of replicas behind Supply.
	Replicas int
	// ReplicaCapacity is the mean capacity of one measured replica.
	ReplicaCapacity float64
	// NeedKv is D / u_up.
	NeedKv float64
	// NeedQueue is the queue-based requirement: each queueing pod's (running + waiting) /
	// (running + q_up) replicas, in its variant's capacity.
	NeedQueue float64
	// NeedBatch is the latency-based requirement (0 without an ITL target and perfParms): each
	// pod's (running + waiting) / (u_up * batch limit) replicas, in its variant's capacity, where
	// the batch limit keeps alpha + beta * batch within the ITL target.
	NeedBatch float64
	// Need is max(NeedKv, NeedQueue, NeedBatch): the capacity the model should have.
	Need float64
	// NeedDown is max(D / u_down, (Q + R) / (A + q_down) * ReplicaCapacity): the capacity a
	// smaller fleet must keep.
	NeedDown float64
	// Incomplete describes variants whose replicas do not all report metrics; any entry blocks
	// scale-down.
	Incomplete []string
}

// CapacityAnalyzer sizes a model from observed demand and per-replica capacity, with a
// hysteresis band between u_down and u_up; see docs/analyzers.md for the formulas.
type CapacityAnalyzer struct{}

// Name returns AnalyzerCapacity.
func (CapacityAnalyzer) Name() string { return AnalyzerCapacity }

// capEntry is the working state of one variant during capacity target calculation.
type capEntry struct {
	st       VariantState
	capacity float64
	base     int
	target   int
	notes    []string
}

// keepPending lowers each variant whose previous decision (DesiredReplicas) is below its
// current replicas, and not below its floor, to that decision while the fleet left still covers
// need: a scale-down decided on complete metrics and not carried out yet (an HPA's
// stabilisation window, a rollout) stands when metrics go missing, where holding the current
// count would cancel it. It returns the replicas so kept off.
func keepPending(entries []*capEntry, need, supply float64) int {
	removed := 0
	for _, e := range entries {
		p := e.st.DesiredReplicas
		if p <= 0 || p >= e.base || p < e.floor() || !(e.capacity > 0) {
			continue
		}
		left := supply - float64(e.base-p)*e.capacity
		if greater(need, left) {
			continue
		}
		supply, removed = left, removed+e.base-p
		e.target = p
	}
	return removed
}

// costPerCapacity is the price of one capacity unit of the variant; non-positive costs are free.
func (e *capEntry) costPerCapacity() float64 {
	return max(e.st.Cost, 0) / e.capacity
}

// floor is the lowest target a scale-down may leave: MinReplicas (1 when unset), or the base
// when the variant is already below that.
func (e *capEntry) floor() int {
	return min(e.st.minReplicas(), e.base)
}

// room is how many replicas a scale-up may add before the upper bound (DefaultMaxReplicas when
// MaxReplicas is unset).
func (e *capEntry) room() int {
	return max(e.st.maxReplicas()-e.target, 0)
}

// Analyze computes replica targets for one model from its demand and capacity. Every target lies
// within the variant's bounds (VariantState.Bounds); invalid thresholds keep current replicas.
func (CapacityAnalyzer) Analyze(m ModelState, cfg interfaces.SaturationScalingConfig, now time.Time) (res Result) {
	res = Result{ModelID: m.ModelID, Namespace: m.Namespace, Analyzer: AnalyzerCapacity, AnalyzedAt: now}
	m, inputNote := sanitizeModel(m)
	defer func() {
		if inputNote != "" {
			res.Summary += "; inputs: " + inputNote
		}
	}()
	vs := sortedVariants(m.Variants)

	if keys := cfg.InvalidKeys(); len(keys) > 0 {
		res.Summary = invalidConfigSummary(keys)
		res.Targets = keepCurrent(vs, func(v VariantState) string {
			return fmt.Sprintf("no change: invalid saturation thresholds (%s); keeping current %d replicas", strings.Join(keys, ", "), v.CurrentReplicas)
		})
		return res
	}

	measured := false
	for _, v := range vs {
		if len(v.Pods) > 0 {
			measured = true
			break
		}
	}
	if !measured {
		res.Summary = "no metrics: no ready replica of the model reported KV-cache or queue readings; keeping current replicas"
		res.Targets = keepCurrent(vs, func(v VariantState) string {
			return fmt.Sprintf("no metrics: keeping current %d replicas (never scaled down on missing data)", v.CurrentReplicas)
		})
		return res
	}

	entries := newCapEntries(vs)
	a := analyzeCapacity(entries, cfg)
	unit := a.unit()
	band := fmt.Sprintf("no change: %s is within the hysteresis band (scale-up above utilisation %s, scale-down only if a smaller fleet stays <= %s)",
		a.load(), num(a.ScaleUpUtilization), num(a.ScaleDownUtilization))

	// Each branch sets the summary and the sentences for variants whose target the branch moved
	// (moved) or left alone (kept). The scale-down case expression mutates entries only when it
	// removes at least one replica.
	var moved func(e *capEntry) string
	kept := "load is within the hysteresis band"
	switch {
	case a.ScaleUpUtilization <= 0 && a.ScaleUpQueue <= 0:
		res.Summary = "no change: kvCacheThreshold - kvSpareTrigger and queueLengthThreshold - queueSpareTrigger are both <= 0, which disables scaling"
		kept = "the thresholds disable scaling"
	case greater(a.Need, a.Supply):
		added, short := scaleUp(entries, a.Need-a.Supply)
		res.Summary = fmt.Sprintf("scale-up: %s; the model needs %s %s, so +%d replica(s)", a.load(), num(a.Need), unit, added)
		if short > 0 {
			res.Summary += fmt.Sprintf(", %s %s short because every variant is at maxReplicas", num(short), unit)
		}
		kept = "the added capacity goes to variants cheaper per capacity, or this one is at maxReplicas"
		moved = func(e *capEntry) string {
			return fmt.Sprintf("scale-up +%d: added in cheapest-per-capacity order (cost %s); the model needs %s %s and has %s",
				e.target-e.base, unitPrice(e, a.TokenUnits), num(a.Need), unit, num(a.Supply))
		}
	case len(a.Incomplete) > 0:
		res.Summary = fmt.Sprintf("no change: %s, below the scale-up point; scale-down is blocked by missing metrics (%s)",
			a.load(), strings.Join(a.Incomplete, "; "))
		kept = "scale-down is blocked by missing metrics"
		if n := keepPending(entries, a.Need, a.Supply); n > 0 {
			res.Summary += fmt.Sprintf("; the pending scale-down of %d replica(s) decided before stands", n)
			moved = func(e *capEntry) string {
				return fmt.Sprintf("pending scale-down -%d kept: decided on complete metrics and not carried out yet; the rest of the fleet covers the %s %s needed; a further scale-down is blocked by missing metrics",
					e.base-e.target, num(a.Need), unit)
			}
		}
	case a.ScaleUpUtilization <= 0:
		res.Summary = fmt.Sprintf("no change: %s, below the scale-up point; scale-down needs the KV signal, which kvCacheThreshold - kvSpareTrigger <= 0 disables",
			a.load())
		kept = "scale-down is disabled by the thresholds"
	case greater(a.Supply, a.NeedDown) && scaleDown(entries, a.Supply-a.NeedDown) > 0:
		left, removed := 0.0, 0
		for _, e := range entries {
			left += float64(e.target) * e.capacity
			removed += e.base - e.target
		}
		res.Summary = fmt.Sprintf("scale-down: %s; %s %s keep utilisation <= %s, so -%d replica(s)",
			a.load(), num(a.NeedDown), unit, num(a.ScaleDownUtilization), removed)
		kept = "capacity is removed from variants dearer per capacity, or this one is at its lower bound"
		moved = func(e *capEntry) string {
			r := fmt.Sprintf("scale-down -%d: removed in most-expensive-per-capacity order (cost %s); the model keeps %s of %s %s and needs %s to stay <= utilisation %s",
				e.base-e.target, unitPrice(e, a.TokenUnits), num(left), num(a.Supply), unit, num(a.NeedDown), num(a.ScaleDownUtilization))
			if lo := e.st.minReplicas(); lo > 1 && e.target == lo {
				r += fmt.Sprintf("; stopped at minReplicas %d", lo)
			}
			return r
		}
	case greater(a.Supply, a.NeedDown) && atLowerBounds(entries):
		res.Summary = fmt.Sprintf("no change: %s; %s %s would do, but every variant is at its lower bound (minReplicas, 1 when unset)",
			a.load(), num(a.NeedDown), unit)
		kept = "the variant is at its lower bound"
	default:
		res.Summary = band
	}

	var bounded []string
	for _, e := range entries {
		for _, n := range e.notes {
			bounded = append(bounded, e.st.Name+" "+n)
		}
	}
	if len(bounded) > 0 {
		res.Summary += "; bounds: " + strings.Join(bounded, ", ")
	}

	for _, e := range entries {
		var reason string
		switch {
		case e.target != e.base && moved != nil:
			reason = moved(e)
		case e.target == e.st.CurrentReplicas:
			reason = "no change: " + kept
		default:
			reason = "bounds: " + kept
		}
		if len(e.notes) > 0 {
			reason += "; " + strings.Join(e.notes, "; ")
		}
		res.Targets = append(res.Targets, VariantTarget{
			Variant: e.st.Name, Accelerator: e.st.Accelerator, Current: e.st.CurrentReplicas, Desired: e.st.DesiredReplicas,
			Target: e.target, Action: interfaces.ActionFor(e.st.CurrentReplicas, e.target), Reason: reason,
		})
	}
	return res
}

// AnalyzeCapacity returns the capacity analyzer's model-level arithmetic for m under cfg,
// without deciding targets. Readings are sanitized as in Analyze; cfg is used as given.
func AnalyzeCapacity(m ModelState, cfg interfaces.SaturationScalingConfig) CapacityAnalysis {
	m, _ = sanitizeModel(m)
	return analyzeCapacity(newCapEntries(sortedVariants(m.Variants)), cfg)
}

// tokenUnits reports whether every variant declares its KV capacity in tokens.
func tokenUnits(entries []*capEntry) bool {
	for _, e := range entries {
		if e.st.KvCacheTokens <= 0 {
			return false
		}
	}
	return len(entries) > 0
}

// newCapEntries builds the working entries, clamping each variant's current replicas to its bounds.
func newCapEntries(vs []VariantState) []*capEntry {
	entries := make([]*capEntry, 0, len(vs))
	for _, v := range vs {
		entries = append(entries, &capEntry{st: v, capacity: 1, base: v.CurrentReplicas})
	}
	tokens := tokenUnits(entries)
	for _, e := range entries {
		v := e.st
		if tokens {
			e.capacity = v.KvCacheTokens
		}
		var note string
		if e.base, note = v.clampReplicas(v.CurrentReplicas); note != "" {
			e.notes = append(e.notes, note)
		}
		e.target = e.base
	}
	return entries
}

// analyzeCapacity computes demand, supply and the capacity needed at both ends of the band.
func analyzeCapacity(entries []*capEntry, cfg interfaces.SaturationScalingConfig) CapacityAnalysis {
	a := CapacityAnalysis{CapacityThresholds: CapacityThresholdsFor(cfg), TokenUnits: tokenUnits(entries)}

	// Model-wide KV footprint of one running request, the fallback for pods without running data.
	var kvOfRunning, running float64
	for _, e := range entries {
		for _, p := range e.st.Pods {
			if p.RunningRequests > 0 {
				kvOfRunning += p.KvCacheUsage * e.capacity
				running += p.RunningRequests
			}
		}
	}
	if running > 0 {
		a.RunningKnown = true
		// One request never holds more KV than a whole replica of the largest variant.
		a.KvPerRequest = min(kvOfRunning/running, maxCapacity(entries))
	}

	var measuredReplicas, measuredCapacity float64
	var fullRunning, fullPods float64 // running requests on pods that queue (they are full)
	var needQueueUp, needQueueDown, needBatchDown float64
	for _, e := range entries {
		a.Supply += float64(e.base) * e.capacity
		a.Replicas += e.base
		n := len(e.st.Pods)
		ready := e.st.ready()
		switch {
		case n == 0 && e.st.CurrentReplicas > 0:
			a.Incomplete = append(a.Incomplete, fmt.Sprintf("%s has %d replica(s) and none reports metrics", e.st.Name, e.st.CurrentReplicas))
			continue
		case n == 0:
			continue
		case ready > n:
			a.Incomplete = append(a.Incomplete, fmt.Sprintf("only %d of %d ready replicas of %s report metrics", n, ready, e.st.Name))
		}
		var demand, waiting, run, queueUp, queueDown, batchUp, batchDown float64
		batchLimit := decodeBatchLimit(e.st, cfg.ITLTargetMs)
		for _, p := range e.st.Pods {
			perRequest := a.KvPerRequest
			if p.RunningRequests > 0 {
				perRequest = min(p.KvCacheUsage*e.capacity/p.RunningRequests, e.capacity)
			}
			demand += p.KvCacheUsage*e.capacity + p.QueueLength*perRequest
			waiting += p.QueueLength
			run += p.RunningRequests
			if p.QueueLength > 0 && p.RunningRequests > 0 {
				fullRunning += p.RunningRequests
				fullPods++
			}
			up, down := podQueueNeed(p, a.CapacityThresholds, cfg.QueueLengthThreshold)
			queueUp += up * e.capacity
			queueDown += down * e.capacity
			if batchLimit > 0 && a.ScaleUpUtilization > 0 {
				load := p.RunningRequests + p.QueueLength
				batchUp += load / (batchLimit * a.ScaleUpUtilization) * e.capacity
				batchDown += load / (batchLimit * a.ScaleDownUtilization) * e.capacity
			}
		}
		scale := float64(ready) / float64(n) // ready replicas without metrics carry the mean load
		a.Demand += demand * scale
		a.Waiting += waiting * scale
		a.Running += run * scale
		needQueueUp += queueUp * scale
		needQueueDown += queueDown * scale
		a.NeedBatch += batchUp * scale
		needBatchDown += batchDown * scale
		measuredReplicas += float64(ready)
		measuredCapacity += float64(ready) * e.capacity
	}
	if measuredReplicas == 0 {
		return a // nothing measured: no demand, no requirement
	}
	a.ReplicaCapacity = measuredCapacity / measuredReplicas

	switch {
	case fullPods > 0:
		a.Concurrency = fullRunning / fullPods
	case a.RunningKnown:
		a.Concurrency = a.Running / measuredReplicas
	default:
		a.Concurrency = cfg.QueueLengthThreshold
	}
	if !a.RunningKnown {
		a.Running = measuredReplicas * a.Concurrency
	}

	if a.ScaleUpUtilization > 0 {
		a.NeedKv = a.Demand / a.ScaleUpUtilization
		a.NeedDown = a.Demand / a.ScaleDownUtilization
	}
	if a.ScaleUpQueue > 0 && a.Waiting > 0 {
		a.NeedQueue = needQueueUp
		if a.ScaleDownQueue > 0 {
			a.NeedDown = max(a.NeedDown, needQueueDown)
		}
	}
	a.NeedDown = max(a.NeedDown, needBatchDown)
	a.Need = max(a.NeedKv, a.NeedQueue, a.NeedBatch)
	return a
}

// decodeBatchLimit is the largest running batch of one replica of v whose decode step,
// alpha + beta * batch, stays within itlTargetMs, and at least 1 (one request per replica is
// the most a fleet can do for latency); 0 when the target or the latency model is unknown, or
// the target is below alpha (no batch meets it).
func decodeBatchLimit(v VariantState, itlTargetMs float64) float64 {
	if itlTargetMs <= 0 || v.DecodeBetaMs <= 0 || itlTargetMs <= v.DecodeAlphaMs {
		return 0
	}
	return max((itlTargetMs-v.DecodeAlphaMs)/v.DecodeBetaMs, 1)
}

// maxCapacity is the largest capacity of one replica among entries.
func maxCapacity(entries []*capEntry) float64 {
	c := 0.0
	for _, e := range entries {
		c = max(c, e.capacity)
	}
	return c
}

// invalidConfigSummary is the summary of an analysis that refused cfg.
func invalidConfigSummary(keys []string) string {
	return fmt.Sprintf("no change: the saturation thresholds are invalid (%s; see the saturation ConfigMap errors); keeping current replicas",
		strings.Join(keys, ", "))
}

// podQueueNeed is how many replicas like pod p its load needs, judged by its waiting queue:
// a pod that queues runs as many requests as it can (its running count is its concurrency), so
// (running + waiting) / (running + q) replicas keep q waiting per replica; a pod that does not
// queue needs what its KV usage says. Each pod is judged in its own replica's units, so a small
// replica's concurrency is never applied to a large one. Without running counts the concurrency
// is taken as queueLengthThreshold.
func podQueueNeed(p PodMetrics, t CapacityThresholds, queueThreshold float64) (up, down float64) {
	kvUp, kvDown := 0.0, 0.0
	if t.ScaleUpUtilization > 0 {
		kvUp, kvDown = p.KvCacheUsage/t.ScaleUpUtilization, p.KvCacheUsage/t.ScaleDownUtilization
	}
	if p.QueueLength <= 0 {
		return kvUp, kvDown
	}
	concurrency := p.RunningRequests
	if concurrency <= 0 {
		concurrency = queueThreshold
	}
	up = (concurrency + p.QueueLength) / (concurrency + t.ScaleUpQueue)
	down = up
	if t.ScaleDownQueue > 0 {
		down = (concurrency + p.QueueLength) / (concurrency + t.ScaleDownQueue)
	}
	return max(up, kvUp), max(down, kvDown)
}

// unit names the capacity unit in reasons.
func (a CapacityAnalysis) unit() string {
	if a.TokenUnits {
		return "tokens"
	}
	return "replica capacities"
}

// unitPrice formats the cost of capacity for reasons: per 1k tokens or per replica capacity.
func unitPrice(e *capEntry, tokens bool) string {
	if tokens {
		return num(e.costPerCapacity()*1000) + " per 1k tokens"
	}
	return num(e.costPerCapacity()) + " per replica capacity"
}

// load describes the model's load in one clause.
func (a CapacityAnalysis) load() string {
	s := fmt.Sprintf("KV demand %s on supply %s %s", num(a.Demand), num(a.Supply), a.unit())
	if a.Supply > 0 {
		s += fmt.Sprintf(" (utilisation %s, scale-up above %s)", num(a.Demand/a.Supply), num(a.ScaleUpUtilization))
	}
	if a.Waiting > 0 {
		s += fmt.Sprintf(" with %s waiting requests (queue requirement %s)", num(a.Waiting), num(a.NeedQueue))
	}
	if a.NeedBatch > 0 {
		s += fmt.Sprintf("; the ITL target asks for %s", num(a.NeedBatch))
	}
	return s
}

// atLowerBounds reports whether no variant can lose a replica.
func atLowerBounds(entries []*capEntry) bool {
	for _, e := range entries {
		if e.target > e.floor() {
			return false
		}
	}
	return true
}

// greater reports x > y beyond floating-point noise.
func greater(x, y float64) bool {
	return x > y+relTolerance*max(1, math.Abs(y))
}

// scaleUp adds replicas cheapest-per-capacity first (ties: first name) until deficit capacity
// units are covered or every variant is at MaxReplicas. It returns the replicas added and the
// capacity still missing.
func scaleUp(entries []*capEntry, deficit float64) (int, float64) {
	order := append([]*capEntry(nil), entries...)
	sort.SliceStable(order, func(i, j int) bool {
		ci, cj := order[i].costPerCapacity(), order[j].costPerCapacity()
		if ci != cj {
			return ci < cj
		}
		return order[i].st.Name < order[j].st.Name
	})
	added := 0
	for _, e := range order {
		if !greater(deficit, 0) {
			break
		}
		k := ClampCount(math.Ceil(deficit/e.capacity-relTolerance), 0, e.room())
		e.target += k
		added += k
		deficit -= float64(k) * e.capacity
	}
	return added, max(deficit, 0)
}

// scaleDown removes replicas most-expensive-per-capacity first (ties: last name) while the
// removed capacity fits in surplus, never below a variant's floor. It returns the replicas removed.
func scaleDown(entries []*capEntry, surplus float64) int {
	order := append([]*capEntry(nil), entries...)
	sort.SliceStable(order, func(i, j int) bool {
		ci, cj := order[i].costPerCapacity(), order[j].costPerCapacity()
		if ci != cj {
			return ci > cj
		}
		return order[i].st.Name > order[j].st.Name
	})
	removed, total := 0, 0
	for _, e := range entries {
		total += e.target
	}
	for _, e := range order {
		k := ClampCount(math.Floor(surplus/e.capacity+relTolerance), 0, min(e.target-e.floor(), total-1))
		if k <= 0 {
			continue
		}
		total -= k
		e.target -= k
		removed += k
		surplus -= float64(k) * e.capacity
	}
	return removed
}
