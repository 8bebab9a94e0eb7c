package saturation

import (
	"context"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	"sigs.k8s.io/controller-runtime/pkg/client"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// countingAnalyzer is a StatefulAnalyzer whose state counts the cycles it has seen of a model;
// it records the state it was handed per model.
type countingAnalyzer struct{ seen map[string][]any }

func (countingAnalyzer) Name() string { return "counting" }

func (c countingAnalyzer) Analyze(m analysis.ModelState, cfg interfaces.SaturationScalingConfig, now time.Time) analysis.Result {
	r, _ := c.AnalyzeWithState(m, cfg, now, nil)
	return r
}

func (c countingAnalyzer) AnalyzeWithState(m analysis.ModelState, _ interfaces.SaturationScalingConfig, now time.Time, state any) (analysis.Result, any) {
	c.seen[m.ModelID] = append(c.seen[m.ModelID], state)
	n, _ := state.(int)
	res := analysis.Result{ModelID: m.ModelID, Namespace: m.Namespace, Analyzer: "counting", AnalyzedAt: now}
	for _, v := range m.Variants {
		res.Targets = append(res.Targets, analysis.VariantTarget{Variant: v.Name, Current: v.CurrentReplicas, Target: v.CurrentReplicas, Reason: "kept"})
	}
	return res, n + 1
}

// TestAnalyzerStatePersistsPerModel: the engine hands a StatefulAnalyzer the state it returned
// for the same model in the previous cycle, keeps models apart, and forgets a model whose
// VariantAutoscalings are gone (it starts from nil when the model comes back).
func TestAnalyzerStatePersistsPerModel(t *testing.T) {
	a := testutil.VariantAutoscaling("a").Model("m1").Obj()
	b := testutil.VariantAutoscaling("b").Model("m2").Obj()
	h := newHarness(t, analysis.AnalyzerCapacity, a, b)
	ca := countingAnalyzer{seen: map[string][]any{}}
	h.engine.analyzer = ca
	h.observe(a, observed(1, 0.3, 0))
	h.observe(b, observed(1, 0.3, 0))
	run := func() {
		t.Helper()
		if err := h.engine.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	run()
	run()
	h.vas.Remove(client.ObjectKey{Namespace: b.Namespace, Name: b.Name})
	run()
	h.vas.Update(b)
	run()
	want := map[string][]any{"m1": {nil, 1, 2, 3}, "m2": {nil, 1, nil}}
	for model, w := range want {
		got := ca.seen[model]
		if len(got) != len(w) {
			t.Fatalf("%s: states %v, want %v", model, got, w)
		}
		for i := range w {
			if got[i] != w[i] {
				t.Errorf("%s cycle %d: state %v, want %v (all %v)", model, i+1, got[i], w[i], got)
			}
		}
	}
}

// TestSLOAnalyzerThroughTheEngine: with the slo analyzer, an SLO on the VariantAutoscaling, the
// perfParms and model metrics reach the analyzer, which sizes from the arrival rate; a missed
// attainment raises the headroom across cycles, which only engine-kept state can do.
func TestSLOAnalyzerThroughTheEngine(t *testing.T) {
	va := testutil.VariantAutoscaling("h100").Model("m").Accelerator("H100").Obj()
	va.Spec.MaxReplicas = ptrInt32(50)
	va.Spec.ModelProfile = &wvav1alpha1.ModelProfile{Accelerators: []wvav1alpha1.AcceleratorProfile{{Acc: "H100", AccCount: 1, MaxBatchSize: 256,
		PerfParms: &wvav1alpha1.PerfParms{DecodeParms: wvav1alpha1.DecodeParms{Alpha: 6, Beta: 0.07}, PrefillParms: wvav1alpha1.PrefillParms{Gamma: 20, Delta: 0.05}}}}}
	ms := int32(50)
	va.Spec.SLO = &wvav1alpha1.SLOSpec{ITLMilliseconds: &ms, Attainment: "0.99"}
	h := newHarness(t, analysis.AnalyzerSLO, va)
	h.observe(va, observed(2, 0.3, 0))
	key := collector.ModelKey{Namespace: va.Namespace, ModelID: "m"}
	h.source.models = map[collector.ModelKey]analysis.ModelMetrics{key: {
		ArrivalRate: 20, ArrivalSource: analysis.ArrivalFromVLLM, MeanPromptTokens: 500, MeanOutputTokens: 200,
		ITLAttainment: analysis.LatencySLI{Target: 50 * time.Millisecond, Known: true, Attainment: 0.9, Requests: 100},
	}}
	var reasons []string
	for range 3 {
		if err := h.engine.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		h.clock.Step(30 * time.Second)
		reasons = append(reasons, h.decision(t, va).Reason)
	}
	for i, want := range []string{"headroom 1.1 ", "headroom 1.21 ", "headroom 1.33 "} {
		if !strings.Contains(reasons[i], want) {
			t.Errorf("cycle %d: reason %q lacks %q", i+1, reasons[i], want)
		}
	}
	if strings.Contains(strings.Join(reasons, " "), "fallback") {
		t.Errorf("slo analyzer fell back: %v", reasons)
	}
	// The model the decision rests on is exported: headroom, capacity and the parameters.
	m := h.engine.metrics
	if got := promtestutil.ToFloat64(m.sloHeadroom.WithLabelValues(va.Namespace, "m")); math.Abs(got-1.331) > 1e-9 {
		t.Errorf("wva_slo_headroom = %g, want 1.331", got)
	}
	if got := promtestutil.ToFloat64(m.sloCapacity.WithLabelValues(va.Namespace, va.Name)); !(got > 0) || !strings.Contains(reasons[2], "sustains "+strconv.FormatFloat(got, 'g', 3, 64)) {
		t.Errorf("wva_slo_capacity_per_replica = %g, not the reason's capacity: %s", got, reasons[2])
	}
	if got := promtestutil.ToFloat64(m.sloParam.WithLabelValues(va.Namespace, va.Name, "alpha")); got != 6 {
		t.Errorf("alpha = %g, want the perfParms' 6", got)
	}
	// A variant that is gone takes its series with it.
	h.engine.forgetVanished(nil)
	if n := promtestutil.CollectAndCount(m.sloCapacity); n != 0 {
		t.Errorf("%d capacity series after the variant vanished, want 0", n)
	}
}

func ptrInt32(v int32) *int32 { return &v }
