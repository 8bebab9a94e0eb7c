package policy

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"reflect"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/actuator"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/defaults"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/saturation"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/promsim"
)

// Names of the WVA policies.
const (
	// NameWVA is the production engine as it ships (defaults.Shipped): its analyzer, interval,
	// thresholds and scale-down damping, actuated in Metrics mode through the sample HPA.
	NameWVA = "wva"
	// NameWVAV1 is the production engine with the v1 analyzer, the reference's 30 s cycle and
	// its HPA chain.
	NameWVAV1 = "wva-v1"
)

// WVAConfig configures a WVA policy.
type WVAConfig struct {
	// Name names the policy in scores.
	Name string
	// Analyzer names the analyzer (analysis.Names()).
	Analyzer string
	// SLOSafety and SLOHeadroomMax tune the slo analyzer (analysis.SLOAnalyzer); 0 keeps its
	// defaults.
	SLOSafety, SLOHeadroomMax, SLOHeadroomMin float64
	// Interval is the engine's cycle period.
	Interval time.Duration
	// Saturation is the saturation config every model uses (the ConfigMap's default entry).
	Saturation interfaces.SaturationScalingConfig
	// ScaleDownStabilization and ScaleDownStepFraction damp scale-down in the engine (see
	// saturation.WithScaleDownStabilization); zero disables each.
	ScaleDownStabilization time.Duration
	ScaleDownStepFraction  float64
	// SLO is every VariantAutoscaling's spec.slo (whole milliseconds); zero sets none. The slo
	// analyzer sizes to it; the others ignore it (the collector then also measures attainment).
	SLO interfaces.SLOTargets
	// MinReplicas is every VariantAutoscaling's spec.minReplicas. 0 lets the engine empty a
	// variant while another variant of the model serves.
	MinReplicas int
	// Actuation is every VariantAutoscaling's spec.actuation.mode; empty means Metrics, the API
	// default. Both modes go through the production actuator (internal/actuator): Metrics mode
	// publishes wva_desired_replicas on the simulated controller's registry, where HPA reads it
	// at its scrapes; Direct mode also writes the Deployment's scale subresource in the simulated
	// cluster's Kubernetes store, and the fleet follows the Deployment (after Run's actuation
	// delay).
	Actuation wvav1alpha1.ActuationMode
	// HPA is the External-metric HPA of every variant in Metrics mode.
	HPA ExternalHPAConfig
	// Source, when set, is the engine's collector.Source instead of the cluster's idealised one,
	// e.g. the production collector over the simulated Prometheus (promsim.Pipeline).
	Source collector.Source
	// Kube, when set, is the simulated cluster's Kubernetes store that Direct mode scales (e.g.
	// the Pipeline's); when nil the policy keeps a store of its own.
	Kube *promsim.KubeStore
	// DecisionLog, when set, receives one line per variant and engine cycle: the time from the
	// scenario's start, the variant, its current and target replicas and the decision's reason.
	DecisionLog io.Writer
	// GPUs, when set, is the cluster's GPU inventory per accelerator (profile name, as
	// sim.Scenario.GPUs): the engine runs in limited mode (WVA_LIMITED_MODE) with an in-memory
	// saturation.GPUInventory of these GPUs, each replica needing its profile's GPUs.
	GPUs map[string]int
	// Priorities, when set, is each model's service-class priority (lower is more important),
	// loaded as the service-class ConfigMap would: one class per priority listing its models,
	// with the SLO targets of SLO. Models it leaves out are unclassified.
	Priorities map[string]int
	// ScaleToZero sets every VariantAutoscaling's spec.scaleToZero with ScaleToZeroRetention
	// (0: the API default, 10 min) and runs the engine's FromZero poll every tick against the
	// waiting demand of the gateway queue: Source's when it implements saturation.DemandSource
	// (promsim.Pipeline with ScrapeConfig.Gateway), else the cluster's (sim.Fleet). It needs
	// Direct mode (the wake writes the scale subresource) and MinReplicas 0.
	ScaleToZero          bool
	ScaleToZeroRetention time.Duration
}

