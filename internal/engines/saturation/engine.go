package saturation

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// VASource lists the VariantAutoscalings to decide for; *common.VACache implements it.
type VASource interface {
	ReadyVAs() []wvav1alpha1.VariantAutoscaling
}

// Engine is the saturation engine. Build it with New.
type Engine struct {
	source    collector.Source
	vas       VASource
	config    *common.GlobalConfig
	decisions *common.InternalDecisionCache
	notify    *notifier
	clock     clock.WithTicker
	analyzer  analysis.Analyzer
	registry  prometheus.Registerer
	metrics   *engineMetrics
	stab      *stabilizer
	// kvTokens remembers each variant's per-replica KV capacity, which only running pods report,
	// so that a variant scaled to zero keeps its place in the cheapest-per-capacity order.
	kvTokens map[types.NamespacedName]float64
	// sloSeries are the variants whose slo-model metrics are published.
	sloSeries map[types.NamespacedName]bool
	// startup remembers each variant's learned start-up delay (see learnStartup), kept while
	// no pod of the variant has become ready recently.
	startup map[types.NamespacedName]time.Duration
	// analyzerState is the memory a StatefulAnalyzer returned for each model in the last cycle
	// (forecaster, fitted models, feedback), handed back to it in the next.
	analyzerState map[modelKey]any
	// ready, when set, is closed once the engine's inputs are loaded; Start waits for it, at
	// most readyTimeout, before the first cycle.
	ready        <-chan struct{}
	readyTimeout time.Duration
	// gpus, when set, is the GPU inventory the limiter shares among variants (see limit.go).
	gpus GPUInventory
	// zero is the scale-to-zero memory per model, shared with the FromZero loop (see zero.go).
	zero zeroMemory
	// resync is the period within which every VariantAutoscaling is announced to the
	// controller even when its decision did not change (0: never); lastCycle is when the
	// previous cycle collected (see resyncDue).
	resync    time.Duration
	lastCycle time.Time
}

// Option configures optional dependencies of the Engine.
type Option func(*Engine)

// WithClock sets the clock the engine ticks on and stamps decisions with (default: real time).
func WithClock(c clock.WithTicker) Option { return func(e *Engine) { e.clock = c } }

// WithAnalyzer sets the saturation analyzer (default: analysis.DefaultAnalyzer).
func WithAnalyzer(a analysis.Analyzer) Option { return func(e *Engine) { e.analyzer = a } }

// WithScaleDownStabilization sets how long a lower target must be recommended before the engine
// scales down (0 disables it) and the largest share of a variant's replicas one cycle removes
// (0 disables the limit). Defaults: DefaultScaleDownStabilization, DefaultScaleDownStepFraction.
func WithScaleDownStabilization(window time.Duration, stepFraction float64) Option {
	return func(e *Engine) { e.stab = newStabilizer(window, stepFraction) }
}

// DefaultReadinessTimeout is how long Start waits at most for the readiness signal before it
// runs the first cycle with whatever is loaded.
const DefaultReadinessTimeout = 30 * time.Second

// WithReadiness makes Start wait, before its first cycle, until ready is closed (the caches
// and the configuration are loaded) or timeout passes (non-positive: DefaultReadinessTimeout),
// whichever comes first. Without it the first cycle runs at once.
func WithReadiness(ready <-chan struct{}, timeout time.Duration) Option {
	if timeout <= 0 {
		timeout = DefaultReadinessTimeout
	}
	return func(e *Engine) { e.ready, e.readyTimeout = ready, timeout }
}

// DefaultResyncPeriod is the period within which the engine asks the controller to reconcile
// every VariantAutoscaling whose decision did not change (see WithResync).
const DefaultResyncPeriod = 5 * time.Minute

// WithResync sets the resync period (default DefaultResyncPeriod; 0 disables the resync).
// The engine asks for a reconcile of a VariantAutoscaling when its decision's outcome changed
// (common.SameOutcome), and once within every period otherwise, each VariantAutoscaling at a
// phase of the period of its own (a hash of its key), so that the resyncs of a fleet are
// spread over the period's cycles instead of falling in one.
func WithResync(period time.Duration) Option {
	return func(e *Engine) { e.resync = max(period, 0) }
}

