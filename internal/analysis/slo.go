package analysis

import (
	"fmt"
	"maps"
	"math"
	"strings"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/forecast"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/mix"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/perfmodel"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/queueing"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// Tuning of the slo analyzer; docs/analyzers.md ("The slo analyzer") explains each.
const (
	// SLOSafety is the share of queueing.MaxRate a replica is planned to carry. MaxRate is
	// optimistic: at the predicted rate the simulator shows 0.62-0.92 attainment, at 0.7 of it
	// every measured case meets its target.
	SLOSafety = 0.75
	// DefaultStartupDelay is the start-up delay of a variant whose VariantState.StartupDelay is
	// 0 (none set or learned yet); the forecast horizon is the longest start-up delay of the
	// model's variants, at most MaxStartupDelay.
	DefaultStartupDelay = 120 * time.Second
	MaxStartupDelay     = time.Hour
	// SLOBurstK is the forecaster's burst margin in residual standard deviations.
	SLOBurstK = 1.0
	// SLOFeedbackPeriod is the period the feedback's rates are stated per: a cycle of the
	// engine's interval applies them to the power interval / SLOFeedbackPeriod, so the
	// feedback moves as fast in time whatever the interval (a 5 s cycle re-reads much the same
	// histogram window as the one 5 s before it). Decode samples are taken at most once per
	// period per variant, for the same reason.
	SLOFeedbackPeriod = 30 * time.Second
	// SLOHeadroomStep multiplies the headroom per SLOFeedbackPeriod with a missed attainment,
	// up to SLOHeadroomMax.
	SLOHeadroomStep = 1.1
	SLOHeadroomMax  = 2.5
	// SLOHeadroomDecay multiplies the excess headroom (above 1) per SLOFeedbackPeriod once
	// every target has been met for SLOHeadroomCalm.
	SLOHeadroomDecay = 0.8
	SLOHeadroomCalm  = 3 * SLOFeedbackPeriod
	// SLOHeadroomMin is the floor of the headroom. Below 1 the feedback gives back part of
	// SLOSafety: a model that keeps its attainment with SLOHeadroomQuiet of its error budget
	// to spare lowers the headroom by SLOHeadroomRelease per period, towards the floor. 1 turns
	// this off.
	SLOHeadroomMin     = 1.0
	SLOHeadroomRelease = 0.98
	SLOHeadroomQuiet   = 0.5
	// sloScaleDownBand: a smaller fleet must cover the planned demand / band, so that the fleet
	// does not flap around the exact requirement.
	sloScaleDownBand = 0.85
	// sloWarmPreference is mix.Config.WarmPreference: starting a replica costs 10 % of its price
	// more than keeping one.
	sloWarmPreference = 0.1
	// sloSwapSaving is the least share of its cost a new fleet that moves replicas between
	// variants must save over the last decision's, when that still covers the need (keepMix).
	sloSwapSaving = 0.1
	// maxPool bounds the pool a model's variants are sized in (queueing.Limits.Replicas).
	maxPool = 100000
	// sloLengthCV is the coefficient of variation assumed for prompt and output lengths: the
	// collector reads their means (and the shape of the output lengths, Mix.OutputCDF, which the
	// ITL chunk-miss share uses in place of this); chat traces have about 1.
	sloLengthCV = 1.0
	// sloMixWeight is the weight of one SLOFeedbackPeriod's mean lengths in the smoothed
	// request mix.
	sloMixWeight = 0.2
	// sloMinEstimatorSamples and sloMaxEstimatorMAPE decide when the fitted decode parameters
	// replace the perfParms prior.
	sloMinEstimatorSamples = 10
	sloMaxEstimatorMAPE    = 0.2
	// sloMaxPrefillMAPE is sloMaxEstimatorMAPE for the prefill parameters: a window's mean
	// prefill time also holds the steps its chunks shared with other prompts, so its samples
	// scatter more than the decode ones.
	sloMaxPrefillMAPE = 0.3
	// sloMissSignificance is the chance below which a window's misses are more than a fleet
	// meeting the attainment goal would see (significantMiss).
	sloMissSignificance = 0.05
	// sloEstimatorChangeRun is the estimator's perfmodel.Config.ChangeRun: the run of rejected
	// decode samples read as a change of the replica, which reopens the covariance. A variant's
	// hardware does not change under it (new perfParms restart the estimator), while a surge of
	// load does lengthen the median ITL with prefill stalls the decode model does not deflate: at
	// the default 6 such a run reopened the fit, and the next samples, all at one batch size,
	// fixed an arbitrary slope (α 6.1 → 0 ms, β 0.028 → 0.41 ms on the Azure trace at 6×),
	// which halved the H100's capacity in one cycle.
	sloEstimatorChangeRun = 1000
)

// SLOState is the slo analyzer's memory of one model between cycles. It is a plain value: the
// engine keeps it per model and passes it back (see StatefulAnalyzer).
type SLOState struct {
	// Forecast smooths the model's arrival rate.
	Forecast forecast.Forecaster
	// Headroom (in [SLOAnalyzer.HeadroomMin, HeadroomMax]) multiplies the planned demand; it
	// grows while the observed attainment misses the target and decays back to 1 while it is
	// met, and below 1 while it is met with margin.
	Headroom float64
	// Calm is how long every known attainment target has been met without a miss.
	Calm time.Duration
	// Updated is the time of the analysis that produced this state (zero before the first).
	Updated time.Time
	// Mix is the smoothed request mix (zero until one was read) and MixRequests the decayed
	// number of requests it averages (smoothMix).
	Mix         queueing.Mix
	MixRequests float64
	// WorkRef is the variant whose step-time model defines the forecaster's unit of work, and
	// WorkParams that model as the unit was last computed with (workUnits).
	WorkRef    string
	WorkParams perfmodel.Params
	// Variants holds each variant's fitted performance model, by variant name.
	Variants map[string]SLOVariantState
	// Chosen is the fleet of the last sized decision, replicas by variant name (nil before the
	// first, and after a cycle that was not sized): see keepMix.
	Chosen map[string]int
}

// SLOVariantState is the fitted performance model of one variant.
type SLOVariantState struct {
	// Prior is the perfParms the estimator started from; a changed prior restarts it.
	Prior perfmodel.Params
	// Estimator refines Prior from the model's ITL and running batch.
	Estimator perfmodel.Estimator
	// Sampled is when the estimator last took the variant's decode samples.
	Sampled time.Time
}

// SLOAnalyzer sizes a model's variants so that the planned arrival rate fits the capacity its
// replicas sustain within the model's TTFT and ITL targets; see docs/analyzers.md.
type SLOAnalyzer struct {
	// Safety is the share of queueing.MaxRate a replica is planned to carry; 0 means SLOSafety.
	Safety float64
	// HeadroomMax caps the attainment feedback's headroom; 0 means SLOHeadroomMax.
	HeadroomMax float64
	// HeadroomMin is the headroom's floor, in [0.5, 1]; 0 means SLOHeadroomMin.
	HeadroomMin float64
}

// safety and headroomMax return the tuning in force, the defaults for zero or invalid values.
func (a SLOAnalyzer) safety() float64 {
	if a.Safety > 0 && a.Safety <= 1 {
		return a.Safety
	}
	return SLOSafety
}

func (a SLOAnalyzer) headroomMin() float64 {
	if a.HeadroomMin >= 0.5 && a.HeadroomMin <= 1 {
		return a.HeadroomMin
	}
	return SLOHeadroomMin
}

func (a SLOAnalyzer) headroomMax() float64 {
	if a.HeadroomMax >= 1 && a.HeadroomMax <= 10 {
		return a.HeadroomMax
	}
	return SLOHeadroomMax
}

// Name returns AnalyzerSLO.
func (SLOAnalyzer) Name() string { return AnalyzerSLO }

// Analyze is AnalyzeWithState without memory: no forecast trend, headroom 1, the perfParms.
func (a SLOAnalyzer) Analyze(m ModelState, cfg interfaces.SaturationScalingConfig, now time.Time) Result {
	res, _ := a.AnalyzeWithState(m, cfg, now, nil)
	return res
}

// newSLOState returns an empty state.
func newSLOState() SLOState {
	f, _ := forecast.New(forecast.Config{Horizon: DefaultStartupDelay, BurstK: SLOBurstK}) // a valid constant config
	return SLOState{Forecast: f, Headroom: 1, Variants: map[string]SLOVariantState{}}
}

// copySLOState returns a copy of prev that the analyzer may modify (an empty state when prev is
// not an SLOState, or a corrupted one).
func copySLOState(prev any, headroomMin, headroomMax float64) SLOState {
	st, ok := prev.(SLOState)
	if !ok || !(st.Headroom >= headroomMin && st.Headroom <= headroomMax) {
		return newSLOState()
	}
	st.Variants = maps.Clone(st.Variants)
	if st.Variants == nil {
		st.Variants = map[string]SLOVariantState{}
	}
	return st
}

// sloHorizon is the forecast horizon: the longest start-up delay of vs (DefaultStartupDelay for
// a variant without one), within 1 s .. MaxStartupDelay.
func sloHorizon(vs []VariantState) time.Duration {
	h := time.Duration(0)
	for _, v := range vs {
		d := v.StartupDelay
		if d <= 0 {
			d = DefaultStartupDelay
		}
		h = max(h, min(max(d, time.Second), MaxStartupDelay))
	}
	if h == 0 {
		h = DefaultStartupDelay
	}
	return h
}

// sloVariant is the working state of one variant.
type sloVariant struct {
	st     VariantState
	base   int // current replicas clamped to bounds
	params perfmodel.Params
	fitted bool // the decode params come from the estimator
	// prefillFitted: the prefill params come from the estimator.
	prefillFitted bool
	quality       perfmodel.Quality
	capacity      float64 // planned req/s per replica in the current pool: SLOSafety * MaxRate; 0 when unusable
	why           string  // why capacity is 0, or the MaxRate bound
	note          string  // bound note of base
	// sizing holds what capacityAt needs to size the variant in a pool of another size.
	sizing struct {
		params perfmodel.Params
		mix    queueing.Mix
		limits queueing.Limits
		slo    queueing.SLO
		safety float64
		at     map[int]float64 // capacity by pool size
	}
}

// poolOf is n replicas as a pool size: within [1, maxPool].
func poolOf(n int) int { return min(max(n, 1), maxPool) }

// capacityAt is the planned per-replica capacity of a usable variant in a pool of n replicas
// (the model's replicas over all its variants, behind one router); 0 for an unusable variant.
func (e *sloVariant) capacityAt(n int) float64 {
	if e.capacity <= 0 {
		return 0
	}
	n = poolOf(n)
	if c, ok := e.sizing.at[n]; ok {
		return c
	}
	l := e.sizing.limits
	l.Replicas = n
	c := e.sizing.safety * queueing.MaxRate(e.sizing.params, e.sizing.mix, l, e.sizing.slo).RatePerSec
	e.sizing.at[n] = c
	return c
}

// AnalyzeWithState implements StatefulAnalyzer.
func (a SLOAnalyzer) AnalyzeWithState(m ModelState, cfg interfaces.SaturationScalingConfig, now time.Time, prev any) (Result, any) {
	st := copySLOState(prev, a.headroomMin(), a.headroomMax())
	// periods is the time since the last analysis in SLOFeedbackPeriods: one for the first, and
	// at most ten (a gap in the cycles does not make one cycle move the feedback further).
	periods := 1.0
	if !st.Updated.IsZero() {
		periods = min(max(now.Sub(st.Updated).Seconds()/SLOFeedbackPeriod.Seconds(), 0), 10)
	}
	st.Updated = now
	raw := m
	m, inputNote := sanitizeModel(m)
	met := sanitizeMetrics(m.Metrics)
	vs := sortedVariants(m.Variants)
	names := map[string]bool{}
	for _, v := range vs {
		names[v.Name] = true
	}
	maps.DeleteFunc(st.Variants, func(k string, _ SLOVariantState) bool { return !names[k] })
	// A replica ordered now serves only after its start-up delay: plan that far ahead.
	horizon := sloHorizon(vs)
	st.Forecast.Config.Horizon = horizon

	// Demand and mix.
	lambda, haveRate := 0.0, false
	if met != nil && met.ArrivalSource != "" {
		lambda, haveRate = met.ArrivalRate, true
	}
	var cycleMix queueing.Mix // this cycle's lengths, unsmoothed; zero when none were read
	if met != nil && met.MeanOutputTokens >= 1 {
		cycleMix = queueing.Mix{PromptTokens: min(met.MeanPromptTokens, 1e7), CachedShare: min(met.PrefixCacheHitRate, 0.99),
			OutputTokens: min(met.MeanOutputTokens, 1e7), PromptCV: sloLengthCV, OutputCV: sloLengthCV, OutputCDF: outputCDF(met.OutputLengths)}
		st.Mix, st.MixRequests = smoothMix(st.Mix, st.MixRequests, periods, cycleMix, lambda)
	}
	reason := ""
	switch {
	case m.SLO.IsZero():
		reason = "the model has no SLO (VariantAutoscaling spec.slo or a service class)"
	case met == nil:
		reason = "the collector read no model metrics"
	case !haveRate:
		reason = "no arrival rate was read" + missingNote(met)
	case lambda == 0 && busy(m, met):
		reason = "the arrival rate reads 0 while requests wait or run"
	case st.Mix.OutputTokens < 1:
		reason = "no request lengths were read yet"
	}
	// The model's replicas share one router: each variant is sized in the pool they make.
	currentPool := 0
	for _, v := range vs {
		b, _ := v.clampReplicas(v.CurrentReplicas)
		currentPool += b
	}
	currentPool = poolOf(currentPool)
	var entries []*sloVariant
	if reason == "" {
		entries = st.variants(vs, m, met, a.safety(), currentPool, now)
		usable := false
		for _, e := range entries {
			usable = usable || e.capacity > 0
		}
		if !usable {
			var whys []string
			for _, e := range entries {
				whys = append(whys, e.st.Name+": "+e.why)
			}
			reason = "no variant has a usable per-replica capacity (" + strings.Join(whys, "; ") + ")"
		}
	}
	if reason != "" {
		st.Chosen = nil
		st.updateHeadroom(m.SLO, met, starting(vs), false, periods, a.headroomMin(), a.headroomMax())
		res := CapacityAnalyzer{}.Analyze(raw, cfg, now)
		res.Analyzer = AnalyzerSLO
		res.Summary = "capacity fallback: " + reason + "; " + res.Summary
		for i := range res.Targets {
			res.Targets[i].Reason = "capacity fallback (" + reason + "): " + res.Targets[i].Reason
		}
		return res, st
	}

	// The forecaster follows the work, not the request count (see workUnits): its unit is one
	// replica of the reference variant, converted back to requests of the smoothed mix.
	// Without a unit at the smoothed mix the plan is the current rate alone.
	perCycle, perSmoothed := st.workUnits(entries, cycleMix)
	if perCycle > 0 && perSmoothed > 0 {
		st.Forecast.Observe(now, lambda/perCycle)
		lambda *= perSmoothed / perCycle
	}
	var fc forecast.Forecast
	if perSmoothed > 0 {
		fc = st.Forecast.Forecast(now)
		fc.Level, fc.Expected, fc.Margin, fc.Planned = fc.Level*perSmoothed, fc.Expected*perSmoothed, fc.Margin*perSmoothed, fc.Planned*perSmoothed
	}
	// A miss while replicas start is held against the model only when the ready replicas alone
	// were planned to carry the current demand: the fleet that served the window was then
	// enough by the model, which was optimistic.
	readyCapacity, readyPool := 0.0, 0
	for _, e := range entries {
		readyPool += min(e.st.ready(), e.base)
	}
	for _, e := range entries {
		readyCapacity += float64(min(e.st.ready(), e.base)) * e.capacityAt(readyPool)
	}
	feedback := st.updateHeadroom(m.SLO, met, starting(vs), lambda > 0 && readyCapacity >= lambda, periods, a.headroomMin(), a.headroomMax())
	planned := max(fc.Planned, lambda)
	need := planned * st.Headroom
	res := Result{ModelID: m.ModelID, Namespace: m.Namespace, Analyzer: AnalyzerSLO, AnalyzedAt: now}

	current, currentCost := 0.0, 0.0
	for _, e := range entries {
		current += float64(e.base) * e.capacity
		currentCost += float64(e.base) * e.st.Cost
	}
	up, upPool := solveSLO(entries, need, currentPool)
	chosen, chosenPool, verdict := up, upPool, ""
	switch {
	case greater(need, current):
		verdict = fmt.Sprintf("scale-up: the fleet sustains %s req/s, below the %s needed", num(current), num(need))
		if !up.Feasible {
			verdict += "; every usable variant at maxReplicas still falls short"
		}
	default:
		// The forecast must stay below the smaller fleet over the whole horizon; below 1 the
		// headroom is the feedback's measured calibration of the model, so it scales the check.
		down, downPool := solveSLO(entries, need/sloScaleDownBand, currentPool)
		if down.Feasible && down.Cost < currentCost-relTolerance*max(1, currentCost) && (planned == 0 || fc.ScaleDownAllowed(down.Capacity/min(st.Headroom, 1))) {
			chosen, chosenPool = down, downPool
			verdict = fmt.Sprintf("scale-down: %s req/s would still cover the %s needed with %s %% spare", num(down.Capacity), num(need),
				num(100*(1/sloScaleDownBand-1)))
		} else {
			chosen, chosenPool = mix.Result{Replicas: make([]int, len(entries)), Capacity: current, Cost: currentCost, Objective: currentCost, Feasible: true}, currentPool
			for i, e := range entries {
				chosen.Replicas[i] = e.base
			}
			verdict = fmt.Sprintf("no change: the fleet sustains %s req/s for the %s needed and no cheaper fleet keeps %s %% spare",
				num(current), num(need), num(100*(1/sloScaleDownBand-1)))
		}
	}
	if kept, ok := st.keepMix(entries, chosen, need); ok {
		chosen, chosenPool = kept, 0
		for _, x := range kept.Replicas {
			chosenPool += x
		}
		chosenPool = poolOf(chosenPool)
		verdict += fmt.Sprintf("; the last decision's fleet is kept: it still covers the need and the new one would move replicas between variants to save under %s %%",
			num(100*sloSwapSaving))
	}
	targets := chosen.Replicas
	ensureOneReplica(entries, targets)
	st.Chosen = map[string]int{}
	for i, e := range entries {
		st.Chosen[e.st.Name] = targets[i]
	}
	res.Breakdown = newSLOBreakdown(lambda, met.ArrivalSource, horizon, fc, planned, st, feedback, need, current, chosen, verdict, entries, targets)

	res.Summary = fmt.Sprintf("%s; arrival %s req/s (%s), planned %s over %s (level %s, margin %s) x headroom %s; %s",
		verdict, num(lambda), met.ArrivalSource, num(planned), horizon, num(fc.Level), num(fc.Margin), num(st.Headroom), feedback)
	if inputNote != "" {
		res.Summary += "; inputs: " + inputNote
	}
	for i, e := range entries {
		t := targets[i]
		var r string
		if e.capacity > 0 {
			src := "perfParms"
			switch {
			case e.fitted && e.prefillFitted:
				src = "fitted"
			case e.fitted:
				src = "fitted decode, perfParms prefill"
			case e.prefillFitted:
				src = "perfParms decode, fitted prefill"
			}
			r = fmt.Sprintf("demand %s req/s, planned %s x headroom %s = %s req/s; one replica sustains %s req/s in a pool of %d (%s x MaxRate, %s, %s params); %d -> %d replicas",
				num(lambda), num(planned), num(st.Headroom), num(need), num(e.capacityAt(chosenPool)), chosenPool, num(a.safety()), e.why, src, e.base, t)
		} else {
			r = fmt.Sprintf("not sized: %s; kept at %d replicas", e.why, t)
		}
		if e.note != "" {
			r += "; " + e.note
		}
		res.Targets = append(res.Targets, VariantTarget{Variant: e.st.Name, Accelerator: e.st.Accelerator, Current: e.st.CurrentReplicas,
			Desired: e.st.DesiredReplicas, Target: t, Action: interfaces.ActionFor(e.st.CurrentReplicas, t), Reason: r})
	}
	return res, st
}

// updateHeadroom applies the attainment feedback and describes it.
// A miss while replicas are still starting is not held against the plan, the fleet that was
// planned not serving yet, unless readyCovers: the ready replicas alone were planned to carry
// the demand, so the miss is the model's.
func (st *SLOState) updateHeadroom(slo interfaces.SLOTargets, met *ModelMetrics, starting int, readyCovers bool, periods, headroomMin, headroomMax float64) string {
	if slo.IsZero() || met == nil {
		return "no attainment feedback"
	}
	goal := slo.Attainment
	if !(goal >= 0.5 && goal < 1) {
		goal = interfaces.DefaultSLOAttainment
	}
	var missed, known []string
	quiet := true // every known attainment keeps SLOHeadroomQuiet of the error budget
	// The ITL target is on a request's mean ITL: the per-request TPOT histogram measures it;
	// the per-token ITL histogram, where there is no other, counts each slow token.
	itl := itlSLI(met)
	for _, s := range []struct {
		name string
		sli  LatencySLI
	}{{"TTFT", met.TTFTAttainment}, {"ITL", itl}} {
		if !s.sli.Known || s.sli.Target <= 0 || !(s.sli.Requests > 0) {
			continue
		}
		known = append(known, fmt.Sprintf("%s %s", s.name, num(s.sli.Attainment)))
		if significantMiss(s.sli, goal, met.Window) {
			missed = append(missed, s.name)
		}
		quiet = quiet && 1-s.sli.Attainment <= SLOHeadroomQuiet*(1-goal)
	}
	switch {
	case len(known) == 0:
		return "no attainment observed"
	case len(missed) > 0 && starting > 0 && !readyCovers:
		st.Calm = 0
		return fmt.Sprintf("attainment %s misses %s while %d replica(s) start: headroom kept", strings.Join(known, ", "), num(goal), starting)
	case len(missed) > 0:
		st.Calm = 0
		st.Headroom = min(st.Headroom*math.Pow(SLOHeadroomStep, periods), headroomMax)
		if starting > 0 {
			return fmt.Sprintf("attainment %s misses %s while %d replica(s) start, but the ready ones were planned to carry the demand: headroom raised",
				strings.Join(known, ", "), num(goal), starting)
		}
		return fmt.Sprintf("attainment %s misses %s: headroom raised", strings.Join(known, ", "), num(goal))
	default:
		before := st.Calm
		st.Calm += time.Duration(periods * float64(SLOFeedbackPeriod))
		// Only the calm time past SLOHeadroomCalm releases headroom.
		periods = max(st.Calm-max(before, SLOHeadroomCalm), 0).Seconds() / SLOFeedbackPeriod.Seconds()
		if periods > 0 && st.Headroom > 1 {
			st.Headroom = max(1+(st.Headroom-1)*math.Pow(SLOHeadroomDecay, periods), 1)
			if st.Headroom < 1.01 {
				st.Headroom = 1
			}
			return fmt.Sprintf("attainment %s meets %s for %s: headroom lowered", strings.Join(known, ", "), num(goal), st.Calm.Round(time.Second))
		}
		if periods > 0 && quiet && st.Headroom > headroomMin {
			st.Headroom = max(st.Headroom*math.Pow(SLOHeadroomRelease, periods), headroomMin)
			return fmt.Sprintf("attainment %s beats %s with margin for %s: headroom lowered", strings.Join(known, ", "), num(goal), st.Calm.Round(time.Second))
		}
		return fmt.Sprintf("attainment %s meets %s", strings.Join(known, ", "), num(goal))
	}
}

// significantMiss reports whether sli misses goal by more than chance: a fleet that meets the
// goal exactly still misses it in about half of the windows, and at a few requests a window one
// slow request is a whole percent. The window's misses are held against the goal's allowance,
// a Poisson count of mean (1 − goal) × the window's requests: a miss counts when a fleet meeting
// the goal would see as many misses with probability under sloMissSignificance. Without a request
// count (or under one request a window) it is the plain comparison.
func significantMiss(sli LatencySLI, goal float64, window time.Duration) bool {
	if !(sli.Attainment < goal) {
		return false
	}
	n := sli.Requests * window.Seconds()
	if !(n >= 1) || math.IsInf(n, 0) {
		return true
	}
	misses := math.Round((1 - sli.Attainment) * n)
	return queueing.PoissonTail(misses, (1-goal)*n) < sloMissSignificance
}

// smoothMix folds a cycle's request mix into the running one: the mean lengths of the recent
// requests, each period's weighing as many as it saw (rate × SLOFeedbackPeriod × periods) and
// the past decaying by 1 − sloMixWeight per period. At a steady rate a cycle's weight is
// sloMixWeight per period; a window's mean lengths swing with a few long requests, and each
// swing would change every variant's capacity and the cheapest mix (the engine's stabilisation
// would then keep the union of the mixes chosen in its window). A handful of requests at the
// end of a burst, with lengths of their own, barely move it. It returns the mix and the decayed
// request count; a first mix, or one after a long quiet, is taken as read.
func smoothMix(prev queueing.Mix, prevRequests, periods float64, cur queueing.Mix, rate float64) (queueing.Mix, float64) {
	seen := max(rate, 0) * SLOFeedbackPeriod.Seconds() * periods
	past := prevRequests * math.Pow(1-sloMixWeight, periods)
	if !(prev.OutputTokens >= 1) || !(past > 0) {
		return cur, seen
	}
	total := past + seen
	if !(total > 0) || math.IsInf(total, 0) {
		return prev, past
	}
	w := seen / total
	cur.PromptTokens = prev.PromptTokens + w*(cur.PromptTokens-prev.PromptTokens)
	cur.OutputTokens = prev.OutputTokens + w*(cur.OutputTokens-prev.OutputTokens)
	cur.CachedShare = prev.CachedShare + w*(cur.CachedShare-prev.CachedShare)
	if queueing.ValidOutputCDF(prev.OutputCDF) {
		if queueing.ValidOutputCDF(cur.OutputCDF) {
			for i := range cur.OutputCDF {
				cur.OutputCDF[i] = prev.OutputCDF[i] + w*(cur.OutputCDF[i]-prev.OutputCDF[i])
			}
		} else {
			cur.OutputCDF = prev.OutputCDF // a window without the histogram keeps the last shape
		}
	}
	return cur, total
}

// outputCDF is the output-length histogram as queueing.Mix.OutputCDF; zero (not used) when the
// histogram holds no request.
func outputCDF(h Histogram) [len(queueing.OutputBounds)]float64 {
	var c [len(queueing.OutputBounds)]float64
	prev := 0.0
	for i, b := range queueing.OutputBounds {
		v, ok := h.FractionBelow(b)
		if !ok || !(v >= 0) {
			return [len(queueing.OutputBounds)]float64{}
		}
		prev = min(max(v, prev), 1)
		c[i] = prev
	}
	return c
}

// itlSLI is the attainment of the ITL target: per request when the per-request TPOT histogram
// was read, else per token.
func itlSLI(met *ModelMetrics) LatencySLI {
	if s := met.RequestTPOTAttainment; s.Known && s.Requests > 0 {
		return s
	}
	return met.ITLAttainment
}

// queueingSLO converts the model's targets for the queueing model.
func queueingSLO(t interfaces.SLOTargets) queueing.SLO {
	slo := queueing.SLO{TTFTMs: float64(t.TTFT) / float64(time.Millisecond), ITLMs: float64(t.ITL) / float64(time.Millisecond)}
	if a := t.Attainment; a >= 0.5 {
		slo.Attainment = min(a, 0.9999) // 0 or out of range: queueing's default
	}
	return slo
}

// workUnits returns how many requests per second of the cycle's mix and of the smoothed mix
// make one second of work per second for one replica of the reference variant, by the step-time
// model it is sized with (queueing.WorkMs; the first usable variant by name): the forecaster
// observes λ / perCycle, the load in replica-seconds per second, and its plan converts back to requests of the smoothed mix, at which the capacities are computed, by
// perSmoothed. Prompts that lengthen at a steady request rate are then a rising load whose trend
// the plan extrapolates over the start-up horizon, where the request count shows none. The unit
// is linear in the lengths: a unit from the SLO-bound MaxRate swung fivefold between cycles of
// short and of long outputs at the same work. A rate is 0 when the model finds none (no usable
// variant, or invalid lengths): without perCycle the cycle is not observed, without perSmoothed
// the forecast cannot be converted. A new reference variant restarts the forecaster, whose
// history is in the old unit.
func (st *SLOState) workUnits(entries []*sloVariant, cycle queueing.Mix) (perCycle, perSmoothed float64) {
	var ref *sloVariant
	for _, e := range entries {
		if e.capacity > 0 {
			ref = e
			break
		}
	}
	if ref == nil {
		return 0, 0
	}
	if st.WorkRef != ref.st.Name {
		h := st.Forecast.Config.Horizon
		st.Forecast = newSLOState().Forecast
		st.Forecast.Config.Horizon = h
		st.WorkRef = ref.st.Name
	}
	if !(cycle.OutputTokens >= 1) {
		cycle = st.Mix
	}
	// The unit is the reference's model as the analysis sizes it: the perfParms until the fit is
	// trusted, then the fit. When the model moves the history is restated in the new unit, so a
	// better fit is not read as a change of demand.
	p := ref.params
	if st.WorkParams != p {
		if old, cur := perWorkSecond(st.WorkParams, st.Mix), perWorkSecond(p, st.Mix); old > 0 && cur > 0 {
			st.Forecast.Rescale(old / cur)
		}
		st.WorkParams = p
	}
	return perWorkSecond(p, cycle), perWorkSecond(p, st.Mix)
}

// perWorkSecond is the request rate of mix m that costs one replica-second per second; 0 when
// WorkMs finds no work.
func perWorkSecond(p perfmodel.Params, m queueing.Mix) float64 {
	if w := queueing.WorkMs(p, m); w > 0 {
		return 1000 / w
	}
	return 0
}

// variants computes each variant's planned per-replica capacity, feeding the estimator first.
// The variants are sized in a pool of pool replicas.
func (st *SLOState) variants(vs []VariantState, m ModelState, met *ModelMetrics, safety float64, pool int, now time.Time) []*sloVariant {
	slo := queueingSLO(m.SLO)
	// The collector's ITL histogram is the model's: it tells one variant's decode speed only
	// when that variant runs every request.
	serving := -1
	for i, v := range vs {
		if runningOf(v) > 0 {
			if serving >= 0 {
				serving = -2
				break
			}
			serving = i
		}
	}
	var out []*sloVariant
	for i, v := range vs {
		e := &sloVariant{st: v}
		e.base, e.note = v.clampReplicas(v.CurrentReplicas)
		prior := perfmodel.Params{AlphaMs: min(v.DecodeAlphaMs, perfmodel.MaxAlphaMs), BetaMs: min(v.DecodeBetaMs, perfmodel.MaxBetaMs),
			GammaMs: min(v.PrefillGammaMs, perfmodel.MaxGammaMs), DeltaMs: min(v.PrefillDeltaMs, perfmodel.MaxDeltaMs)}
		out = append(out, e)
		if prior.AlphaMs+prior.BetaMs <= 0 {
			e.why = "no perfParms decode parameters"
			continue
		}
		vst, ok := st.Variants[v.Name]
		if !ok || vst.Prior != prior {
			est, err := perfmodel.NewEstimator(prior, perfmodel.Config{ChangeRun: sloEstimatorChangeRun, FitSuperlinear: true})
			if err != nil {
				e.why = "perfParms out of range: " + err.Error()
				continue
			}
			vst = SLOVariantState{Prior: prior, Estimator: est}
		}
		// Each pod's own (mean batch, median ITL) over the window is a decode sample of its
		// variant; where the collector read none, the model's histogram stands in when one
		// variant serves every request. At most once per SLOFeedbackPeriod: shorter cycles
		// re-read overlapping windows, and the estimator's memory counts samples.
		sample := vst.Sampled.IsZero() || now.Sub(vst.Sampled) >= SLOFeedbackPeriod || now.Before(vst.Sampled)
		if sample {
			vst.Sampled = now
		}
		podSamples := 0
		for _, p := range v.Pods {
			if !sample {
				break
			}
			if b, itl := p.MeanRunningRequests, p.ITLMedianSeconds; b >= 1 && b <= maxPodRequests && itl > 0 && itl <= 60 {
				vst.Estimator.ObserveDecode(perfmodel.DecodeSample{Batch: b, ITLMs: itl * 1000})
				podSamples++
			}
			observePrefill(&vst.Estimator, p)
		}
		if sample && podSamples == 0 && i == serving && met.ITL.Total() > 0 {
			if p50, ok := met.ITL.Quantile(0.5); ok && p50 > 0 {
				n := 0
				for _, p := range v.Pods {
					if p.RunningRequests > 0 {
						n++
					}
				}
				// The median token is a plain decode step (prefill stalls hit the tail).
				vst.Estimator.ObserveDecode(perfmodel.DecodeSample{Batch: runningOf(v) / float64(n), ITLMs: p50 * 1000})
			}
		}
		st.Variants[v.Name] = vst
		e.params = prior
		q := vst.Estimator.Quality()
		e.quality = q
		fit := vst.Estimator.Params()
		if q.DecodeSamples >= sloMinEstimatorSamples && q.DecodeMAPE <= sloMaxEstimatorMAPE {
			e.params.AlphaMs, e.params.BetaMs, e.params.EpsilonMs = fit.AlphaMs, fit.BetaMs, fit.EpsilonMs
			e.fitted = true
		}
		if q.PrefillSamples >= sloMinEstimatorSamples && q.PrefillMAPE <= sloMaxPrefillMAPE {
			e.params.GammaMs, e.params.DeltaMs, e.params.ZetaMs = fit.GammaMs, fit.DeltaMs, fit.ZetaMs
			e.prefillFitted = true
		}
		limits := queueing.Limits{MaxBatch: v.MaxBatch, KVTokens: v.KvCacheTokens, Replicas: pool}
		c := queueing.MaxRate(e.params, st.Mix, limits, slo)
		if !c.Feasible || !(c.RatePerSec > 0) {
			// queueing says "Infeasible: ..."; reasons avoid the word (it reads as a non-finite number).
			e.why = "the queueing model finds no feasible rate: " + strings.TrimPrefix(strings.TrimSuffix(c.Reason, "."), "Infeasible: ")
			continue
		}
		e.capacity = safety * c.RatePerSec
		e.why = fmt.Sprintf("bound by %s", c.Bound)
		e.sizing.params, e.sizing.mix, e.sizing.limits, e.sizing.slo, e.sizing.safety = e.params, st.Mix, limits, slo, safety
		e.sizing.at = map[int]float64{pool: e.capacity}
	}
	return out
}

// observePrefill feeds the estimator the pod's prefill point: its mean prompt length and mean
// prefill time (first scheduling to first token) over the window. The measured time is a
// latency, not the replica's work: a prompt shares its steps with the prompts prefilling beside
// it (chunked prefill splits each step's token budget among them, as processor sharing does)
// and with the running batch's decodes. Under processor sharing a prompt's time is its own work
// / (1 − ρ), with ρ the pod's prefill utilisation, the finish rate × the work; so the work is the
// measured time / (1 + finish rate × measured time), less one decode step at the pod's mean
// batch. The regressor of ζ is the mean square of the prompts, read as the queueing model reads
// it (coefficient of variation sloLengthCV), so that the fitted ζ means what the model
// multiplies it with.
func observePrefill(est *perfmodel.Estimator, p PodMetrics) {
	prompt, secs, rate := p.MeanPromptTokens, p.MeanPrefillSeconds, p.FinishRate
	if !(prompt >= 1 && prompt <= 1e7 && secs > 0 && secs <= 600 && rate >= 0 && rate <= maxPodRequests) {
		return
	}
	cur := est.Params()
	ms := secs*1000/(1+rate*secs) - cur.DecodeStepMs(max(p.MeanRunningRequests, 1), 0)
	if !(ms > 0) {
		return
	}
	est.ObservePrefill(perfmodel.PrefillSample{PromptTokens: prompt, PrefillMs: ms, PromptSquare: prompt * prompt * (1 + sloLengthCV*sloLengthCV)})
}

// solveSLO returns the cheapest fleet for demand with every variant sized in the pool that
// fleet makes (capacityAt): a larger pool sustains more per replica, since its router keeps
// more prompts off busy replicas, so the replicas a fleet needs fall as its pool grows. It
// finds the smallest pool n whose solution at capacities sized for n has at most n replicas (a
// gallop from start, then bisection), and returns that solution filled to n replicas; when the
// largest pool allowed cannot cover demand, the solution at it. Unusable variants stay at their base and count in the pool. The solver may
// move replicas between variants in either direction (the warm preference prices starting one);
// constraining a scale-up to remove nothing, or a scale-down to start nothing, measured worse on
// the bench matrix (docs/analyzers.md).
func solveSLO(entries []*sloVariant, demand float64, start int) (mix.Result, int) {
	largest := 0
	for _, e := range entries {
		_, hi := e.st.Bounds()
		if e.capacity <= 0 {
			hi = e.base
		}
		largest += hi
	}
	largest = poolOf(largest)
	solved := map[int]mix.Result{}
	at := func(n int) mix.Result {
		if r, ok := solved[n]; ok {
			return r
		}
		in := make([]mix.Variant, len(entries))
		for i, e := range entries {
			lo, hi := e.st.Bounds()
			if e.capacity <= 0 {
				lo, hi = e.base, e.base
			}
			in[i] = mix.Variant{Cost: e.st.Cost, Capacity: e.capacityAt(n), Current: e.base, Min: lo, Max: hi}
		}
		r := mix.Solve(in, demand, mix.Config{WarmPreference: sloWarmPreference})
		solved[n] = r
		return r
	}
	fits := func(n int) bool {
		r, total := at(n), 0
		for _, x := range r.Replicas {
			total += x
		}
		return r.Feasible && total <= n
	}
	// A gallop from start, the current pool, brackets the answer in (lo, hi], fits(hi) and
	// !fits(lo) (lo 0 for none): fleets change little from one cycle to the next, so the answer
	// is usually start or next to it, two solves (the capacities at start are computed already).
	n0 := min(max(start, 1), largest)
	lo, hi, step := 0, n0, 1
	if fits(n0) {
		for next := hi - step; next >= 1; next = hi - step {
			if !fits(next) {
				lo = next
				break
			}
			hi, step = next, step*2
		}
	} else {
		for lo = n0; ; step *= 2 {
			next := min(lo+step, largest)
			if fits(next) {
				hi = next
				break
			}
			if next == largest {
				return at(largest), largest // even the largest pool falls short
			}
			lo = next
		}
	}
	for hi-lo > 1 {
		if mid := lo + (hi-lo)/2; fits(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	best := at(hi)
	// best has at most hi replicas at capacities sized for a pool of hi, and a pool of hi − 1
	// needs more than hi − 1: fewer than hi replicas would not sustain the demand in the pool
	// they make, so the pool is filled to hi with the cheapest replicas that may be added.
	total := 0
	for _, x := range best.Replicas {
		total += x
	}
	for ; total < hi; total++ {
		pick := -1
		for i, e := range entries {
			if _, upper := e.st.Bounds(); e.capacity <= 0 || best.Replicas[i] >= upper {
				continue
			}
			if pick < 0 || e.st.Cost < entries[pick].st.Cost {
				pick = i
			}
		}
		if pick < 0 {
			break
		}
		best.Replicas[pick]++
		best.Cost += entries[pick].st.Cost
		best.Objective += entries[pick].st.Cost
		best.Capacity += entries[pick].capacityAt(hi)
	}
	return best, hi
}

// keepMix returns the last decision's fleet instead of chosen when chosen would move replicas
// between variants (some up, some down) to save less than sloSwapSaving of the last fleet's
// cost, and the last fleet, sized in its own pool, still covers need. Between fleets of nearly
// the same cost the cheapest integer mix can alternate from one cycle to the next (a small
// change of the need, or of the pool the variants are sized in, tips it); every swap starts
// replicas, and a per-variant scale-down stabilisation (the engine's, and any HPA's) then holds
// the union of both fleets for its window.
func (st *SLOState) keepMix(entries []*sloVariant, chosen mix.Result, need float64) (mix.Result, bool) {
	if st.Chosen == nil || len(chosen.Replicas) != len(entries) {
		return chosen, false
	}
	prev := mix.Result{Replicas: make([]int, len(entries)), Feasible: true}
	up, down := false, false
	pool := 0
	for i, e := range entries {
		n, ok := st.Chosen[e.st.Name]
		if !ok {
			return chosen, false
		}
		lo, hi := e.st.Bounds()
		if e.capacity <= 0 {
			lo, hi = e.base, e.base
		}
		n = min(max(n, lo), hi)
		prev.Replicas[i] = n
		pool += n
		up = up || chosen.Replicas[i] > n
		down = down || chosen.Replicas[i] < n
	}
	if !up || !down {
		return chosen, false
	}
	pool = poolOf(pool)
	for i, e := range entries {
		prev.Capacity += float64(prev.Replicas[i]) * e.capacityAt(pool)
		prev.Cost += float64(prev.Replicas[i]) * e.st.Cost
	}
	prev.Objective = prev.Cost
	if greater(need, prev.Capacity) || chosen.Cost <= prev.Cost*(1-sloSwapSaving) {
		return chosen, false
	}
	return prev, true
}

// ensureOneReplica keeps one replica of the model when every target is 0 (minReplicas 0
// everywhere and no planned demand): the cheapest usable variant that may run one keeps it.
func ensureOneReplica(entries []*sloVariant, targets []int) {
	for _, t := range targets {
		if t > 0 {
			return
		}
	}
	best := -1
	for i, e := range entries {
		if _, hi := e.st.Bounds(); hi < 1 || e.capacity <= 0 {
			continue
		}
		if best < 0 || e.st.Cost < entries[best].st.Cost {
			best = i
		}
	}
	if best >= 0 {
		targets[best] = 1
	}
}

// starting is the number of replicas of vs that are not ready yet.
func starting(vs []VariantState) int {
	n := 0
	for _, v := range vs {
		n += max(v.CurrentReplicas-v.ready(), 0)
	}
	return n
}

// runningOf is the variant's running requests over its reporting pods.
func runningOf(v VariantState) float64 {
	var r float64
	for _, p := range v.Pods {
		r += p.RunningRequests
	}
	return r
}

// busy reports whether any pod of m or the model's metrics show requests.
func busy(m ModelState, met *ModelMetrics) bool {
	if met.Waiting > 0 {
		return true
	}
	for _, v := range m.Variants {
		for _, p := range v.Pods {
			if p.RunningRequests > 0 || p.QueueLength > 0 {
				return true
			}
		}
	}
	return false
}

// missingNote lists the collector's missing signals in a clause.
func missingNote(met *ModelMetrics) string {
	if len(met.Missing) == 0 {
		return ""
	}
	return " (" + strings.Join(met.Missing, "; ") + ")"
}

// sanitizeMetrics returns a copy of met with every number finite and in range (nil stays nil).
// The collector never sends NaN, but the analyzer does not rely on it.
func sanitizeMetrics(met *ModelMetrics) *ModelMetrics {
	if met == nil {
		return nil
	}
	c := *met
	for _, p := range []*float64{&c.ArrivalRate, &c.MeanPromptTokens, &c.MeanOutputTokens, &c.Waiting} {
		*p = bounded(*p, 1e9)
	}
	c.PrefixCacheHitRate = bounded(c.PrefixCacheHitRate, 1)
	for _, s := range []*LatencySLI{&c.TTFTAttainment, &c.ITLAttainment, &c.RequestTPOTAttainment} {
		s.Attainment = bounded(s.Attainment, 1)
		s.Requests = bounded(s.Requests, 1e9)
	}
	if h, ok := NewHistogram(c.ITL.Buckets); ok {
		c.ITL = h
	} else {
		c.ITL = Histogram{}
	}
	if math.IsNaN(c.ArrivalRate) {
		c.ArrivalRate = 0
	}
	return &c
}