// Mode returns the actuation mode c runs: Actuation, or Metrics when it is empty.
func (c WVAConfig) Mode() wvav1alpha1.ActuationMode {
	if c.Actuation == "" {
		return wvav1alpha1.ActuationMetrics
	}
	return c.Actuation
}

// Describe says in one line how c runs, e.g. "capacity analyzer every 30s, Metrics mode via the
// sample HPA (15s scrape, 15s sync)".
func (c WVAConfig) Describe() string {
	s := fmt.Sprintf("%s analyzer every %s, %s mode", c.Analyzer, c.Interval, c.Mode())
	if c.Mode() == wvav1alpha1.ActuationDirect {
		return s + " (scale subresource)"
	}
	hpa := "an HPA"
	switch {
	case reflect.DeepEqual(c.HPA, SampleExternalHPAConfig()):
		hpa = "the sample HPA"
	case reflect.DeepEqual(c.HPA, DefaultExternalHPAConfig()):
		hpa = "the Helm chart's HPA"
	}
	return s + fmt.Sprintf(" via %s (%s scrape, %s sync)", hpa, c.HPA.ScrapeInterval, c.HPA.SyncPeriod)
}

// DefaultWVAConfig is WVA as it ships (defaults.Shipped, checked against config/default): the
// default analyzer, interval, thresholds and scale-down damping, in the default actuation mode
// (Metrics) through the HPA of config/samples/hpa.yaml.
func DefaultWVAConfig() WVAConfig {
	d := defaults.Shipped()
	return WVAConfig{Name: NameWVA, Analyzer: d.Analyzer, Interval: d.Interval,
		Saturation:             d.Saturation,
		ScaleDownStabilization: d.ScaleDownStabilization,
		ScaleDownStepFraction:  d.ScaleDownStepFraction,
		MinReplicas:            0,
		Actuation:              d.ActuationMode,
		HPA:                    SampleExternalHPAConfig()}
}

// ReferenceWVAConfig is the reference's deployment: the v1 analyzer every 30 s without the
// engine's scale-down damping (the reference had none), actuated by the Helm chart's HPA through
// the wva_desired_replicas gauge.
func ReferenceWVAConfig() WVAConfig {
	return WVAConfig{Name: NameWVAV1, Analyzer: analysis.AnalyzerV1, Interval: 30 * time.Second,
		Saturation: interfaces.DefaultSaturationScalingConfig(), MinReplicas: 1,
		Actuation: wvav1alpha1.ActuationMetrics, HPA: DefaultExternalHPAConfig()}
}

// WVA runs the production saturation engine (saturation.Engine.RunOnce) against the simulated
// cluster: the cluster is the engine's collector.Source, and the engine's decisions go through
// the production actuator as the controller applies them (actuator.Actuate per
// VariantAutoscaling), in Metrics or Direct mode. Nothing of the decision or actuation logic is
// reimplemented here.
type WVA struct {
	cfg       WVAConfig
	clock     *testingclock.FakeClock
	engine    *saturation.Engine
	decisions *common.InternalDecisionCache
	vas       map[string]*wvav1alpha1.VariantAutoscaling
	registry  *prometheus.Registry
	actuator  *actuator.Actuator
	kube      *promsim.KubeStore
	hpas      map[string]*ExternalHPA
	nextCycle time.Time
	start     time.Time // the clock's time at NewWVA: the scenario's time zero
	fromZero  *saturation.FromZero
}

