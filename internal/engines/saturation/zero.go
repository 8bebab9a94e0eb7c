package saturation

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/log"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// Scale to zero and from zero (VariantAutoscaling spec.scaleToZero).
//
// The analyzers always keep one replica of a model: they are pure and know nothing of time
// beyond one snapshot. The engine keeps, per model, when the model was last seen serving or
// waiting for a request; once every variant of an opted-in model has been idle for the
// retention, the engine parks the model (every target 0) and keeps it parked, whatever the
// analyzer says, until a replica runs again. A FromZero loop polls the demand of the parked
// models every second and starts one replica of the cheapest variant through the scale
// subresource when a request waits.
//
// Idle means known to be idle: every variant's Deployment found, every replica ready and
// reporting fresh metrics with nothing running or waiting over the collector's window, and the
// model's arrival rate read and 0. Missing metrics, a failed collection, a starting replica or a
// missing signal end the idle stretch; they never count as idle.

// zeroPolicy is the scale-to-zero configuration of one model, from its VariantAutoscalings.
type zeroPolicy struct {
	// enabled is true when every variant of the model sets spec.scaleToZero.
	enabled bool
	// retention is the longest retention of the variants.
	retention time.Duration
	// query is the demand query of the first variant by name that sets one ("" for none).
	query string
}

// modelZeroPolicy returns the policy of a model whose variants are vas.
func modelZeroPolicy(vas []*wvav1alpha1.VariantAutoscaling) zeroPolicy {
	p := zeroPolicy{enabled: len(vas) > 0}
	sorted := slices.Clone(vas)
	slices.SortFunc(sorted, func(a, b *wvav1alpha1.VariantAutoscaling) int { return cmp.Compare(a.Name, b.Name) })
	for _, va := range sorted {
		r, ok := va.ScaleToZeroRetention()
		if !ok {
			return zeroPolicy{}
		}
		p.retention = max(p.retention, time.Duration(r)*time.Second)
		if p.query == "" {
			p.query = va.Spec.ScaleToZero.DemandQuery
		}
	}
	return p
}

// zeroState is the engine's scale-to-zero memory of one model.
type zeroState struct {
	// idleSince is when the current idle stretch began; zero while the model is not idle.
	idleSince time.Time
	// parked is true while the model is held at zero replicas.
	parked bool
	// query is the model's demand query (see zeroPolicy.query).
	query string
	// wake is the variant started when a request waits: the cheapest, ties by name.
	wake wakeCandidate
	// wokenAt is when FromZero last woke the model; zero when it never did.
	wokenAt time.Time
}

// wakeCandidate is the variant a parked model is woken on.
type wakeCandidate struct {
	va         types.NamespacedName
	deployment string
	modelID    string
	acc        string
	cost       float64
}

// zeroMemory holds the zeroState of every opted-in model. The engine cycle and the FromZero
// loop share it: mu also orders their publication of decisions of parked models (see
// publishGuarded), so a cycle that parked a model cannot publish 0 after the loop woke it.
type zeroMemory struct {
	mu     sync.Mutex
	models map[modelKey]*zeroState
}

// activity is what one snapshot says about a model's requests.
type activity int

const (
	// activityUnknown: some signal is missing; never counts as idle.
	activityUnknown activity = iota
	// activityBusy: a request runs, waits or arrived in the window.
	activityBusy
	// activityIdle: every signal was read and none shows a request.
	activityIdle
	// activityAtZero: every variant is at 0 replicas, none starting.
	activityAtZero
)

