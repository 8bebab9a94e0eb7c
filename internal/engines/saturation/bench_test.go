package saturation

import (
	"context"
	"fmt"
	"testing"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
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
					h.vas.Update(va)
					h.observe(va, observed(2, 0.2+0.1*float64(v), float64(v)))
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
		})
	}
}
