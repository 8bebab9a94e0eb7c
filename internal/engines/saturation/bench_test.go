package saturation

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// BenchmarkRunOnce measures one engine cycle over 10,000 variants of 2,000 models (5 variants
// a model, 2 pods a variant) against an in-memory Source, for each analyzer. The queries
// reported are those the Source says it issued: one collection per cycle.
func BenchmarkRunOnce(b *testing.B) {
	for _, name := range analysis.Names() {
		b.Run("analyzer="+name, func(b *testing.B) {
			h := newHarness(b, name)
			accs := []string{"L4", "A10G", "L40S", "A100", "H100"}
			for m := range 2000 {
				for v := range 5 {
					va := testutil.VariantAutoscaling(fmt.Sprintf("model-%d-%s", m, accs[v])).
						Namespace(fmt.Sprintf("ns-%d", m%50)).Model(fmt.Sprintf("model-%d", m)).
						Accelerator(accs[v]).Cost(fmt.Sprintf("%d", 5*(v+1))).Obj()
					if name == analysis.AnalyzerSLO {
						// Targets and perfParms, so that the slo analyzer sizes every model itself
						// instead of falling back to the capacity analysis.
						ms := int32(50)
						va.Spec.SLO = &wvav1alpha1.SLOSpec{ITLMilliseconds: &ms, Attainment: "0.99"}
						va.Spec.ModelProfile = &wvav1alpha1.ModelProfile{Accelerators: []wvav1alpha1.AcceleratorProfile{{Acc: accs[v], AccCount: 1,
							MaxBatchSize: 256, PerfParms: &wvav1alpha1.PerfParms{DecodeParms: wvav1alpha1.DecodeParms{Alpha: 6 + float64(v), Beta: 0.07},
								PrefillParms: wvav1alpha1.PrefillParms{Gamma: 20, Delta: 0.05}}}}}
					}
					h.vas.Update(va)
					h.observe(va, observed(2, 0.2+0.1*float64(v), float64(v)))
				}
				if name == analysis.AnalyzerSLO {
					if h.source.models == nil {
						h.source.models = map[collector.ModelKey]analysis.ModelMetrics{}
					}
					h.source.models[collector.ModelKey{Namespace: fmt.Sprintf("ns-%d", m%50), ModelID: fmt.Sprintf("model-%d", m)}] = analysis.ModelMetrics{
						ArrivalRate: 5 + float64(m%20), ArrivalSource: analysis.ArrivalFromVLLM, MeanPromptTokens: 500, MeanOutputTokens: 200,
						ITLAttainment: analysis.LatencySLI{Target: 50 * time.Millisecond, Known: true, Attainment: 0.995, Requests: 100}}
				}
			}
			// Drain triggers so that every cycle measures a send, not a drop.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				for {
					select {
					case <-h.trigger:
					case <-ctx.Done():
						return
					}
				}
			}()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := h.engine.RunOnce(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(h.calls())/float64(b.N+0), "collections/op")
			if h.decisions.Len() != 10000 {
				b.Fatalf("%d decisions, want 10000", h.decisions.Len())
			}
			if d, ok := h.decisions.Get("model-7-H100", "ns-7"); name == analysis.AnalyzerSLO && (!ok || strings.Contains(d.Reason, "fallback")) {
				b.Fatalf("the slo analyzer did not size model-7 itself: %+v", d)
			}
		})
	}
}
