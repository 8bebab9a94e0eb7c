package saturation

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// recordingAnalyzer passes to the capacity analyzer and keeps the states it was given.
type recordingAnalyzer struct {
	analysis.CapacityAnalyzer
	states []analysis.ModelState
}

func (r *recordingAnalyzer) Analyze(m analysis.ModelState, cfg interfaces.SaturationScalingConfig, now time.Time) analysis.Result {
	r.states = append(r.states, m)
	return r.CapacityAnalyzer.Analyze(m, cfg, now)
}

func withSLO(va *wvav1alpha1.VariantAutoscaling, ttftMs, itlMs int32, attainment string) *wvav1alpha1.VariantAutoscaling {
	va.Spec.SLO = &wvav1alpha1.SLOSpec{Attainment: attainment}
	if ttftMs > 0 {
		va.Spec.SLO.TTFTMilliseconds = ptr.To(ttftMs)
	}
	if itlMs > 0 {
		va.Spec.SLO.ITLMilliseconds = ptr.To(itlMs)
	}
	return va
}

// TestSLOReachesTheAnalyzer: the resolved SLO (spec.slo over the service class, the strictest
// across a model's variants) goes to the collector with every target and to the analyzer with
// the model's metrics; the decisions are those without an SLO.
func TestSLOReachesTheAnalyzer(t *testing.T) {
	premium := interfaces.ServiceClass{Name: "Premium", Priority: 1, Data: []interfaces.ServiceClassModel{
		{Model: "llama", TTFTMs: 500, TPOTMs: 24}, {Model: "granite", TTFTMs: 2000, TPOTMs: 100, Attainment: 0.9}}}
	tests := map[string]struct {
		classes bool
		vas     []*wvav1alpha1.VariantAutoscaling
		want    interfaces.SLOTargets
	}{
		"none": {
			vas:  []*wvav1alpha1.VariantAutoscaling{testutil.VariantAutoscaling("a").Model("mistral").Obj()},
			want: interfaces.SLOTargets{},
		},
		"service class": {
			classes: true,
			vas:     []*wvav1alpha1.VariantAutoscaling{testutil.VariantAutoscaling("a").Model("llama").Obj()},
			want:    interfaces.SLOTargets{TTFT: 500 * time.Millisecond, ITL: 24 * time.Millisecond, Attainment: 0.99, Source: `service class "Premium"`},
		},
		"spec.slo overrides one target of the class": {
			classes: true,
			vas:     []*wvav1alpha1.VariantAutoscaling{withSLO(testutil.VariantAutoscaling("a").Model("granite").Obj(), 800, 0, "")},
			want: interfaces.SLOTargets{TTFT: 800 * time.Millisecond, ITL: 100 * time.Millisecond, Attainment: 0.9,
				Source: `spec.slo of VariantAutoscaling default/a over service class "Premium"`},
		},
		"strictest of two variants, no class": {
			vas: []*wvav1alpha1.VariantAutoscaling{
				withSLO(testutil.VariantAutoscaling("a").Model("m").Obj(), 900, 30, "0.95"),
				withSLO(testutil.VariantAutoscaling("b").Model("m").Obj(), 600, 0, "0.999"),
				testutil.VariantAutoscaling("c").Model("m").Obj(),
			},
			want: interfaces.SLOTargets{TTFT: 600 * time.Millisecond, ITL: 30 * time.Millisecond, Attainment: 0.999,
				Source: "spec.slo of VariantAutoscaling default/a, b"},
		},
		"spec.slo without attainment gets the default": {
			vas:  []*wvav1alpha1.VariantAutoscaling{withSLO(testutil.VariantAutoscaling("a").Model("m").Obj(), 0, 40, "")},
			want: interfaces.SLOTargets{ITL: 40 * time.Millisecond, Attainment: 0.99, Source: "spec.slo of VariantAutoscaling default/a"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, analysis.AnalyzerCapacity, tc.vas...)
			rec := &recordingAnalyzer{}
			h.engine.analyzer = rec
			if tc.classes {
				h.cfg.UpdateServiceClasses(map[string]interfaces.ServiceClass{"premium.yaml": premium})
			}
			model := tc.vas[0].Spec.ModelID
			metrics := analysis.ModelMetrics{Window: time.Minute, RequestRate: 7, ArrivalRate: 7, ArrivalSource: analysis.ArrivalFromVLLM}
			h.source.models = map[collector.ModelKey]analysis.ModelMetrics{{Namespace: "default", ModelID: model}: metrics}
			for _, va := range tc.vas {
				h.observe(va, observed(2, 0.5, 0))
			}
			if err := h.engine.RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, tg := range h.source.targets {
				if diff := cmp.Diff(tc.want, tg.SLO); diff != "" {
					t.Errorf("target %s SLO (-want +got):\n%s", tg.VariantAutoscaling, diff)
				}
			}
			if len(rec.states) != 1 {
				t.Fatalf("analyzer called %d times, want once", len(rec.states))
			}
			if diff := cmp.Diff(tc.want, rec.states[0].SLO); diff != "" {
				t.Errorf("analyzer SLO (-want +got):\n%s", diff)
			}
			if rec.states[0].Metrics == nil {
				t.Fatal("analyzer got no model metrics")
			}
			if diff := cmp.Diff(metrics, *rec.states[0].Metrics); diff != "" {
				t.Errorf("analyzer metrics (-want +got):\n%s", diff)
			}

			// The same cycle without SLO and model metrics decides the same.
			plain := newHarness(t, analysis.AnalyzerCapacity, tc.vas...)
			for _, va := range tc.vas {
				va := va.DeepCopy()
				va.Spec.SLO = nil
				plain.vas.Update(va)
				plain.observe(va, observed(2, 0.5, 0))
			}
			if err := plain.engine.RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, va := range tc.vas {
				if got, want := h.decision(t, va), plain.decision(t, va); got.TargetReplicas != want.TargetReplicas || got.Reason != want.Reason {
					t.Errorf("%s: decision %d (%s) with SLO, %d (%s) without", va.Name, got.TargetReplicas, got.Reason, want.TargetReplicas, want.Reason)
				}
			}
		})
	}
}
