package policy

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
)

// NameHPA is the name of the HPA policy.
const NameHPA = "hpa"

// HPA defaults of kube-controller-manager and of the autoscaling/v2 API.
const (
	// DefaultHPASyncPeriod is --horizontal-pod-autoscaler-sync-period.
	DefaultHPASyncPeriod = 15 * time.Second
	// DefaultHPATolerance is --horizontal-pod-autoscaler-tolerance.
	DefaultHPATolerance = 0.1
	// DefaultScaleDownStabilization is the default scaleDown.stabilizationWindowSeconds.
	DefaultScaleDownStabilization = 300 * time.Second
)

// PodMetric names a per-pod vLLM metric an HPA can target (through a metrics adapter).
type PodMetric string

const (
	// PodMetricKVCacheUsage is vllm:kv_cache_usage_perc (0..1).
	PodMetricKVCacheUsage PodMetric = "kv-cache-usage"
	// PodMetricWaiting is vllm:num_requests_waiting.
	PodMetricWaiting PodMetric = "num-requests-waiting"
	// PodMetricRunning is vllm:num_requests_running.
	PodMetricRunning PodMetric = "num-requests-running"
)

// value reads the metric from one pod's readings.
func (m PodMetric) value(p analysis.PodMetrics) float64 {
	switch m {
	case PodMetricKVCacheUsage:
		return p.KvCacheUsage
	case PodMetricWaiting:
		return p.QueueLength
	default:
		return p.RunningRequests
	}
}

// MetricTarget is one entry of an HPA's metrics: a Pods metric with an AverageValue target.
type MetricTarget struct {
	// Metric is the per-pod metric.
	Metric PodMetric
	// AverageValue is the target mean of the metric over the pods.
	AverageValue float64
}

// ScalingPolicyType is the unit of a scaling policy.
type ScalingPolicyType string

const (
	// PodsPolicy limits the change to Value pods per period.
	PodsPolicy ScalingPolicyType = "Pods"
	// PercentPolicy limits the change to Value percent of the replicas at the start of the period.
	PercentPolicy ScalingPolicyType = "Percent"
)

// ScalingPolicy is one rate limit of an HPA's behaviour.
type ScalingPolicy struct {
	// Type is the unit of Value.
	Type ScalingPolicyType
	// Value is the largest change allowed per period.
	Value int
	// Period is the length of the sliding window the change is counted over.
	Period time.Duration
}

// SelectPolicy chooses among the rate limits of a direction.
type SelectPolicy string

const (
	// SelectMax allows the largest change any policy allows (the default).
	SelectMax SelectPolicy = "Max"
	// SelectMin allows the smallest change any policy allows.
	SelectMin SelectPolicy = "Min"
	// SelectDisabled forbids changes in this direction.
	SelectDisabled SelectPolicy = "Disabled"
)

// ScalingRules is the behaviour of one direction (autoscaling/v2 HPAScalingRules).
type ScalingRules struct {
	// StabilizationWindow: scaling up uses the smallest, scaling down the largest recommendation
	// of this window.
	StabilizationWindow time.Duration
	// Select chooses among Policies; empty means SelectMax.
	Select SelectPolicy
	// Policies are the rate limits.
	Policies []ScalingPolicy
}

// Behavior is an HPA's scaling behaviour.
type Behavior struct {
	// ScaleUp and ScaleDown are the rules of each direction.
	ScaleUp, ScaleDown ScalingRules
}

// DefaultBehavior returns the autoscaling/v2 default behaviour: scale up at once by the larger
// of 100 % and 4 pods per 15 s; scale down to the largest recommendation of the last 300 s, by up
// to 100 % per 15 s.
func DefaultBehavior() Behavior {
	return Behavior{
		ScaleUp: ScalingRules{Select: SelectMax, Policies: []ScalingPolicy{
			{Type: PercentPolicy, Value: 100, Period: 15 * time.Second},
			{Type: PodsPolicy, Value: 4, Period: 15 * time.Second},
		}},
		ScaleDown: ScalingRules{StabilizationWindow: DefaultScaleDownStabilization, Select: SelectMax, Policies: []ScalingPolicy{
			{Type: PercentPolicy, Value: 100, Period: 15 * time.Second},
		}},
	}
}

// HPAConfig configures the HPA policy: one HorizontalPodAutoscaler per variant, all alike.
type HPAConfig struct {
	// Metrics are the per-pod metric targets; the HPA follows the metric that asks for the most
	// replicas.
	Metrics []MetricTarget
	// MinReplicas and MaxReplicas bound the replicas; MaxReplicas 0 means no bound.
	MinReplicas, MaxReplicas int
	// SyncPeriod is how often the HPA reconciles.
	SyncPeriod time.Duration
	// Tolerance is the relative deviation from the target within which the HPA does nothing.
	Tolerance float64
	// Behavior is the scaling behaviour.
	Behavior Behavior
	// MetricsWindow is the window the metrics are read through (0: the latest scrape, as an
	// instant query through a metrics adapter returns).
	MetricsWindow time.Duration
}