// WithRegisterer registers the engine's self-metrics on reg (default: not registered).
func WithRegisterer(reg prometheus.Registerer) Option { return func(e *Engine) { e.registry = reg } }

// New returns an engine that observes variants through source, enumerates VariantAutoscalings
// from vas, reads thresholds and the interval from cfg, stores decisions in decisions and
// announces them on trigger.
func New(source collector.Source, vas VASource, cfg *common.GlobalConfig, decisions *common.InternalDecisionCache,
	trigger chan<- event.GenericEvent, opts ...Option) (*Engine, error) {
	e := &Engine{source: source, vas: vas, config: cfg, decisions: decisions, clock: clock.RealClock{},
		stab: newStabilizer(DefaultScaleDownStabilization, DefaultScaleDownStepFraction), resync: DefaultResyncPeriod,
		kvTokens: map[types.NamespacedName]float64{}, startup: map[types.NamespacedName]time.Duration{}, sloSeries: map[types.NamespacedName]bool{},
		analyzerState: map[modelKey]any{}, zero: zeroMemory{models: map[modelKey]*zeroState{}}}
	for _, o := range opts {
		o(e)
	}
	if e.analyzer == nil {
		a, err := analysis.New(analysis.DefaultAnalyzer)
		if err != nil {
			return nil, err
		}
		e.analyzer = a
	}
	m, err := newEngineMetrics(e.registry)
	if err != nil {
		return nil, fmt.Errorf("registering saturation engine metrics: %w", err)
	}
	e.metrics = m
	e.notify = newNotifier(trigger, m)
	return e, nil
}

// NeedLeaderElection makes the engine run on the elected leader only.
func (e *Engine) NeedLeaderElection() bool { return true }

// Start waits until the engine's inputs are loaded (see WithReadiness), then runs a cycle every
// interval until ctx ends. The interval is counted from the start of a cycle and re-read while
// waiting: a configuration change re-arms the wait at once, so shortening a long interval takes
// effect without waiting the long one out. A failed cycle is logged and the loop goes on.
// Start also feeds deferred reconcile triggers into the trigger channel, and returns only
// after that has stopped.
func (e *Engine) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("saturation-engine")
	ctx = log.IntoContext(ctx, logger)
	logger.Info("Starting saturation engine", "analyzer", e.analyzer.Name())
	var wg sync.WaitGroup
	wg.Go(func() { e.notify.run(ctx) })
	defer wg.Wait()

	if e.awaitReady(ctx) {
		for {
			// Taken before the cycle reads the interval, so no change can go unnoticed.
			changed := e.config.OptimizationIntervalChanged()
			start := e.clock.Now()
			if err := e.RunOnce(ctx); err != nil {
				logger.Error(err, "Saturation engine cycle failed")
			}
			if !e.waitNextCycle(ctx, start, changed) {
				break
			}
		}
	}
	logger.Info("Stopping saturation engine")
	return nil
}

// modelKey groups variants: a model is scaled as one fleet per namespace.
type modelKey struct{ namespace, modelID string }