// modelActivity classifies the model k whose variants are vas from snap, with a phrase saying why.
func modelActivity(k modelKey, vas []*wvav1alpha1.VariantAutoscaling, snap collector.Snapshot) (activity, string) {
	replicas := 0
	for _, va := range vas {
		obs, ok := snap.Variants[types.NamespacedName{Namespace: va.Namespace, Name: va.Name}]
		if !ok || !obs.TargetFound {
			return activityUnknown, fmt.Sprintf("the scale target of %s was not found", va.Name)
		}
		replicas += obs.CurrentReplicas
		if obs.CurrentReplicas == 0 {
			continue
		}
		if !obs.Metrics.Available {
			return activityUnknown, fmt.Sprintf("the metrics of %s are unavailable", va.Name)
		}
		if obs.ReadyReplicas < obs.CurrentReplicas || len(obs.Pods) < obs.ReadyReplicas {
			return activityUnknown, fmt.Sprintf("%s has %d of %d replicas ready and reporting", va.Name, len(obs.Pods), obs.CurrentReplicas)
		}
		for _, p := range obs.Pods {
			if p.RunningRequests > 0 || p.QueueLength > 0 {
				return activityBusy, fmt.Sprintf("pod %s has %g running and %g waiting requests", p.Name, p.RunningRequests, p.QueueLength)
			}
		}
	}
	if replicas == 0 {
		return activityAtZero, "every variant is at 0 replicas"
	}
	m, ok := snap.Models[collector.ModelKey{Namespace: k.namespace, ModelID: k.modelID}]
	if ok && m.GatewayRequestRate > 0 {
		return activityBusy, fmt.Sprintf("the gateway counts %.3g requests per second", m.GatewayRequestRate)
	}
	switch {
	case !ok || m.ArrivalSource == "":
		return activityUnknown, "the model's arrival rate could not be read"
	case m.ArrivalRate > 0 || m.RequestRate > 0 || m.Waiting > 0:
		return activityBusy, fmt.Sprintf("%.3g requests per second arrive", max(m.ArrivalRate, m.RequestRate))
	}
	return activityIdle, "no request ran, waited or arrived"
}

// cheapestVariant returns the variant to wake a model on: the lowest spec.variantCost, ties
// by name.
func cheapestVariant(vas []*wvav1alpha1.VariantAutoscaling) wakeCandidate {
	var best *wvav1alpha1.VariantAutoscaling
	for _, va := range vas {
		if best == nil || va.Cost() < best.Cost() || (va.Cost() == best.Cost() && va.Name < best.Name) {
			best = va
		}
	}
	if best == nil {
		return wakeCandidate{}
	}
	return wakeCandidate{va: types.NamespacedName{Namespace: best.Namespace, Name: best.Name}, deployment: best.Spec.ScaleTargetRef.Name,
		modelID: best.Spec.ModelID, acc: best.AcceleratorName(), cost: best.Cost()}
}

// applyZero updates the scale-to-zero memory of model k from this cycle's snapshot (collected
// is false when the collection failed) and rewrites decisions, the model's decisions from the
// analyzer, to 0 while the model is parked. Models that do not opt in are forgotten.
func (e *Engine) applyZero(k modelKey, vas []*wvav1alpha1.VariantAutoscaling, snap collector.Snapshot, collected bool,
	decisions []interfaces.VariantDecision, now time.Time) []interfaces.VariantDecision {
	policy := modelZeroPolicy(vas)
	e.zero.mu.Lock()
	defer e.zero.mu.Unlock()
	if !policy.enabled {
		delete(e.zero.models, k)
		return decisions
	}
	st := e.zero.models[k]
	if st == nil {
		st = &zeroState{}
		e.zero.models[k] = st
	}
	st.query, st.wake = policy.query, cheapestVariant(vas)

	act, why := activityUnknown, "collecting metrics failed"
	if collected {
		act, why = modelActivity(k, vas, snap)
	}
	switch {
	case act == activityAtZero && !st.wokenAt.IsZero() && now.Sub(st.wokenAt) < wakeGrace:
		// Woken moments ago: the Deployment read may not show the new replica yet, and the
		// analyzer, seeing no replica, would take it away again.
		st.idleSince = time.Time{}
		for i := range decisions {
			if d := &decisions[i]; d.VariantName == st.wake.va.Name && d.TargetReplicas < 1 {
				d.TargetReplicas, d.Action = 1, interfaces.ActionFor(d.CurrentReplicas, 1)
				d.Reason = fmt.Sprintf("Starting from zero: woken %s ago because requests waited.", now.Sub(st.wokenAt).Round(time.Second))
			}
		}
	case act == activityAtZero:
		// At zero (parked by an earlier cycle, by hand, or before a restart): stay there until
		// a request waits.
		st.parked, st.idleSince = true, time.Time{}
	case act == activityBusy:
		st.parked, st.idleSince = false, time.Time{}
	case st.parked:
		// Parked, with replicas still running down (an HPA or KEDA removes them on its own
		// schedule) or draining: stay parked until a request shows or FromZero wakes the model.
	case act == activityIdle:
		if st.idleSince.IsZero() {
			st.idleSince = now
		}
		if idle := now.Sub(st.idleSince); idle >= policy.retention {
			st.parked = true
			e.metrics.scaledToZero.Inc()
			return zeroDecisions(decisions, fmt.Sprintf("Scaled to zero: no request for %s (scale-to-zero retention %s).",
				idle.Round(time.Second), policy.retention))
		}
	default:
		st.idleSince = time.Time{}
	}
	if st.parked {
		return zeroDecisions(decisions, fmt.Sprintf("Kept at zero until a request waits (scale-to-zero retention %s): %s.",
			policy.retention, why))
	}
	return decisions
}