// DefaultHPAConfig returns an HPA with the Kubernetes defaults (15 s sync, 10 % tolerance, the
// default behaviour) and at least one replica, targeting a mean KV-cache usage of 0.7 per pod:
// the scale-up level of the saturation engine's defaults (KV threshold 0.8 - spare 0.1).
//
// A queue target (PodMetricWaiting) is not in the default: the queue of an overloaded pod is
// unbounded, and while new pods load their model for minutes the HPA keeps doubling the
// Deployment every sync (docs/simulator.md shows the effect).
func DefaultHPAConfig() HPAConfig {
	return HPAConfig{
		Metrics:     []MetricTarget{{Metric: PodMetricKVCacheUsage, AverageValue: 0.7}},
		MinReplicas: 1,
		SyncPeriod:  DefaultHPASyncPeriod,
		Tolerance:   DefaultHPATolerance,
		Behavior:    DefaultBehavior(),
	}
}

// Validate reports every rule c breaks, joined into one error.
func (c HPAConfig) Validate() error {
	var errs []error
	if len(c.Metrics) == 0 {
		errs = append(errs, errors.New("at least one metric target is required"))
	}
	for _, m := range c.Metrics {
		switch m.Metric {
		case PodMetricKVCacheUsage, PodMetricWaiting, PodMetricRunning:
		default:
			errs = append(errs, fmt.Errorf("unknown metric %q", m.Metric))
		}
		if !(m.AverageValue > 0) {
			errs = append(errs, fmt.Errorf("metric %s: target must be positive, got %g", m.Metric, m.AverageValue))
		}
	}
	if c.MinReplicas < 0 || c.MaxReplicas < 0 || (c.MaxReplicas > 0 && c.MinReplicas > c.MaxReplicas) {
		errs = append(errs, fmt.Errorf("want 0 <= min replicas <= max replicas (0 = none), got %d and %d", c.MinReplicas, c.MaxReplicas))
	}
	if c.SyncPeriod <= 0 {
		errs = append(errs, fmt.Errorf("sync period must be positive, got %s", c.SyncPeriod))
	}
	if c.Tolerance < 0 {
		errs = append(errs, fmt.Errorf("tolerance must be >= 0, got %g", c.Tolerance))
	}
	if c.MetricsWindow < 0 {
		errs = append(errs, fmt.Errorf("metrics window must be >= 0, got %s", c.MetricsWindow))
	}
	for dir, r := range map[string]ScalingRules{"scale-up": c.Behavior.ScaleUp, "scale-down": c.Behavior.ScaleDown} {
		if r.StabilizationWindow < 0 {
			errs = append(errs, fmt.Errorf("%s stabilization window must be >= 0, got %s", dir, r.StabilizationWindow))
		}
		for _, p := range r.Policies {
			if (p.Type != PodsPolicy && p.Type != PercentPolicy) || p.Value <= 0 || p.Period <= 0 {
				errs = append(errs, fmt.Errorf("%s policy %+v: want type Pods or Percent, positive value and period", dir, p))
			}
		}
	}
	return errors.Join(errs...)
}

// HPA is the Kubernetes HorizontalPodAutoscaler algorithm applied to each variant's Deployment
// with per-pod metrics read from the simulated cluster.
type HPA struct {
	cfg     HPAConfig
	ctrls   map[string]*HPAController
	nextRun time.Time
}

// NewHPA returns the HPA policy with cfg.
func NewHPA(cfg HPAConfig) (*HPA, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid HPA config: %w", err)
	}
	return &HPA{cfg: cfg, ctrls: map[string]*HPAController{}}, nil
}

// Name implements sim.Policy.
func (*HPA) Name() string { return NameHPA }

