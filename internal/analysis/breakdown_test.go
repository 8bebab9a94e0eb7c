package analysis

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/forecast"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/mix"
)

func TestNewSLOBreakdown(t *testing.T) {
	entries := []*sloVariant{
		{st: VariantState{Name: "a-h100", Cost: 20}, base: 1, capacity: 12, why: "bound by ITL", fitted: true},
		{st: VariantState{Name: "b-l4", Cost: 5}, base: 2, why: "no perfParms decode parameters"},
	}
	fc := forecast.Forecast{Level: 9, Expected: 10, Margin: 2, Planned: 12}
	got := newSLOBreakdown(9.5, ArrivalFromGateway, 2*time.Minute, fc, 12, SLOState{Headroom: 1.1}, "attainment TTFT 0.95 misses 0.99: headroom raised",
		13.2, 12, mix.Result{Replicas: []int{2, 2}, Capacity: 24, Feasible: true}, "scale-up", entries, []int{2, 2})
	want := &SLOBreakdown{ArrivalRate: 9.5, ArrivalSource: "gateway", Horizon: 2 * time.Minute, Level: 9, Expected: 10, Margin: 2, Planned: 12,
		Headroom: 1.1, Feedback: "attainment TTFT 0.95 misses 0.99: headroom raised", Needed: 13.2, CurrentCapacity: 12, ChosenCapacity: 24,
		ChosenCost: 50, Feasible: true, Verdict: "scale-up", Variants: []SLOVariantBreakdown{
			{Name: "a-h100", Cost: 20, CapacityPerReplica: 12, Bound: "bound by ITL", Fitted: true, Current: 1, Target: 2},
			{Name: "b-l4", Cost: 5, Bound: "no perfParms decode parameters", Current: 2, Target: 2}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("newSLOBreakdown (-want +got):\n%s", diff)
	}
}