// RunOnce does one full cycle: ready VariantAutoscalings from the VA cache, grouped by model
// and namespace, observed through the source in one collection, analysed per model, and one
// decision per VariantAutoscaling stored. The controller is asked to reconcile only the
// VariantAutoscalings whose decision's outcome changed, and those whose resync falls in this
// cycle (see WithResync). Cycles must not overlap: Start runs them one after another, and so
// must any other caller.
func (e *Engine) RunOnce(ctx context.Context) error {
	logger := log.FromContext(ctx)
	start := e.clock.Now()
	defer func() {
		e.metrics.cycleDuration.WithLabelValues(e.analyzer.Name()).Observe(e.clock.Since(start).Seconds())
	}()

	vas := e.vas.ReadyVAs()
	if len(vas) == 0 {
		logger.V(4).Info("No VariantAutoscalings to decide for")
		return nil
	}
	groups := map[modelKey][]*wvav1alpha1.VariantAutoscaling{}
	targets := make([]collector.Target, 0, len(vas))
	for i := range vas {
		va := &vas[i]
		k := modelKey{va.Namespace, va.Spec.ModelID}
		groups[k] = append(groups[k], va)
		targets = append(targets, collector.Target{VariantAutoscaling: types.NamespacedName{Namespace: va.Namespace, Name: va.Name},
			ModelID: va.Spec.ModelID, Deployment: va.Spec.ScaleTargetRef.Name})
	}
	slos := make(map[modelKey]interfaces.SLOTargets, len(groups))
	for k, g := range groups {
		slos[k] = modelSLO(e.config, k, g)
	}
	for i := range targets {
		targets[i].SLO = slos[modelKey{targets[i].VariantAutoscaling.Namespace, targets[i].ModelID}]
	}

	now := e.clock.Now()
	snap, collectErr := e.source.Collect(ctx, targets, now)
	e.metrics.queriesPerCycle.Set(float64(snap.Queries))
	if collectErr != nil {
		e.metrics.collectionErrors.Inc()
		logger.Error(collectErr, "Collecting metrics failed; previous decisions stand", "variants", len(vas))
	}

	satConfigs := e.config.GetSaturationConfig()
	e.forgetVanished(targets)
	for k := range e.analyzerState {
		if _, ok := groups[k]; !ok {
			delete(e.analyzerState, k) // the model has no VariantAutoscaling left
			if e.metrics != nil {
				e.metrics.sloHeadroom.DeleteLabelValues(k.namespace, k.modelID)
			}
		}
	}
	e.forgetZero(groups)
	var all []interfaces.VariantDecision
	for _, k := range sortedKeys(groups) {
		var decisions []interfaces.VariantDecision
		if collectErr != nil {
			decisions = e.holdAll(groups[k], collector.Status{Reason: collectErrorReason(collectErr),
				Message: fmt.Sprintf("Collecting metrics failed: %v", collectErr)}, now)
		} else {
			cfg, ok := interfaces.ConfigFor(satConfigs, k.modelID, k.namespace)
			if !ok {
				cfg = interfaces.DefaultSaturationScalingConfig()
			}
			decisions = e.decideModel(k, groups[k], snap, cfg, slos[k], now)
		}
		all = append(all, e.applyZero(k, groups[k], snap, collectErr == nil, decisions, now)...)
	}
	since := e.lastCycle
	e.lastCycle = now
	for _, d := range e.limitGPUs(ctx, all, vas) {
		e.publishGuarded(d, resyncDue(types.NamespacedName{Namespace: d.Namespace, Name: d.VariantName}, e.resync, since, now))
	}
	return nil
}

// resyncDue reports whether a resync of key falls in (since, now]: key's resyncs are at
// phase + k*period, phase being a hash of key within [0, period). Each VariantAutoscaling is
// so resynced once within every period, at the first cycle at or after its resync time, and
// a fleet's resyncs are spread evenly over the period. Nothing is due without a previous cycle
// (since zero: every decision is new then) or with period 0.
func resyncDue(key types.NamespacedName, period time.Duration, since, now time.Time) bool {
	if period <= 0 || since.IsZero() || !now.After(since) {
		return false
	}
	if now.Sub(since) >= period {
		return true
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(key.Namespace))
	_, _ = h.Write([]byte{'/'})
	_, _ = h.Write([]byte(key.Name))
	phase := int64(h.Sum64() % uint64(period))
	// Times after 1970 only (UnixNano > phase), so truncating division is floor division.
	slot := func(t time.Time) int64 { return (t.UnixNano() - phase) / int64(period) }
	return slot(now) != slot(since)
}

// forgetVanished drops the per-variant memory (scale-down history, KV capacity) of variants that
// are no longer targets.
func (e *Engine) forgetVanished(targets []collector.Target) {
	seen := make(map[types.NamespacedName]bool, len(targets))
	for _, t := range targets {
		seen[t.VariantAutoscaling] = true
	}
	e.stab.retain(seen)
	for k := range e.sloSeries {
		if !seen[k] {
			e.metrics.forgetSLO(k.Namespace, k.Name)
			delete(e.sloSeries, k)
		}
	}
	for k := range e.kvTokens {
		if !seen[k] {
			delete(e.kvTokens, k)
		}
	}
	for k := range e.startup {
		if !seen[k] {
			delete(e.startup, k)
		}
	}
}