// NewWVA returns a WVA policy whose engine reads time from clk; pass the same clock to sim.Run
// with sim.WithClock so the engine sees virtual time. clk must read the scenario's start: the
// Kubernetes store of Direct mode stamps its pods relative to it.
func NewWVA(cfg WVAConfig, clk *testingclock.FakeClock) (*WVA, error) {
	if cfg.Interval <= 0 {
		return nil, fmt.Errorf("wva interval must be positive, got %s", cfg.Interval)
	}
	if _, err := analysis.New(cfg.Analyzer); err != nil {
		return nil, err
	}
	if err := cfg.Saturation.Validate(); err != nil {
		return nil, fmt.Errorf("wva saturation config: %w", err)
	}
	switch cfg.Mode() {
	case wvav1alpha1.ActuationMetrics:
		if _, err := NewExternalHPA(cfg.HPA); err != nil {
			return nil, fmt.Errorf("wva in Metrics mode: %w", err)
		}
	case wvav1alpha1.ActuationDirect:
	default:
		return nil, fmt.Errorf("wva actuation mode must be %s or %s, got %q", wvav1alpha1.ActuationMetrics, wvav1alpha1.ActuationDirect, cfg.Actuation)
	}
	if cfg.ScaleToZero && (cfg.Mode() != wvav1alpha1.ActuationDirect || cfg.MinReplicas != 0 || cfg.ScaleToZeroRetention < 0) {
		return nil, fmt.Errorf("wva scale to zero needs Direct mode, minReplicas 0 and a retention >= 0, got %s mode, minReplicas %d and retention %s",
			cfg.Mode(), cfg.MinReplicas, cfg.ScaleToZeroRetention)
	}
	return &WVA{cfg: cfg, clock: clk, start: clk.Now()}, nil
}

// Name implements sim.Policy.
func (w *WVA) Name() string { return w.cfg.Name }

// Config returns the policy's configuration.
func (w *WVA) Config() WVAConfig { return w.cfg }

// Registry returns the simulated controller's metrics registry, on which the actuator publishes
// the wva_* gauges (nil before the first Decide).
func (w *WVA) Registry() prometheus.Gatherer { return w.registry }

// Decide implements sim.Policy: every Interval one engine cycle whose decisions are actuated; in
// Metrics mode the HPA chain is advanced every tick, in Direct mode the Deployments' new spec
// replicas are returned.
func (w *WVA) Decide(ctx context.Context, now time.Time, c sim.Cluster) (map[string]int, error) {
	if w.engine == nil {
		if err := w.build(c); err != nil {
			return nil, err
		}
	}
	if !now.Before(w.nextCycle) {
		w.nextCycle = now.Add(w.cfg.Interval)
		if err := w.engine.RunOnce(ctx); err != nil {
			return nil, fmt.Errorf("engine cycle: %w", err)
		}
		w.logDecisions(now, c)
		if w.hpas == nil {
			out, err := w.actuateDirect(ctx, c)
			if err != nil || w.fromZero == nil {
				return out, err
			}
			woken, err := w.wakeFromZero(ctx, c)
			if out == nil {
				return woken, err
			}
			maps.Copy(out, woken)
			return out, err
		}
		if err := w.actuate(ctx, c); err != nil {
			return nil, err
		}
	}
	if w.fromZero != nil {
		return w.wakeFromZero(ctx, c)
	}
	if w.hpas == nil {
		return nil, nil
	}
	return w.tickHPAs(ctx, now, c)
}

// logDecisions writes the cycle's decisions to the DecisionLog, if any.
func (w *WVA) logDecisions(now time.Time, c sim.Cluster) {
	if w.cfg.DecisionLog == nil {
		return
	}
	for _, v := range c.Variants() {
		if d, ok := w.decisions.Get(v.Name, v.Namespace); ok {
			fmt.Fprintf(w.cfg.DecisionLog, "%s\t%s\t%s\t%d -> %d\t%s\n", w.cfg.Name, now.Sub(w.start).Truncate(time.Second), v.Name,
				d.CurrentReplicas, d.TargetReplicas, d.Reason)
		}
	}
}

