package limiter

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAllocate(t *testing.T) {
	h100 := map[string]Pool{"h100": {GPUs: 8, Description: "the H100 GPU inventory"}}
	cases := map[string]struct {
		demands []Demand
		pools   map[string]Pool
		want    map[string]int // replicas
		limited map[string]string
	}{
		"enough for everyone": {
			demands: []Demand{{Variant: "a", GPUsPerReplica: 2, Pools: []string{"h100"}, Min: 1, Max: 10, Want: 2},
				{Variant: "b", GPUsPerReplica: 1, Pools: []string{"h100"}, Min: 1, Max: 10, Want: 4}},
			pools: h100, want: map[string]int{"a": 2, "b": 4},
		},
		"priority first": {
			demands: []Demand{{Variant: "low", Priority: 10, GPUsPerReplica: 1, Pools: []string{"h100"}, Min: 1, Max: 10, Want: 6},
				{Variant: "high", Priority: 1, GPUsPerReplica: 1, Pools: []string{"h100"}, Min: 1, Max: 10, Want: 6}},
			pools: h100, want: map[string]int{"high": 6, "low": 2},
			limited: map[string]string{"low": "the H100 GPU inventory (8 GPUs)"},
		},
		"water-filling within a priority: the small demand whole, the large ones share": {
			demands: []Demand{{Variant: "small", GPUsPerReplica: 1, Pools: []string{"h100"}, Max: 10, Want: 1},
				{Variant: "big1", GPUsPerReplica: 1, Pools: []string{"h100"}, Max: 10, Want: 9},
				{Variant: "big2", GPUsPerReplica: 1, Pools: []string{"h100"}, Max: 10, Want: 9}},
			pools: h100, want: map[string]int{"small": 1, "big1": 4, "big2": 3},
			limited: map[string]string{"big1": "the H100 GPU inventory (8 GPUs)", "big2": "the H100 GPU inventory (8 GPUs)"},
		},
		"water level counts GPUs, not replicas": {
			demands: []Demand{{Variant: "tp4", GPUsPerReplica: 4, Pools: []string{"h100"}, Max: 10, Want: 4},
				{Variant: "tp1", GPUsPerReplica: 1, Pools: []string{"h100"}, Max: 10, Want: 8}},
			pools: h100, want: map[string]int{"tp4": 1, "tp1": 4},
			limited: map[string]string{"tp4": "the H100 GPU inventory (8 GPUs)", "tp1": "the H100 GPU inventory (8 GPUs)"},
		},
		"minimums are kept even beyond the pool": {
			demands: []Demand{{Variant: "a", Priority: 1, GPUsPerReplica: 4, Pools: []string{"h100"}, Min: 2, Max: 5, Want: 5},
				{Variant: "b", Priority: 2, GPUsPerReplica: 4, Pools: []string{"h100"}, Min: 1, Max: 5, Want: 3}},
			pools: h100, want: map[string]int{"a": 2, "b": 1},
			limited: map[string]string{"a": "the H100 GPU inventory (8 GPUs)", "b": "the H100 GPU inventory (8 GPUs)"},
		},
		"a namespace quota binds before the inventory": {
			demands: []Demand{{Variant: "team-a/x", GPUsPerReplica: 1, Pools: []string{"h100", "quota/team-a"}, Max: 10, Want: 6},
				{Variant: "team-b/y", GPUsPerReplica: 1, Pools: []string{"h100"}, Max: 10, Want: 6}},
			pools: map[string]Pool{"h100": {GPUs: 8, Description: "the H100 GPU inventory"},
				"quota/team-a": {GPUs: 2, Description: "the H100 quota of namespace team-a"}},
			want:    map[string]int{"team-a/x": 2, "team-b/y": 6},
			limited: map[string]string{"team-a/x": "the H100 quota of namespace team-a (2 GPUs)"},
		},
		"no GPU, no limit; unknown pool, no limit": {
			demands: []Demand{{Variant: "cpu", Pools: []string{"h100"}, Max: 100, Want: 50},
				{Variant: "elsewhere", GPUsPerReplica: 1, Pools: []string{"mi300x"}, Max: 100, Want: 50}},
			pools: h100, want: map[string]int{"cpu": 50, "elsewhere": 50},
		},
		"want outside the bounds is clamped": {
			demands: []Demand{{Variant: "a", GPUsPerReplica: 1, Pools: []string{"h100"}, Min: 2, Max: 3, Want: 0},
				{Variant: "b", GPUsPerReplica: 1, Pools: []string{"h100"}, Min: 0, Max: 3, Want: 7}},
			pools: h100, want: map[string]int{"a": 2, "b": 3},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			res := Allocate(tc.demands, tc.pools)
			got, limited := map[string]int{}, map[string]string{}
			for _, a := range res.Allocations {
				got[a.Variant] = a.Replicas
				if a.Limited() {
					limited[a.Variant] = a.Limit
				}
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("replicas (-want +got):\n%s\nsteps: %q", d, res.Steps)
			}
			if tc.limited == nil {
				tc.limited = map[string]string{}
			}
			if d := cmp.Diff(tc.limited, limited); d != "" {
				t.Errorf("limits (-want +got):\n%s", d)
			}
		})
	}
}

func TestAllocateReportsMinimumsOverThePool(t *testing.T) {
	res := Allocate([]Demand{{Variant: "a", GPUsPerReplica: 8, Pools: []string{"p"}, Min: 2, Max: 2, Want: 2}},
		map[string]Pool{"p": {GPUs: 8, Description: "the A100 GPU inventory"}})
	if a := res.Allocations[0]; a.Replicas != 2 || a.OverMinimum != "the A100 GPU inventory (8 GPUs)" {
		t.Errorf("allocation = %+v, want 2 replicas over the minimum of the A100 inventory", a)
	}
	if res.Remaining["p"] != -8 || len(res.Steps) == 0 {
		t.Errorf("remaining = %v, steps %q", res.Remaining, res.Steps)
	}
}