// Bounds of a learned start-up delay.
const (
	MinLearnedStartup = 10 * time.Second
	MaxLearnedStartup = 30 * time.Minute
)

// learnStartup returns the start-up estimate of samples (the start-up delays of the pods that
// became ready most recently): their upper median (with 3 or more samples, one pod whose
// readiness flapped does not move it; with 2 it is the larger),
// within [MinLearnedStartup, MaxLearnedStartup]; 0 without samples.
func learnStartup(samples []time.Duration) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	return min(max(s[len(s)/2], MinLearnedStartup), MaxLearnedStartup)
}

// startupDelay is the start-up delay of va handed to the analyzer: spec.startupDelaySeconds,
// else the learned one (0 when none was learned: the analyzer's default).
func startupDelay(va *wvav1alpha1.VariantAutoscaling, learned time.Duration) time.Duration {
	if s := va.Spec.StartupDelaySeconds; s != nil && *s > 0 {
		return time.Duration(*s) * time.Second
	}
	return learned
}

// decideModel analyses one model's variants and returns their decisions.
func (e *Engine) decideModel(k modelKey, vas []*wvav1alpha1.VariantAutoscaling, snap collector.Snapshot,
	cfg interfaces.SaturationScalingConfig, slo interfaces.SLOTargets, now time.Time) []interfaces.VariantDecision {
	state := analysis.ModelState{ModelID: k.modelID, Namespace: k.namespace, SLO: slo}
	if m, ok := snap.Models[collector.ModelKey{Namespace: k.namespace, ModelID: k.modelID}]; ok {
		state.Metrics = &m
	}
	byName := map[string]*wvav1alpha1.VariantAutoscaling{}
	obsByName := map[string]collector.VariantObservation{}
	var unavailable []string
	for _, va := range vas {
		key := types.NamespacedName{Namespace: va.Namespace, Name: va.Name}
		obs, ok := snap.Variants[key]
		if !ok || !obs.TargetFound {
			continue // nothing to scale; the controller reports TargetResolved=False
		}
		if obs.KvCacheTokens > 0 {
			e.kvTokens[key] = obs.KvCacheTokens
		} else {
			obs.KvCacheTokens = e.kvTokens[key]
		}
		if d := learnStartup(obs.StartupSamples); d > 0 {
			e.startup[key] = d
		}
		byName[va.Name], obsByName[va.Name] = va, obs
		if !obs.Metrics.Available {
			unavailable = append(unavailable, va.Name)
		}
		vs := variantState(va, obs, e.previousTarget(va))
		vs.StartupDelay = startupDelay(va, e.startup[key])
		state.Variants = append(state.Variants, vs)
	}
	if len(state.Variants) == 0 {
		return nil
	}
	var result analysis.Result
	if sa, ok := e.analyzer.(analysis.StatefulAnalyzer); ok {
		result, e.analyzerState[k] = sa.AnalyzeWithState(state, cfg, now, e.analyzerState[k])
	} else {
		result = e.analyzer.Analyze(state, cfg, now)
	}
	e.metrics.observeSLO(k.namespace, k.modelID, result.Breakdown)
	if result.Breakdown != nil {
		for _, v := range result.Breakdown.Variants {
			e.sloSeries[types.NamespacedName{Namespace: k.namespace, Name: v.Name}] = true
		}
	}
	targets := map[string]analysis.VariantTarget{}
	for _, t := range result.Targets {
		targets[t.Variant] = t
	}

	out := make([]interfaces.VariantDecision, 0, len(state.Variants))
	for _, vs := range state.Variants {
		va, obs := byName[vs.Name], obsByName[vs.Name]
		if !obs.Metrics.Available && len(obs.Pods) == 0 {
			out = append(out, e.hold(va, obs.Metrics, obs.CurrentReplicas, now))
			continue
		}
		t, ok := targets[vs.Name]
		if !ok {
			// The analyzer had nothing to say about this variant (e.g. no pod reported).
			out = append(out, e.hold(va, obs.Metrics, obs.CurrentReplicas, now))
			continue
		}
		target, reason := t.Target, t.Reason
		if damped, note := e.stab.apply(types.NamespacedName{Namespace: va.Namespace, Name: va.Name}, now, vs.CurrentReplicas, target); note != "" {
			target, reason = damped, reason+" "+note
		}
		lo, hi := vs.Bounds()
		if limited, note := limitScaleUp(vs.CurrentReplicas, target, lo); note != "" {
			target, reason = limited, reason+" "+note
		}
		if capped, note := capUnschedulable(obs, target); note != "" {
			target, reason = capped, reason+" "+note
		}
		if floor := withheldFloor(vs); len(unavailable) > 0 && target < floor {
			target = floor
			reason = fmt.Sprintf("Scale-down withheld: metrics are unavailable for %v. %s", unavailable, reason)
		}
		if bounded := min(max(target, lo), hi); bounded != target {
			// The bounds hold whatever damped the target (e.g. a stabilized scale-down above maxReplicas).
			target, reason = bounded, reason+fmt.Sprintf(" Kept within the replica bounds [%d, %d].", lo, hi)
		}
		d := newDecision(va, obs.Metrics, vs.CurrentReplicas, target, now)
		d.DesiredReplicas, d.Reason, d.SaturationBased, d.SaturationOnly = vs.DesiredReplicas, reason, true, true
		out = append(out, d)
	}
	return out
}