// Decide implements sim.Policy: every SyncPeriod it reads the pods' metrics and reconciles each
// variant like the HPA controller does.
func (h *HPA) Decide(ctx context.Context, now time.Time, c sim.Cluster) (map[string]int, error) {
	if now.Before(h.nextRun) {
		return nil, nil
	}
	h.nextRun = now.Add(h.cfg.SyncPeriod)
	variants := c.Variants()
	targets := make([]collector.Target, len(variants))
	for i, v := range variants {
		targets[i] = v.Target()
	}
	snap, err := c.Window(h.cfg.MetricsWindow).Collect(ctx, targets, now)
	if err != nil {
		return nil, fmt.Errorf("collecting metrics: %w", err)
	}
	out := map[string]int{}
	for _, v := range variants {
		obs, ok := snap.Variants[v.Key()]
		if !ok || !obs.TargetFound {
			continue
		}
		ctrl := h.ctrls[v.Name]
		if ctrl == nil {
			ctrl = NewHPAController(h.cfg.Behavior, h.cfg.MinReplicas, h.cfg.MaxReplicas)
			h.ctrls[v.Name] = ctrl
		}
		if n, ok := h.reconcile(now, ctrl, obs); ok && n != obs.CurrentReplicas {
			out[v.Name] = n
		}
	}
	return out, nil
}

// reconcile is one HPA sync of one variant; ok is false when no metric could be computed.
func (h *HPA) reconcile(now time.Time, ctrl *HPAController, obs collector.VariantObservation) (int, bool) {
	current := obs.CurrentReplicas
	switch {
	case current == 0 && h.cfg.MinReplicas != 0:
		return 0, false // scaling is disabled at zero replicas
	case h.cfg.MaxReplicas > 0 && current > h.cfg.MaxReplicas:
		return ctrl.Record(now, current, h.cfg.MaxReplicas), true
	case current < h.cfg.MinReplicas:
		return ctrl.Record(now, current, h.cfg.MinReplicas), true
	}
	// Pods of the Deployment without metrics (starting, or ready but not scraped yet) are the
	// HPA's "missing" pods.
	missing := max(current-len(obs.Pods), 0)
	desired, computed := 0, false
	for _, m := range h.cfg.Metrics {
		values := make([]float64, len(obs.Pods))
		for i, p := range obs.Pods {
			values[i] = m.Metric.value(p)
		}
		if n, ok := PodsMetricReplicas(current, values, missing, m.AverageValue, h.cfg.Tolerance); ok {
			desired, computed = max(desired, n), true
		}
	}
	if !computed {
		return 0, false
	}
	return ctrl.Record(now, current, ctrl.Normalize(now, current, desired)), true
}

// PodsMetricReplicas is the HPA replica calculation for a Pods metric with an AverageValue
// target (kube-controller-manager's replica calculator for plain metrics):
//
//   - ratio = mean(values) / target over the pods with metrics;
//   - with no pod missing metrics: current if |1-ratio| <= tolerance, else ceil(ratio x pods);
//   - otherwise the missing pods count as using the target (when scaling down) or nothing (when
//     scaling up), the ratio is recomputed over all pods, and the result is current if the
//     new ratio is within tolerance or changes direction, else ceil(newRatio x all pods) unless
//     that moves against the direction.
//
// ok is false when no pod has metrics.
func PodsMetricReplicas(current int, values []float64, missing int, target, tolerance float64) (replicas int, ok bool) {
	if len(values) == 0 || !(target > 0) {
		return current, false
	}
	var sum float64
	for _, v := range values {
		sum += v
	}
	ratio := sum / float64(len(values)) / target
	if missing == 0 {
		if math.Abs(1-ratio) <= tolerance {
			return current, true
		}
		return int(math.Ceil(ratio * float64(len(values)))), true
	}
	if ratio < 1 {
		sum += float64(missing) * target
	}
	n := len(values) + missing
	newRatio := sum / float64(n) / target
	if math.Abs(1-newRatio) <= tolerance || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1) {
		return current, true
	}
	replicas = int(math.Ceil(newRatio * float64(n)))
	if (newRatio < 1 && replicas > current) || (newRatio > 1 && replicas < current) {
		return current, true
	}
	return replicas, true
}

// ExternalAverageReplicas is the HPA replica calculation for an External metric with an
// AverageValue target (how an HPA consumes wva_desired_replicas with target 1): current when
// value / (target x current) is within tolerance of 1, else ceil(value / target).
func ExternalAverageReplicas(current int, value, target, tolerance float64) int {
	if current > 0 && math.Abs(1-value/(target*float64(current))) <= tolerance {
		return current
	}
	return int(math.Ceil(value / target))
}

// HPAController holds one HPA's memory — its recent recommendations and scale events — and
// applies its behaviour to a raw recommendation.
type HPAController struct {
	behavior Behavior
	min, max int
	recs     []timedValue // unstabilised recommendations
	ups      []timedValue // scale-up events (replicas added)
	downs    []timedValue // scale-down events (replicas removed)
}

type timedValue struct {
	at time.Time
	n  int
}