// actuate hands the latest decision of every variant to the actuator, as the controller does
// when it reconciles a VariantAutoscaling after an engine cycle.
func (w *WVA) actuate(ctx context.Context, c sim.Cluster) error {
	for _, v := range c.Variants() {
		d, ok := w.decisions.Get(v.Name, v.Namespace)
		if !ok {
			continue
		}
		// A conflict (another writer of the scale) cannot arise: the simulated cluster has none.
		if _, err := w.actuator.Actuate(ctx, w.vas[v.Name], d); err != nil {
			return fmt.Errorf("actuating the decision for %s: %w", v.Name, err)
		}
	}
	return nil
}

// actuateDirect actuates in Direct mode: the store's Deployments are synced with the cluster,
// the actuator writes their scale subresource, and each Deployment whose spec replicas it
// changed is returned, for the fleet to follow.
func (w *WVA) actuateDirect(ctx context.Context, c sim.Cluster) (map[string]int, error) {
	if err := w.kube.Sync(ctx, c.Variants(), c.Pods()); err != nil {
		return nil, err
	}
	return w.changedReplicas(ctx, c, func() error { return w.actuate(ctx, c) })
}

// changedReplicas runs write and returns the Deployments whose spec replicas it changed, with
// their new counts (nil when none changed).
func (w *WVA) changedReplicas(ctx context.Context, c sim.Cluster, write func() error) (map[string]int, error) {
	before, err := w.specReplicas(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := write(); err != nil {
		return nil, err
	}
	after, err := w.specReplicas(ctx, c)
	if err != nil {
		return nil, err
	}
	var out map[string]int
	for name, n := range after {
		if n != before[name] {
			if out == nil {
				out = map[string]int{}
			}
			out[name] = n
		}
	}
	return out, nil
}

// wakeFromZero runs one poll of the engine's FromZero loop and returns the Deployments it set
// to 1 replica, for the fleet to follow.
func (w *WVA) wakeFromZero(ctx context.Context, c sim.Cluster) (map[string]int, error) {
	return w.changedReplicas(ctx, c, func() error {
		if err := w.fromZero.RunOnce(ctx); err != nil {
			return fmt.Errorf("scale-from-zero poll: %w", err)
		}
		return nil
	})
}

// specReplicas reads every variant's Deployment spec.replicas from the store.
func (w *WVA) specReplicas(ctx context.Context, c sim.Cluster) (map[string]int, error) {
	out := map[string]int{}
	for _, v := range c.Variants() {
		dep := &appsv1.Deployment{}
		if err := w.kube.Reader().Get(ctx, v.Key(), dep); err != nil {
			return nil, fmt.Errorf("reading Deployment %s: %w", v.Key(), err)
		}
		out[v.Name] = int(ptr.Deref(dep.Spec.Replicas, 1))
	}
	return out, nil
}

// tickHPAs advances every variant's HPA chain and returns the replica changes it makes.
func (w *WVA) tickHPAs(ctx context.Context, now time.Time, c sim.Cluster) (map[string]int, error) {
	variants := c.Variants()
	targets := make([]collector.Target, len(variants))
	for i, v := range variants {
		targets[i] = v.Target()
	}
	snap, err := c.Window(0).Collect(ctx, targets, now)
	if err != nil {
		return nil, fmt.Errorf("reading replicas: %w", err)
	}
	var out map[string]int
	for _, v := range variants {
		current := snap.Variants[v.Key()].CurrentReplicas
		n, ok, err := w.hpas[v.Name].Tick(now, current)
		if err != nil {
			return nil, fmt.Errorf("HPA of %s: %w", v.Name, err)
		}
		if ok && n != current {
			if out == nil {
				out = map[string]int{}
			}
			out[v.Name] = n
		}
	}
	return out, nil
}

// build makes the engine, its in-memory common layer and the actuator for the cluster's
// variants, as cmd/manager does for a real cluster.
func (w *WVA) build(c sim.Cluster) error {
	vas := common.NewVACache()
	w.vas = map[string]*wvav1alpha1.VariantAutoscaling{}
	for _, v := range c.Variants() {
		va := variantAutoscaling(v, w.cfg.MinReplicas)
		va.Spec.SLO = sloSpec(w.cfg.SLO)
		va.Spec.Actuation = &wvav1alpha1.ActuationSpec{Mode: w.cfg.Mode()}
		if w.cfg.ScaleToZero {
			va.Spec.ScaleToZero = &wvav1alpha1.ScaleToZeroSpec{}
			if w.cfg.ScaleToZeroRetention > 0 {
				va.Spec.ScaleToZero.RetentionSeconds = ptr.To(int32(min(w.cfg.ScaleToZeroRetention.Seconds(), math.MaxInt32)))
			}
		}
		vas.Update(va)
		w.vas[v.Name] = va
	}
	cfg := common.NewGlobalConfig()
	cfg.UpdateSaturationConfig(map[string]interfaces.SaturationScalingConfig{interfaces.DefaultSaturationConfigKey: w.cfg.Saturation})
	cfg.UpdateOptimizationConfig(w.cfg.Interval.String())
	if len(w.cfg.Priorities) > 0 {
		cfg.UpdateServiceClasses(serviceClasses(w.cfg.Priorities, w.cfg.SLO))
	}
	var limited []saturation.Option
	if w.cfg.GPUs != nil {
		cfg.UpdateGPULimits(interfaces.GPULimits{Enabled: true})
		limited = append(limited, saturation.WithGPUInventory(newGPUInventory(w.cfg.GPUs, c.Variants())))
	}
	a, err := analysis.New(w.cfg.Analyzer)
	if err != nil {
		return err
	}
	if s, ok := a.(analysis.SLOAnalyzer); ok {
		s.Safety, s.HeadroomMax, s.HeadroomMin = w.cfg.SLOSafety, w.cfg.SLOHeadroomMax, w.cfg.SLOHeadroomMin
		a = s
	}
	w.decisions = common.NewInternalDecisionCache()
	// Nobody reconciles in the simulator: with a nil trigger channel every reconcile request is
	// a non-blocking drop, which the engine tolerates by design. Decide actuates after each
	// cycle instead.
	var src collector.Source = c
	if w.cfg.Source != nil {
		src = w.cfg.Source
	}
	engine, err := saturation.New(src, vas, cfg, w.decisions, nil, append([]saturation.Option{saturation.WithClock(w.clock), saturation.WithAnalyzer(a),
		saturation.WithScaleDownStabilization(w.cfg.ScaleDownStabilization, w.cfg.ScaleDownStepFraction)}, limited...)...)
	if err != nil {
		return err
	}
	w.engine = engine

	w.registry = prometheus.NewRegistry()
	var scales actuator.DirectClient
	if w.cfg.Mode() == wvav1alpha1.ActuationDirect {
		w.kube = w.cfg.Kube
		if w.kube == nil {
			if w.kube, err = promsim.NewKubeStore(w.start); err != nil {
				return err
			}
		}
		scales = w.kube.Client()
	}
	if w.actuator, err = actuator.New(w.registry, scales); err != nil {
		return err
	}
	if w.cfg.ScaleToZero {
		var demand saturation.DemandSource
		if d, ok := src.(saturation.DemandSource); ok {
			demand = d
		} else if d, ok := c.(saturation.DemandSource); ok {
			demand = d
		} else {
			return fmt.Errorf("wva scale to zero: neither the metrics source nor the cluster reads the waiting demand")
		}
		w.fromZero = engine.FromZero(demand, w.actuator, sim.DefaultTick)
	}
	if w.cfg.Mode() == wvav1alpha1.ActuationMetrics {
		w.hpas = map[string]*ExternalHPA{}
		for _, v := range c.Variants() {
			hcfg := w.cfg.HPA
			hcfg.MaxReplicas = v.MaxReplicas
			h, err := NewExternalHPA(hcfg)
			if err != nil {
				return err
			}
			h.ReadFrom(desiredReplicas(w.registry, v.Namespace, v.Name))
			w.hpas[v.Name] = h
		}
	}
	return nil
}

// Contexts at which the profiles' step model is reduced to SPEC.md §4.8's linear perfParms: the
// mean context of a decoding request of the Azure conversation trace (1,155 prompt tokens plus
// half of 211 output tokens) and its mean prompt.
const (
	perfParmsContextTokens = 1300
	perfParmsPromptTokens  = 1155
)

// desiredReplicas reads the External metric the sample HPA targets from g: the sum of the
// wva_desired_replicas series of the Deployment (variant_name) in namespace, as
// prometheus-adapter serves an External metric whose selector matches several series.
func desiredReplicas(g prometheus.Gatherer, namespace, deployment string) GaugeReader {
	return func() (float64, bool, error) {
		families, err := g.Gather()
		if err != nil {
			return 0, false, fmt.Errorf("gathering the controller's metrics: %w", err)
		}
		var sum float64
		found := false
		for _, f := range families {
			if f.GetName() != actuator.DesiredReplicasMetric {
				continue
			}
			for _, m := range f.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels[actuator.LabelVariantName] == deployment && labels[actuator.LabelNamespace] == namespace && m.GetGauge() != nil {
					sum, found = sum+m.GetGauge().GetValue(), true
				}
			}
		}
		return sum, found, nil
	}
}