// withheldFloor is the lowest target a variant may get while metrics of its model are missing:
// no scale-down beyond what was already decided on good data. That is the current replicas, or
// the previous decision when it is lower (a scale-down that an HPA's stabilisation window, or a
// rollout, has not carried out yet): publishing the current count again would cancel it, and
// restart the window of an HPA that reads the published target.
func withheldFloor(vs analysis.VariantState) int {
	if p := vs.DesiredReplicas; p > 0 && p < vs.CurrentReplicas {
		return p
	}
	return vs.CurrentReplicas
}

// variantState converts one VariantAutoscaling and its observation into analyzer input.
func variantState(va *wvav1alpha1.VariantAutoscaling, obs collector.VariantObservation, previous int) analysis.VariantState {
	vs := analysis.VariantState{
		Name: va.Name, Accelerator: va.AcceleratorName(), Cost: va.Cost(),
		CurrentReplicas: obs.CurrentReplicas, ReadyReplicas: obs.ReadyReplicas, DesiredReplicas: previous,
		KvCacheTokens: obs.KvCacheTokens, Pods: obs.Pods,
	}
	if pp := perfParms(va); pp != nil {
		vs.DecodeAlphaMs, vs.DecodeBetaMs = pp.DecodeParms.Alpha, pp.DecodeParms.Beta
		vs.PrefillGammaMs, vs.PrefillDeltaMs = pp.PrefillParms.Gamma, pp.PrefillParms.Delta
	}
	if ap := acceleratorProfile(va); ap != nil {
		vs.MaxBatch = int(ap.MaxBatchSize)
	}
	if va.Spec.MinReplicas != nil {
		vs.MinReplicas = ptr.To(int(*va.Spec.MinReplicas))
	}
	if va.Spec.MaxReplicas != nil {
		vs.MaxReplicas = int(*va.Spec.MaxReplicas)
	}
	return vs
}

// perfParms returns the performance parameters of va's accelerator from spec.modelProfile: the
// entry whose acc is the variant's accelerator, else the only entry; nil when none applies.
func perfParms(va *wvav1alpha1.VariantAutoscaling) *wvav1alpha1.PerfParms {
	if ap := acceleratorProfile(va); ap != nil {
		return ap.PerfParms
	}
	return nil
}

// acceleratorProfile returns the spec.modelProfile entry of va's accelerator: the entry whose acc
// is the variant's accelerator, else the only entry; nil when none applies.
func acceleratorProfile(va *wvav1alpha1.VariantAutoscaling) *wvav1alpha1.AcceleratorProfile {
	p := va.Spec.ModelProfile
	if p == nil {
		return nil
	}
	acc := va.AcceleratorName()
	for i := range p.Accelerators {
		if p.Accelerators[i].Acc == acc {
			return &p.Accelerators[i]
		}
	}
	if len(p.Accelerators) == 1 {
		return &p.Accelerators[0]
	}
	return nil
}