// wakeGrace is how long after FromZero woke a model a cycle that still reads every variant at
// 0 replicas does not park it again (the informer cache lags the scale write by moments).
const wakeGrace = time.Minute

// zeroDecisions sets every decision's target to 0 with reason.
func zeroDecisions(decisions []interfaces.VariantDecision, reason string) []interfaces.VariantDecision {
	for i := range decisions {
		d := &decisions[i]
		d.TargetReplicas, d.Action, d.Reason = 0, interfaces.ActionFor(d.CurrentReplicas, 0), reason
		d.ScaledToZero, d.SafetyOverride, d.LimitedBy = true, false, ""
		d.MetricsAvailable, d.MetricsReason = true, wvav1alpha1.ReasonMetricsFound
		if d.MetricsMessage == "" {
			d.MetricsMessage = "No replica runs, so there is nothing to measure"
		}
	}
	return decisions
}

// publishGuarded publishes d (see publish) unless it is a scale-to-zero decision of a model
// that was woken since it was computed. Holding zero.mu across the check and the store orders
// it with wake.
func (e *Engine) publishGuarded(d interfaces.VariantDecision, resync bool) {
	e.zero.mu.Lock()
	defer e.zero.mu.Unlock()
	if d.ScaledToZero {
		if st := e.zero.models[modelKey{d.Namespace, d.ModelID}]; st == nil || !st.parked {
			return
		}
	}
	e.publish(d, resync)
}

// forgetZero drops the memory of models that have no VariantAutoscaling left.
func (e *Engine) forgetZero(groups map[modelKey][]*wvav1alpha1.VariantAutoscaling) {
	e.zero.mu.Lock()
	defer e.zero.mu.Unlock()
	for k := range e.zero.models {
		if _, ok := groups[k]; !ok {
			delete(e.zero.models, k)
		}
	}
}

// DemandSource reads the waiting demand of models at zero replicas: for each model it has a
// reading of, the number of requests waiting. A model without a reading is left out (not
// reported as 0). With an error it may still return the readings it could take.
// *promsource.Source implements it.
type DemandSource interface {
	WaitingDemand(ctx context.Context, models []collector.IdleModel, now time.Time) (map[collector.ModelKey]float64, error)
}

// Waker starts a Deployment at zero replicas: it sets spec.replicas to replicas through the
// scale subresource only when they are 0, and reports whether it wrote. *actuator.Actuator
// implements it.
type Waker interface {
	WakeFromZero(ctx context.Context, deployment types.NamespacedName, replicas int32) (bool, error)
}

// DefaultFromZeroPeriod is how often FromZero reads the demand of the parked models.
const DefaultFromZeroPeriod = time.Second

// FromZero brings parked models back: every period it reads, in one batch, the waiting demand
// of every model the engine holds at zero, and for each with a request waiting sets the
// cheapest variant's Deployment to 1 replica through the scale subresource (in both actuation
// modes: an HPA or KEDA at zero would wait for its own metrics) and publishes a decision of 1
// for it, so the wva_desired_replicas an HPA reads says 1 as well. Build it with
// Engine.FromZero; it runs on the elected leader only.
type FromZero struct {
	engine *Engine
	demand DemandSource
	waker  Waker
	period time.Duration
}

// FromZero returns the scale-from-zero loop of e, polling every period (non-positive:
// DefaultFromZeroPeriod) on e's clock.
func (e *Engine) FromZero(demand DemandSource, waker Waker, period time.Duration) *FromZero {
	if period <= 0 {
		period = DefaultFromZeroPeriod
	}
	return &FromZero{engine: e, demand: demand, waker: waker, period: period}
}