// sloSpec is the spec.slo a user would write for t; nil when t sets no target.
func sloSpec(t interfaces.SLOTargets) *wvav1alpha1.SLOSpec {
	if t.IsZero() {
		return nil
	}
	ms := func(d time.Duration) *int32 {
		if d <= 0 {
			return nil
		}
		return ptr.To(int32(min(max(d.Milliseconds(), 1), math.MaxInt32)))
	}
	s := &wvav1alpha1.SLOSpec{TTFTMilliseconds: ms(t.TTFT), ITLMilliseconds: ms(t.ITL)}
	if t.Attainment > 0 {
		s.Attainment = strconv.FormatFloat(t.Attainment, 'f', -1, 64)
	}
	return s
}

// variantAutoscaling is the VariantAutoscaling a user would write for a simulated variant:
// its cost is the price of one replica per hour.
func variantAutoscaling(v sim.VariantSpec, minReplicas int) *wvav1alpha1.VariantAutoscaling {
	va := &wvav1alpha1.VariantAutoscaling{}
	va.Name, va.Namespace = v.Name, v.Namespace
	va.Labels = map[string]string{wvav1alpha1.AcceleratorNameLabel: v.Profile.Name}
	va.Spec.ScaleTargetRef.Kind, va.Spec.ScaleTargetRef.APIVersion, va.Spec.ScaleTargetRef.Name = "Deployment", "apps/v1", v.Name
	va.Spec.ModelID = v.ModelID
	va.Spec.VariantCost = strconv.FormatFloat(v.Profile.CostPerGPUHour*float64(max(v.Profile.GPUsPerReplica, 1)), 'f', 4, 64)
	va.Spec.MinReplicas = ptr.To(int32(minReplicas))
	p := v.Profile
	// The perfParms a user would fit on chat traffic: the linear models at the context of the
	// Azure conversation trace's decoding requests and at its mean prompt.
	alpha, beta := p.LinearDecode(perfParmsContextTokens)
	gamma, delta := p.LinearPrefill(perfParmsPromptTokens)
	va.Spec.ModelProfile = &wvav1alpha1.ModelProfile{Accelerators: []wvav1alpha1.AcceleratorProfile{{
		Acc: p.Name, AccCount: int32(max(p.GPUsPerReplica, 1)), MaxBatchSize: int32(max(p.MaxBatchSize, 1)),
		PerfParms: &wvav1alpha1.PerfParms{
			DecodeParms:  wvav1alpha1.DecodeParms{Alpha: alpha, Beta: beta},
			PrefillParms: wvav1alpha1.PrefillParms{Gamma: gamma, Delta: delta},
		},
	}}}
	if v.MaxReplicas > 0 {
		va.Spec.MaxReplicas = ptr.To(int32(v.MaxReplicas))
	}
	return va
}
