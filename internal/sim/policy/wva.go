package policy

import (
	"context"
	"fmt"
	"strconv"
	"time"

	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/saturation"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
)

// Names of the WVA policies.
const (
	// NameWVA is the production engine with its default analyzer, actuating directly.
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
	// Interval is the engine's cycle period.
	Interval time.Duration
	// Saturation is the saturation config every model uses (the ConfigMap's default entry).
	Saturation interfaces.SaturationScalingConfig
	// ScaleDownStabilization and ScaleDownStepFraction damp scale-down in the engine (see
	// saturation.WithScaleDownStabilization); zero disables each.
	ScaleDownStabilization time.Duration
	ScaleDownStepFraction  float64
	// MinReplicas is every VariantAutoscaling's spec.minReplicas. 0 lets the engine empty a
	// variant while another variant of the model serves.
	MinReplicas int
	// HPA, when set, actuates through an External-metric HPA that reads the published desired
	// replicas (Metrics mode); when nil, decisions are applied to the Deployments directly
	// (Direct mode) after Run's actuation delay.
	HPA *ExternalHPAConfig
	// Source, when set, is the engine's collector.Source instead of the cluster's idealised one,
	// e.g. the production collector over the simulated Prometheus (promsim.Pipeline).
	Source collector.Source
}

// DefaultWVAConfig is WVA as it ships: the capacity analyzer every 15 s, Direct actuation.
func DefaultWVAConfig() WVAConfig {
	return WVAConfig{Name: NameWVA, Analyzer: analysis.DefaultAnalyzer, Interval: 15 * time.Second,
		Saturation:             interfaces.DefaultSaturationScalingConfig(),
		ScaleDownStabilization: saturation.DefaultScaleDownStabilization,
		ScaleDownStepFraction:  saturation.DefaultScaleDownStepFraction,
		MinReplicas:            0}
}

// ReferenceWVAConfig is the reference's deployment: the v1 analyzer every 30 s without the
// engine's scale-down damping (the reference had none), actuated by the Helm chart's HPA through
// the wva_desired_replicas gauge.
func ReferenceWVAConfig() WVAConfig {
	hpa := DefaultExternalHPAConfig()
	return WVAConfig{Name: NameWVAV1, Analyzer: analysis.AnalyzerV1, Interval: 30 * time.Second,
		Saturation: interfaces.DefaultSaturationScalingConfig(), HPA: &hpa, MinReplicas: 1}
}

// WVA runs the production saturation engine (saturation.Engine.RunOnce) against the simulated
// cluster: the cluster is the engine's collector.Source, and the engine's decisions are
// actuated directly or through an HPA. Nothing of the decision logic is reimplemented here.
type WVA struct {
	cfg       WVAConfig
	clock     *testingclock.FakeClock
	engine    *saturation.Engine
	decisions *common.InternalDecisionCache
	hpas      map[string]*ExternalHPA
	nextCycle time.Time
}

// NewWVA returns a WVA policy whose engine reads time from clk; pass the same clock to sim.Run
// with sim.WithClock so the engine sees virtual time.
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
	return &WVA{cfg: cfg, clock: clk}, nil
}

// Name implements sim.Policy.
func (w *WVA) Name() string { return w.cfg.Name }

// Decide implements sim.Policy: every Interval one engine cycle; in HPA mode the HPA chain is
// advanced every tick.
func (w *WVA) Decide(ctx context.Context, now time.Time, c sim.Cluster) (map[string]int, error) {
	if w.engine == nil {
		if err := w.build(c); err != nil {
			return nil, err
		}
	}
	variants := c.Variants()
	if !now.Before(w.nextCycle) {
		w.nextCycle = now.Add(w.cfg.Interval)
		if err := w.engine.RunOnce(ctx); err != nil {
			return nil, fmt.Errorf("engine cycle: %w", err)
		}
		if w.hpas == nil {
			out := map[string]int{}
			for _, v := range variants {
				if d, ok := w.decisions.Get(v.Name, v.Namespace); ok && d.TargetReplicas != d.CurrentReplicas {
					out[v.Name] = d.TargetReplicas
				}
			}
			return out, nil
		}
		for _, v := range variants {
			if d, ok := w.decisions.Get(v.Name, v.Namespace); ok {
				w.hpas[v.Name].Publish(float64(d.TargetReplicas))
			}
		}
	}
	if w.hpas == nil {
		return nil, nil
	}
	return w.tickHPAs(ctx, now, c)
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
		if n, ok := w.hpas[v.Name].Tick(now, current); ok && n != current {
			if out == nil {
				out = map[string]int{}
			}
			out[v.Name] = n
		}
	}
	return out, nil
}

// build makes the engine and its in-memory common layer for the cluster's variants, as
// cmd/manager does for a real cluster.
func (w *WVA) build(c sim.Cluster) error {
	vas := common.NewVACache()
	for _, v := range c.Variants() {
		vas.Update(variantAutoscaling(v, w.cfg.MinReplicas))
	}
	cfg := common.NewGlobalConfig()
	cfg.UpdateSaturationConfig(map[string]interfaces.SaturationScalingConfig{interfaces.DefaultSaturationConfigKey: w.cfg.Saturation})
	cfg.UpdateOptimizationConfig(w.cfg.Interval.String())
	a, err := analysis.New(w.cfg.Analyzer)
	if err != nil {
		return err
	}
	w.decisions = common.NewInternalDecisionCache()
	// Nobody reconciles in the simulator: with a nil trigger channel every reconcile request is
	// a non-blocking drop, which the engine tolerates by design.
	var src collector.Source = c
	if w.cfg.Source != nil {
		src = w.cfg.Source
	}
	engine, err := saturation.New(src, vas, cfg, w.decisions, nil, saturation.WithClock(w.clock), saturation.WithAnalyzer(a),
		saturation.WithScaleDownStabilization(w.cfg.ScaleDownStabilization, w.cfg.ScaleDownStepFraction))
	if err != nil {
		return err
	}
	w.engine = engine
	if w.cfg.HPA != nil {
		w.hpas = map[string]*ExternalHPA{}
		for _, v := range c.Variants() {
			hcfg := *w.cfg.HPA
			hcfg.MaxReplicas = v.MaxReplicas
			h, err := NewExternalHPA(hcfg)
			if err != nil {
				return err
			}
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