// previousTarget is the target published for va before this cycle (0 when none was).
func (e *Engine) previousTarget(va *wvav1alpha1.VariantAutoscaling) int {
	if d, ok := e.decisions.Get(va.Name, va.Namespace); ok {
		return d.TargetReplicas
	}
	return va.Status.OptimizedAlloc.Replicas
}

// holdAll keeps the previous decision of every variant in vas.
func (e *Engine) holdAll(vas []*wvav1alpha1.VariantAutoscaling, why collector.Status, now time.Time) []interfaces.VariantDecision {
	out := make([]interfaces.VariantDecision, 0, len(vas))
	for _, va := range vas {
		current := 0
		if va.Status.CurrentAlloc != nil {
			current = int(va.Status.CurrentAlloc.Replicas)
		}
		d := e.hold(va, why, current, now)
		if d.TargetReplicas > 0 {
			out = append(out, d)
		}
	}
	return out
}

// hold returns a decision that keeps va's previous target (or, when it never had one, its
// current replicas), marked with why metrics are unavailable.
func (e *Engine) hold(va *wvav1alpha1.VariantAutoscaling, why collector.Status, current int, now time.Time) interfaces.VariantDecision {
	target := e.previousTarget(va)
	if target == 0 {
		target = current
	}
	// A held target still obeys the bounds the user set (say, maxReplicas lowered since).
	if va.Spec.MaxReplicas != nil {
		target = min(target, int(*va.Spec.MaxReplicas))
	}
	if va.Spec.MinReplicas != nil {
		target = max(target, int(*va.Spec.MinReplicas))
	}
	why.Available = false
	if why.Reason == "" {
		why.Reason = wvav1alpha1.ReasonMetricsMissing
	}
	d := newDecision(va, why, current, target, now)
	d.DesiredReplicas, d.SafetyOverride = target, true
	d.Reason = fmt.Sprintf("Holding %d replicas: %s", target, messageOr(why.Message, "metrics are unavailable"))
	e.metrics.heldDecisions.Inc()
	return d
}

func newDecision(va *wvav1alpha1.VariantAutoscaling, metrics collector.Status, current, target int, now time.Time) interfaces.VariantDecision {
	return interfaces.VariantDecision{
		VariantName: va.Name, Namespace: va.Namespace, ModelID: va.Spec.ModelID,
		AcceleratorName: va.AcceleratorName(), Cost: va.Cost(),
		CurrentReplicas: current, TargetReplicas: target, Action: interfaces.ActionFor(current, target),
		MetricsAvailable: metrics.Available, MetricsReason: metrics.Reason, MetricsMessage: metrics.Message,
		LastRunTime: now,
	}
}

// publish stores d and asks the controller to reconcile its VariantAutoscaling when the
// controller has something new to write for it (its outcome changed, common.SameOutcome) or
// when resync is set; the request never blocks and is never dropped (see notifier).
func (e *Engine) publish(d interfaces.VariantDecision, resync bool) {
	changed := e.decisions.Publish(d.VariantName, d.Namespace, d)
	e.metrics.decisions.WithLabelValues(string(d.Action)).Inc()
	switch {
	case changed:
		e.metrics.triggerRequests.WithLabelValues(requestChanged).Inc()
	case resync:
		e.metrics.triggerRequests.WithLabelValues(requestResync).Inc()
	default:
		return
	}
	e.notify.request(types.NamespacedName{Namespace: d.Namespace, Name: d.VariantName})
}

func sortedKeys(groups map[modelKey][]*wvav1alpha1.VariantAutoscaling) []modelKey {
	keys := make([]modelKey, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b modelKey) int {
		return cmp.Or(cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.modelID, b.modelID))
	})
	return keys
}

func messageOr(msg, fallback string) string {
	if msg == "" {
		return fallback
	}
	return msg
}