// NeedLeaderElection makes the loop run on the elected leader only.
func (f *FromZero) NeedLeaderElection() bool { return true }

// Start polls every period until ctx ends; a failed poll is logged and the loop goes on.
func (f *FromZero) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("scale-from-zero")
	ctx = log.IntoContext(ctx, logger)
	logger.Info("Starting scale-from-zero loop", "period", f.period)
	t := f.engine.clock.NewTicker(f.period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			logger.Info("Stopping scale-from-zero loop")
			return nil
		case <-t.C():
			if err := f.RunOnce(ctx); err != nil {
				logger.Error(err, "Scale-from-zero poll failed")
			}
		}
	}
}

// RunOnce reads the demand of the parked models once and wakes those with a request waiting.
// It issues no query when no model is parked. It returns the first error; a model that could
// not be woken stays parked and is tried again at the next poll.
func (f *FromZero) RunOnce(ctx context.Context) error {
	e := f.engine
	e.zero.mu.Lock()
	idle := make([]collector.IdleModel, 0, len(e.zero.models))
	for k, st := range e.zero.models {
		if st.parked && st.wake.deployment != "" {
			idle = append(idle, collector.IdleModel{Model: collector.ModelKey{Namespace: k.namespace, ModelID: k.modelID}, Query: st.query})
		}
	}
	e.zero.mu.Unlock()
	if len(idle) == 0 {
		return nil
	}
	slices.SortFunc(idle, func(a, b collector.IdleModel) int {
		return cmp.Or(cmp.Compare(a.Model.Namespace, b.Model.Namespace), cmp.Compare(a.Model.ModelID, b.Model.ModelID))
	})
	// A failed read may still carry the readings of the models it could read.
	demand, first := f.demand.WaitingDemand(ctx, idle, e.clock.Now())
	if first != nil {
		e.metrics.fromZeroErrors.Inc()
		first = fmt.Errorf("reading the waiting demand of %d models at zero: %w", len(idle), first)
	}
	for _, m := range idle {
		if n := demand[m.Model]; n > 0 {
			if err := f.wake(ctx, modelKey{m.Model.Namespace, m.Model.ModelID}, n); err != nil {
				e.metrics.fromZeroErrors.Inc()
				first = cmp.Or(first, err)
			}
		}
	}
	return first
}

// wake starts model k's cheapest variant with waiting requests waiting.
func (f *FromZero) wake(ctx context.Context, k modelKey, waiting float64) error {
	e := f.engine
	e.zero.mu.Lock()
	st := e.zero.models[k]
	if st == nil || !st.parked {
		e.zero.mu.Unlock()
		return nil
	}
	w := st.wake
	e.zero.mu.Unlock()

	dep := types.NamespacedName{Namespace: w.va.Namespace, Name: w.deployment}
	wrote, err := f.waker.WakeFromZero(ctx, dep, 1)
	if err != nil {
		return fmt.Errorf("waking model %s/%s on %s: %w", k.namespace, k.modelID, dep, err)
	}
	now := e.clock.Now()
	e.zero.mu.Lock()
	defer e.zero.mu.Unlock()
	if st := e.zero.models[k]; st != nil {
		st.parked, st.idleSince, st.wokenAt = false, time.Time{}, now
	}
	d := interfaces.VariantDecision{VariantName: w.va.Name, Namespace: w.va.Namespace, ModelID: w.modelID,
		AcceleratorName: w.acc, Cost: w.cost, CurrentReplicas: 0, TargetReplicas: 1, DesiredReplicas: 1,
		Action: interfaces.ActionScaleUp, SaturationBased: true, SaturationOnly: true,
		Reason:           fmt.Sprintf("Scaled from zero: %g requests wait for model %s; started the cheapest variant.", waiting, k.modelID),
		MetricsAvailable: true, MetricsReason: wvav1alpha1.ReasonMetricsFound,
		MetricsMessage: "No replica ran; the model's waiting demand was read from its scale-from-zero signal", LastRunTime: now}
	e.publish(d, false)
	e.metrics.scaledFromZero.Inc()
	log.FromContext(ctx).V(1).Info("Scaled model from zero", "namespace", k.namespace, "model", k.modelID,
		"variantAutoscaling", klog.KRef(w.va.Namespace, w.va.Name), "waiting", waiting, "wrote", wrote)
	return nil
}