// NewHPAController returns a controller with behaviour b and replica bounds [min, max] (max 0:
// no bound).
func NewHPAController(b Behavior, minReplicas, maxReplicas int) *HPAController {
	return &HPAController{behavior: b, min: minReplicas, max: maxReplicas}
}

// Normalize applies the behaviour to the raw recommendation desired at time now for a scale
// target with current replicas: stabilisation (scale up to the smallest recommendation of the
// scale-up window, down to the largest of the scale-down window, both including desired), then
// the rate limits of the direction and the replica bounds. It records desired in the
// recommendation history.
func (c *HPAController) Normalize(now time.Time, current, desired int) int {
	up, down := desired, desired
	upCut := now.Add(-c.behavior.ScaleUp.StabilizationWindow)
	downCut := now.Add(-c.behavior.ScaleDown.StabilizationWindow)
	for _, r := range c.recs {
		if r.at.After(upCut) {
			up = min(up, r.n)
		}
		if r.at.After(downCut) {
			down = max(down, r.n)
		}
	}
	keep := max(c.behavior.ScaleUp.StabilizationWindow, c.behavior.ScaleDown.StabilizationWindow)
	c.recs = pruneBefore(c.recs, now.Add(-keep))
	c.recs = append(c.recs, timedValue{at: now, n: desired})

	rec := current
	rec = max(rec, up)
	rec = min(rec, down)
	return c.limitRate(now, current, rec)
}

// limitRate clamps desired to the rate limits of its direction and the replica bounds.
func (c *HPAController) limitRate(now time.Time, current, desired int) int {
	switch {
	case desired > current:
		limit := c.scaleUpLimit(now, current)
		limit = max(limit, current)
		if c.max > 0 {
			limit = min(limit, c.max)
		}
		return min(desired, limit)
	case desired < current:
		limit := c.scaleDownLimit(now, current)
		limit = min(limit, current)
		limit = max(limit, c.min)
		return max(desired, limit)
	}
	return desired
}

func (c *HPAController) periodStart(now time.Time, current int, period time.Duration) int {
	cut := now.Add(-period)
	added, removed := 0, 0
	for _, e := range c.ups {
		if e.at.After(cut) {
			added += e.n
		}
	}
	for _, e := range c.downs {
		if e.at.After(cut) {
			removed += e.n
		}
	}
	return current - added + removed
}

func (c *HPAController) scaleUpLimit(now time.Time, current int) int {
	r := c.behavior.ScaleUp
	if r.Select == SelectDisabled {
		return current
	}
	result := math.MinInt
	if r.Select == SelectMin {
		result = math.MaxInt
	}
	for _, p := range r.Policies {
		start := c.periodStart(now, current, p.Period)
		proposed := start + p.Value
		if p.Type == PercentPolicy {
			proposed = int(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		}
		if r.Select == SelectMin {
			result = min(result, proposed)
		} else {
			result = max(result, proposed)
		}
	}
	if len(r.Policies) == 0 {
		return math.MaxInt
	}
	return result
}

func (c *HPAController) scaleDownLimit(now time.Time, current int) int {
	r := c.behavior.ScaleDown
	if r.Select == SelectDisabled {
		return current
	}
	result := math.MaxInt
	if r.Select == SelectMin {
		result = math.MinInt
	}
	for _, p := range r.Policies {
		start := c.periodStart(now, current, p.Period)
		proposed := start - p.Value
		if p.Type == PercentPolicy {
			proposed = int(float64(start) * (1 - float64(p.Value)/100))
		}
		if r.Select == SelectMin {
			result = max(result, proposed)
		} else {
			result = min(result, proposed)
		}
	}
	if len(r.Policies) == 0 {
		return 0
	}
	return result
}

// Record stores the scale event from current to n at now (if they differ) for the rate limits
// and returns n.
func (c *HPAController) Record(now time.Time, current, n int) int {
	longest := time.Duration(0)
	for _, p := range append(append([]ScalingPolicy(nil), c.behavior.ScaleUp.Policies...), c.behavior.ScaleDown.Policies...) {
		longest = max(longest, p.Period)
	}
	c.ups = pruneBefore(c.ups, now.Add(-longest))
	c.downs = pruneBefore(c.downs, now.Add(-longest))
	switch {
	case n > current:
		c.ups = append(c.ups, timedValue{at: now, n: n - current})
	case n < current:
		c.downs = append(c.downs, timedValue{at: now, n: current - n})
	}
	return n
}

// pruneBefore drops the entries at or before cut (entries are in time order).
func pruneBefore(vs []timedValue, cut time.Time) []timedValue {
	i := 0
	for i < len(vs) && !vs[i].at.After(cut) {
		i++
	}
	if i == 0 {
		return vs
	}
	return append(vs[:0], vs[i:]...)
}
