package policy

import (
	"errors"
	"fmt"
	"time"
)

// External-metric HPA defaults: the HPA chain that consumes wva_desired_replicas.
const (
	// DefaultMetricsScrapeInterval is how often Prometheus scrapes the controller's metrics.
	DefaultMetricsScrapeInterval = 15 * time.Second
	// ChartStabilization is the stabilisation window of the Helm chart's HPA (both directions).
	ChartStabilization = 240 * time.Second
)

// ChartBehavior returns the behaviour of the HPA in WVA's Helm chart (SPEC.md §6.3): 240 s
// stabilisation windows both ways and at most 10 pods per 150 s, selecting the larger change.
func ChartBehavior() Behavior {
	rules := ScalingRules{StabilizationWindow: ChartStabilization, Select: SelectMax,
		Policies: []ScalingPolicy{{Type: PodsPolicy, Value: 10, Period: 150 * time.Second}}}
	return Behavior{ScaleUp: rules, ScaleDown: rules}
}

// SampleBehavior returns the behaviour of the HPA that WVA ships for Metrics mode,
// config/samples/hpa.yaml (and KEDA's, config/samples/keda-scaledobject.yaml): scale up at once
// by the larger of 2 pods and 100 % per 60 s; scale down to the largest recommendation of the
// last 300 s, by at most 1 pod per 60 s. TestSampleHPA checks it against the file.
func SampleBehavior() Behavior {
	return Behavior{
		ScaleUp: ScalingRules{Select: SelectMax, Policies: []ScalingPolicy{
			{Type: PodsPolicy, Value: 2, Period: time.Minute},
			{Type: PercentPolicy, Value: 100, Period: time.Minute},
		}},
		ScaleDown: ScalingRules{StabilizationWindow: 300 * time.Second, Select: SelectMax, Policies: []ScalingPolicy{
			{Type: PodsPolicy, Value: 1, Period: time.Minute},
		}},
	}
}

// SampleExternalHPAConfig returns the chain WVA ships for Metrics mode: a 15 s scrape of the
// controller's metrics, the HPA of config/samples/hpa.yaml (15 s sync, AverageValue 1, tolerance
// 0, at least one replica, SampleBehavior).
func SampleExternalHPAConfig() ExternalHPAConfig {
	return ExternalHPAConfig{
		ScrapeInterval: DefaultMetricsScrapeInterval,
		SyncPeriod:     DefaultHPASyncPeriod,
		AverageValue:   1,
		Tolerance:      0,
		MinReplicas:    1,
		Behavior:       SampleBehavior(),
	}
}

// GaugeReader reads the current value of a published gauge, as the HPA's metrics adapter
// serves it; ok is false when no series matches.
type GaugeReader func() (value float64, ok bool, err error)

// ExternalHPAConfig configures an ExternalHPA.
type ExternalHPAConfig struct {
	// ScrapeInterval is how often the published value is scraped; the HPA sees the value of the
	// latest scrape.
	ScrapeInterval time.Duration
	// SyncPeriod is how often the HPA reconciles.
	SyncPeriod time.Duration
	// AverageValue is the External metric's AverageValue target (1 for wva_desired_replicas).
	AverageValue float64
	// Tolerance is the HPA tolerance.
	Tolerance float64
	// MinReplicas and MaxReplicas bound the replicas; MaxReplicas 0 means no bound.
	MinReplicas, MaxReplicas int
	// Behavior is the HPA's scaling behaviour.
	Behavior Behavior
}

// DefaultExternalHPAConfig returns the chain of WVA's Helm chart: a 15 s scrape, the 15 s HPA
// sync with 10 % tolerance, AverageValue 1, at least one replica and ChartBehavior.
func DefaultExternalHPAConfig() ExternalHPAConfig {
	return ExternalHPAConfig{
		ScrapeInterval: DefaultMetricsScrapeInterval,
		SyncPeriod:     DefaultHPASyncPeriod,
		AverageValue:   1,
		Tolerance:      DefaultHPATolerance,
		MinReplicas:    1,
		Behavior:       ChartBehavior(),
	}
}

// ExternalHPA is an HPA that follows a published gauge (an External metric with an AverageValue
// target) through a Prometheus scrape: the "HPA mode" actuation of an autoscaler that publishes
// its desired replicas instead of scaling the Deployment itself. The gauge is read at each scrape
// from the GaugeReader set with ReadFrom, or else from the value set with Publish; the simulation
// calls Tick at least as often as the scrape interval.
type ExternalHPA struct {
	cfg        ExternalHPAConfig
	read       GaugeReader
	ctrl       *HPAController
	value      float64
	published  bool
	scraped    float64
	hasScrape  bool
	nextScrape time.Time
	nextSync   time.Time
	started    bool
}

// NewExternalHPA returns an ExternalHPA with cfg.
func NewExternalHPA(cfg ExternalHPAConfig) (*ExternalHPA, error) {
	var errs []error
	if cfg.ScrapeInterval <= 0 || cfg.SyncPeriod <= 0 {
		errs = append(errs, fmt.Errorf("scrape interval and sync period must be positive, got %s and %s", cfg.ScrapeInterval, cfg.SyncPeriod))
	}
	if !(cfg.AverageValue > 0) || cfg.Tolerance < 0 {
		errs = append(errs, fmt.Errorf("average value must be positive and tolerance >= 0, got %g and %g", cfg.AverageValue, cfg.Tolerance))
	}
	if cfg.MinReplicas < 0 || cfg.MaxReplicas < 0 || (cfg.MaxReplicas > 0 && cfg.MinReplicas > cfg.MaxReplicas) {
		errs = append(errs, fmt.Errorf("want 0 <= min replicas <= max replicas (0 = none), got %d and %d", cfg.MinReplicas, cfg.MaxReplicas))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("invalid external HPA config: %w", err)
	}
	return &ExternalHPA{cfg: cfg, ctrl: NewHPAController(cfg.Behavior, cfg.MinReplicas, cfg.MaxReplicas)}, nil
}

// Publish sets the gauge's current value (when no GaugeReader is set).
func (h *ExternalHPA) Publish(value float64) {
	h.value, h.published = value, true
}

// ReadFrom has every scrape read the gauge from read instead of the value set with Publish.
func (h *ExternalHPA) ReadFrom(read GaugeReader) { h.read = read }

// scrape reads the gauge; a scrape that finds no series keeps the previous value, as the HPA
// keeps its replicas when its metric is missing.
func (h *ExternalHPA) scrape() error {
	if h.read == nil {
		if h.published {
			h.scraped, h.hasScrape = h.value, true
		}
		return nil
	}
	v, ok, err := h.read()
	if err != nil {
		return fmt.Errorf("scraping the published gauge: %w", err)
	}
	if ok {
		h.scraped, h.hasScrape = v, true
	}
	return nil
}

// Tick advances the chain to now for a scale target with current replicas: a scrape that is due
// reads the gauge, and a due HPA sync computes ceil(value / AverageValue) (within tolerance of
// current: current), applies the behaviour and bounds, and returns the replica count it sets
// with ok true. Between syncs, or before the first scrape of a value, ok is false.
func (h *ExternalHPA) Tick(now time.Time, current int) (replicas int, ok bool, err error) {
	if !h.started {
		h.started, h.nextScrape, h.nextSync = true, now, now
	}
	if !now.Before(h.nextScrape) {
		if err := h.scrape(); err != nil {
			return current, false, err
		}
		for !now.Before(h.nextScrape) {
			h.nextScrape = h.nextScrape.Add(h.cfg.ScrapeInterval)
		}
	}
	if now.Before(h.nextSync) {
		return current, false, nil
	}
	for !now.Before(h.nextSync) {
		h.nextSync = h.nextSync.Add(h.cfg.SyncPeriod)
	}
	if !h.hasScrape || (current == 0 && h.cfg.MinReplicas != 0) {
		return current, false, nil
	}
	var desired int
	switch {
	case h.cfg.MaxReplicas > 0 && current > h.cfg.MaxReplicas:
		desired = h.cfg.MaxReplicas
	case current < h.cfg.MinReplicas:
		desired = h.cfg.MinReplicas
	default:
		raw := ExternalAverageReplicas(current, h.scraped, h.cfg.AverageValue, h.cfg.Tolerance)
		desired = h.ctrl.Normalize(now, current, raw)
	}
	return h.ctrl.Record(now, current, desired), true, nil
}
