package analysis

import (
	"fmt"
	"k8s.io/utils/ptr"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// analysisView is the part of a SaturationAnalysis the SPEC 4.3 vectors assert.
type analysisView struct {
	TotalReplicas     int
	NonSaturatedCount int
	AvgSpareKv        float64
	AvgSpareQ         float64
	ShouldScaleUp     bool
	ScaleDownSafe     bool
	Variants          []variantView
}

type variantView struct {
	Name              string
	ReplicaCount      int
	NonSaturatedCount int
	SaturatedReplicas []string
}

func viewOf(a SaturationAnalysis) analysisView {
	v := analysisView{
		TotalReplicas: a.TotalReplicas, NonSaturatedCount: a.NonSaturatedCount,
		AvgSpareKv: a.AvgSpareKv, AvgSpareQ: a.AvgSpareQ,
		ShouldScaleUp: a.ShouldScaleUp, ScaleDownSafe: a.ScaleDownSafe,
	}
	for _, va := range a.Variants {
		v.Variants = append(v.Variants, variantView{va.Name, va.ReplicaCount, va.NonSaturatedCount, va.SaturatedReplicas})
	}
	return v
}

func oneVariant(readings ...kq) ModelState {
	return model(VariantState{Name: "v", Cost: 10, CurrentReplicas: len(readings), Pods: podsOf("pod", readings...)})
}

// TestAnalyzeSaturation checks the test vectors of SPEC 4.3 (config 0.80 / 5 / 0.10 / 3).
func TestAnalyzeSaturation(t *testing.T) {
	tests := map[string]struct {
		in   ModelState
		want analysisView
	}{
		"kv spare below trigger": {
			in: oneVariant(kq{0.75, 2}, kq{0.76, 2}),
			want: analysisView{TotalReplicas: 2, NonSaturatedCount: 2, AvgSpareKv: 0.045, AvgSpareQ: 3, ShouldScaleUp: true,
				Variants: []variantView{{"v", 2, 2, nil}}},
		},
		"queue spare below trigger": {
			in: oneVariant(kq{0.50, 3}, kq{0.50, 3}),
			want: analysisView{TotalReplicas: 2, NonSaturatedCount: 2, AvgSpareKv: 0.30, AvgSpareQ: 2, ShouldScaleUp: true,
				Variants: []variantView{{"v", 2, 2, nil}}},
		},
		"enough spare": {
			in: oneVariant(kq{0.50, 1}, kq{0.50, 1}),
			want: analysisView{TotalReplicas: 2, NonSaturatedCount: 2, AvgSpareKv: 0.30, AvgSpareQ: 4,
				Variants: []variantView{{"v", 2, 2, nil}}},
		},
		"scale-down safe": {
			in: oneVariant(kq{0.20, 1}, kq{0.30, 1}, kq{0.25, 1}),
			want: analysisView{TotalReplicas: 3, NonSaturatedCount: 3, AvgSpareKv: 0.55, AvgSpareQ: 4, ScaleDownSafe: true,
				Variants: []variantView{{"v", 3, 3, nil}}},
		},
		"scale-down unsafe: survivor would carry kv 1.45": {
			in: oneVariant(kq{0.70, 2}, kq{0.75, 2}),
			want: analysisView{TotalReplicas: 2, NonSaturatedCount: 2, AvgSpareKv: 0.075, AvgSpareQ: 3, ShouldScaleUp: true,
				Variants: []variantView{{"v", 2, 2, nil}}},
		},
		"single pod: fewer than 2 non-saturated": {
			in: oneVariant(kq{0.50, 2}),
			want: analysisView{TotalReplicas: 1, NonSaturatedCount: 1, AvgSpareKv: 0.30, AvgSpareQ: 3,
				Variants: []variantView{{"v", 1, 1, nil}}},
		},
		"two variants": {
			in: model(
				VariantState{Name: "v1", Cost: 10, CurrentReplicas: 2, Pods: podsOf("v1", kq{0.70, 2}, kq{0.75, 3})},
				VariantState{Name: "v2", Cost: 10, CurrentReplicas: 2, Pods: podsOf("v2", kq{0.60, 1}, kq{0.65, 2})},
			),
			want: analysisView{TotalReplicas: 4, NonSaturatedCount: 4, AvgSpareKv: 0.125, AvgSpareQ: 3,
				Variants: []variantView{{"v1", 2, 2, nil}, {"v2", 2, 2, nil}}},
		},
		"some saturated": {
			in: oneVariant(kq{0.85, 2}, kq{0.50, 6}, kq{0.60, 2}),
			want: analysisView{TotalReplicas: 3, NonSaturatedCount: 1, AvgSpareKv: 0.20, AvgSpareQ: 3,
				Variants: []variantView{{"v", 3, 1, []string{"pod-1", "pod-2"}}}},
		},
		"all saturated": {
			in: oneVariant(kq{0.85, 2}, kq{0.50, 6}, kq{0.90, 7}),
			want: analysisView{TotalReplicas: 3, ShouldScaleUp: true,
				Variants: []variantView{{"v", 3, 0, []string{"pod-1", "pod-2", "pod-3"}}}},
		},
		"empty": {
			in:   model(),
			want: analysisView{},
		},
		"variant without pods is not analysed": {
			in:   model(VariantState{Name: "v", CurrentReplicas: 2}),
			want: analysisView{},
		},
		"worked example: average spare 0.115 does not fire": {
			in: oneVariant(kq{0.65, 0}, kq{0.72, 0}),
			want: analysisView{TotalReplicas: 2, NonSaturatedCount: 2, AvgSpareKv: 0.115, AvgSpareQ: 5,
				Variants: []variantView{{"v", 2, 2, nil}}},
		},
		"worked example: average spare exactly 0.10 does not fire (strict <)": {
			in: oneVariant(kq{0.65, 0}, kq{0.75, 0}),
			want: analysisView{TotalReplicas: 2, NonSaturatedCount: 2, AvgSpareKv: 0.10, AvgSpareQ: 5,
				Variants: []variantView{{"v", 2, 2, nil}}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := viewOf(AnalyzeSaturation(tc.in, defaultCfg, time.Time{}))
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("AnalyzeSaturation() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnalyzeSaturationTimeAndReasons(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := AnalyzeSaturation(oneVariant(kq{0.75, 2}, kq{0.76, 2}), defaultCfg, now)
	if !a.AnalyzedAt.Equal(now) {
		t.Errorf("AnalyzedAt = %v, want %v", a.AnalyzedAt, now)
	}
	if want := "mean spare KV 0.045 < trigger 0.10"; a.ScaleUpReason != want {
		t.Errorf("ScaleUpReason = %q, want %q", a.ScaleUpReason, want)
	}
	a = AnalyzeSaturation(oneVariant(kq{0.50, 3}, kq{0.50, 3}), defaultCfg, now)
	if want := "mean spare queue 2.0 < trigger 3.0"; a.ScaleUpReason != want {
		t.Errorf("ScaleUpReason = %q, want %q", a.ScaleUpReason, want)
	}
	a = AnalyzeSaturation(oneVariant(kq{0.20, 1}, kq{0.30, 1}, kq{0.25, 1}), defaultCfg, now)
	if want := "spare KV would be 0.425 (>= trigger 0.10) and spare queue 3.5 (>= trigger 3.0)"; !strings.Contains(a.ScaleDownReason, want) {
		t.Errorf("ScaleDownReason = %q, want it to contain %q", a.ScaleDownReason, want)
	}
}

// TestCalculateSaturationTargets checks the test vectors of SPEC 4.4 plus the bounds improvement.
func TestCalculateSaturationTargets(t *testing.T) {
	three := []VariantAnalysis{
		{Name: "v1-expensive", Cost: 20, ReplicaCount: 2},
		{Name: "v2-cheap", Cost: 5, ReplicaCount: 2},
		{Name: "v3-medium", Cost: 15, ReplicaCount: 2},
	}
	threeStates := []VariantState{
		{Name: "v1-expensive", Cost: 20, CurrentReplicas: 2},
		{Name: "v2-cheap", Cost: 5, CurrentReplicas: 2},
		{Name: "v3-medium", Cost: 15, CurrentReplicas: 2},
	}
	tests := map[string]struct {
		analysis SaturationAnalysis
		states   []VariantState
		want     map[string]int
	}{
		"scale-up goes to the cheapest": {
			analysis: SaturationAnalysis{Variants: three, ShouldScaleUp: true},
			states:   threeStates,
			want:     map[string]int{"v1-expensive": 2, "v2-cheap": 3, "v3-medium": 2},
		},
		"scale-down comes from the most expensive": {
			analysis: SaturationAnalysis{Variants: three, ScaleDownSafe: true},
			states:   threeStates,
			want:     map[string]int{"v1-expensive": 1, "v2-cheap": 2, "v3-medium": 2},
		},
		"unreached previous target is preserved": {
			analysis: SaturationAnalysis{ShouldScaleUp: true, Variants: []VariantAnalysis{
				{Name: "v1-expensive", Cost: 20, ReplicaCount: 2}, {Name: "v2-cheap", Cost: 5, ReplicaCount: 2}}},
			states: []VariantState{
				{Name: "v1-expensive", Cost: 20, CurrentReplicas: 2, DesiredReplicas: 4},
				{Name: "v2-cheap", Cost: 5, CurrentReplicas: 2}},
			want: map[string]int{"v1-expensive": 4, "v2-cheap": 3},
		},
		"doc example: incomplete metrics keep current": {
			analysis: SaturationAnalysis{ShouldScaleUp: true, Variants: []VariantAnalysis{
				{Name: "v1-l4", Cost: 5, ReplicaCount: 2}, {Name: "v2-a100", Cost: 20, ReplicaCount: 3}}},
			states: []VariantState{
				{Name: "v1-l4", Cost: 5, CurrentReplicas: 2},
				{Name: "v2-a100", Cost: 20, CurrentReplicas: 4, DesiredReplicas: 4}},
			want: map[string]int{"v1-l4": 3, "v2-a100": 4},
		},
		"equal costs: scale-up tie goes to the first name": {
			analysis: SaturationAnalysis{ShouldScaleUp: true, Variants: []VariantAnalysis{
				{Name: "a", Cost: 10, ReplicaCount: 1}, {Name: "b", Cost: 10, ReplicaCount: 1}}},
			states: []VariantState{{Name: "a", CurrentReplicas: 1}, {Name: "b", CurrentReplicas: 1}},
			want:   map[string]int{"a": 2, "b": 1},
		},
		"equal costs: scale-down tie goes to the last name": {
			analysis: SaturationAnalysis{ScaleDownSafe: true, Variants: []VariantAnalysis{
				{Name: "a", Cost: 10, ReplicaCount: 2}, {Name: "b", Cost: 10, ReplicaCount: 2}}},
			states: []VariantState{{Name: "a", CurrentReplicas: 2}, {Name: "b", CurrentReplicas: 2}},
			want:   map[string]int{"a": 2, "b": 1},
		},
		"scale-down never below 1": {
			analysis: SaturationAnalysis{ScaleDownSafe: true, Variants: []VariantAnalysis{
				{Name: "a", Cost: 5, ReplicaCount: 2}, {Name: "b", Cost: 20, ReplicaCount: 1}}},
			states: []VariantState{{Name: "a", CurrentReplicas: 2}, {Name: "b", CurrentReplicas: 1}},
			want:   map[string]int{"a": 1, "b": 1},
		},
		"only preserved variants: no candidate": {
			analysis: SaturationAnalysis{ShouldScaleUp: true, Variants: []VariantAnalysis{{Name: "a", Cost: 5, ReplicaCount: 2}}},
			states:   []VariantState{{Name: "a", CurrentReplicas: 2, DesiredReplicas: 3}},
			want:     map[string]int{"a": 3},
		},
		"variant missing from states gets the zero state": {
			analysis: SaturationAnalysis{ShouldScaleUp: true, Variants: []VariantAnalysis{{Name: "a", Cost: 5, ReplicaCount: 2}}},
			want:     map[string]int{"a": 1},
		},
		"no analysed variants: every state keeps current": {
			analysis: SaturationAnalysis{ShouldScaleUp: true},
			states:   []VariantState{{Name: "a", CurrentReplicas: 2, DesiredReplicas: 3}, {Name: "b", CurrentReplicas: 1}},
			want:     map[string]int{"a": 2, "b": 1},
		},
		"bounds: cheapest at maxReplicas, next cheapest grows": {
			analysis: SaturationAnalysis{ShouldScaleUp: true, Variants: []VariantAnalysis{
				{Name: "cheap", Cost: 5, ReplicaCount: 3}, {Name: "dear", Cost: 20, ReplicaCount: 1}}},
			states: []VariantState{{Name: "cheap", CurrentReplicas: 3, MaxReplicas: 3}, {Name: "dear", CurrentReplicas: 1}},
			want:   map[string]int{"cheap": 3, "dear": 2},
		},
		"bounds: most expensive at minReplicas, next one shrinks": {
			analysis: SaturationAnalysis{ScaleDownSafe: true, Variants: []VariantAnalysis{
				{Name: "cheap", Cost: 5, ReplicaCount: 3}, {Name: "dear", Cost: 20, ReplicaCount: 2}}},
			states: []VariantState{{Name: "cheap", CurrentReplicas: 3}, {Name: "dear", CurrentReplicas: 2, MinReplicas: ptr.To(2)}},
			want:   map[string]int{"cheap": 2, "dear": 2},
		},
		"bounds: preserved target above maxReplicas is clamped": {
			analysis: SaturationAnalysis{Variants: []VariantAnalysis{{Name: "a", Cost: 5, ReplicaCount: 2}}},
			states:   []VariantState{{Name: "a", CurrentReplicas: 2, DesiredReplicas: 6, MaxReplicas: 4}},
			want:     map[string]int{"a": 4},
		},
		"bounds: current below minReplicas is raised": {
			analysis: SaturationAnalysis{Variants: []VariantAnalysis{{Name: "a", Cost: 5, ReplicaCount: 1}}},
			states:   []VariantState{{Name: "a", CurrentReplicas: 1, MinReplicas: ptr.To(2)}},
			want:     map[string]int{"a": 2},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := targetsOf(CalculateSaturationTargets(tc.analysis, tc.states))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("CalculateSaturationTargets() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestV1WorkedExample replays the multi-cycle examples of SPEC 4.4 cycle by cycle.
func TestV1WorkedExample(t *testing.T) {
	type cycle struct {
		current, desired int
		pods             []PodMetrics
		wantUp, wantSafe bool
		wantTarget       int
	}
	steps := []cycle{
		{current: 2, desired: 0, pods: podsOf("a", kq{0.74, 1}, kq{0.76, 2}), wantUp: true, wantTarget: 3},
		{current: 2, desired: 3, pods: podsOf("a", kq{0.74, 1}, kq{0.76, 2}), wantUp: true, wantTarget: 3},
		{current: 3, desired: 3, pods: podsOf("a", kq{0.74, 1}, kq{0.76, 2}), wantUp: true, wantTarget: 4},
		{current: 3, desired: 4, pods: podsOf("a", kq{0.5, 0}, kq{0.5, 0}, kq{0.5, 0}), wantTarget: 4},
	}
	var az V1Analyzer
	for i, c := range steps {
		t.Run(fmt.Sprintf("cycle %d", i+1), func(t *testing.T) {
			m := model(VariantState{Name: "a", Cost: 10, CurrentReplicas: c.current, DesiredReplicas: c.desired, Pods: c.pods})
			a := AnalyzeSaturation(m, defaultCfg, time.Time{})
			if a.ShouldScaleUp != c.wantUp || a.ScaleDownSafe != c.wantSafe {
				t.Errorf("ShouldScaleUp, ScaleDownSafe = %v, %v, want %v, %v", a.ShouldScaleUp, a.ScaleDownSafe, c.wantUp, c.wantSafe)
			}
			got := az.Analyze(m, defaultCfg, time.Time{}).Targets
			if len(got) != 1 || got[0].Target != c.wantTarget {
				t.Fatalf("targets = %+v, want a: %d", got, c.wantTarget)
			}
		})
	}
}

// TestV1IdleTwoVariants replays the two-variant idle example of SPEC 4.4.
func TestV1IdleTwoVariants(t *testing.T) {
	idle := func(p string) []PodMetrics { return podsOf(p, kq{0.1, 0}, kq{0.1, 0}) }
	var az V1Analyzer

	cycle1 := model(
		VariantState{Name: "A", Cost: 5, CurrentReplicas: 2, Pods: idle("a")},
		VariantState{Name: "B", Cost: 20, CurrentReplicas: 2, Pods: idle("b")},
	)
	if diff := cmp.Diff(map[string]int{"A": 2, "B": 1}, targetsOf(az.Analyze(cycle1, defaultCfg, time.Time{}).Targets)); diff != "" {
		t.Errorf("cycle 1 mismatch (-want +got):\n%s", diff)
	}
	cycle2 := model(
		VariantState{Name: "A", Cost: 5, CurrentReplicas: 2, Pods: idle("a")},
		VariantState{Name: "B", Cost: 20, CurrentReplicas: 2, DesiredReplicas: 1, Pods: idle("b")},
	)
	if diff := cmp.Diff(map[string]int{"A": 1, "B": 1}, targetsOf(az.Analyze(cycle2, defaultCfg, time.Time{}).Targets)); diff != "" {
		t.Errorf("cycle 2 mismatch (-want +got):\n%s", diff)
	}
}

func TestV1AnalyzeResult(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := ModelState{ModelID: "llama-8b", Namespace: "prod", Variants: []VariantState{
		{Name: "z-a100", Accelerator: "A100", Cost: 20, CurrentReplicas: 1, Pods: podsOf("z", kq{0.75, 2})},
		{Name: "a-l4", Accelerator: "L4", Cost: 5, CurrentReplicas: 2, Pods: podsOf("a", kq{0.75, 2})},
		{Name: "idle", Accelerator: "L4", Cost: 1, CurrentReplicas: 2},
	}}
	got := V1Analyzer{}.Analyze(m, defaultCfg, now)
	want := Result{
		ModelID: "llama-8b", Namespace: "prod", Analyzer: AnalyzerV1, AnalyzedAt: now,
		Summary: "scale-up: mean spare KV 0.050 < trigger 0.10; no decision for variants without metrics: idle",
		Targets: []VariantTarget{
			{Variant: "a-l4", Accelerator: "L4", Current: 2, Target: 3, Action: interfaces.ActionScaleUp,
				Reason: "1 of 2 replicas report metrics, so the base is the current 2; scale-up +1 (mean spare KV 0.050 < trigger 0.10); cheapest eligible variant (cost 5)"},
			{Variant: "z-a100", Accelerator: "A100", Current: 1, Target: 1, Action: interfaces.ActionNoChange,
				Reason: "all 1 replica(s) report metrics; the model's +1 goes to a-l4"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Analyze() mismatch (-want +got):\n%s", diff)
	}
}

func BenchmarkV1Analyze(b *testing.B) {
	m := benchModel()
	var az V1Analyzer
	b.ReportAllocs()
	for b.Loop() {
		az.Analyze(m, defaultCfg, time.Time{})
	}
}

// benchModel is 5 variants x 20 pods with varied readings.
func benchModel() ModelState {
	var vs []VariantState
	for v := range 5 {
		var pods []PodMetrics
		for p := range 20 {
			pods = append(pods, PodMetrics{
				Name:            fmt.Sprintf("v%d-pod-%d", v, p),
				KvCacheUsage:    float64((v*20+p)%90) / 100,
				QueueLength:     float64(p % 4),
				RunningRequests: float64(4 + p%8),
			})
		}
		vs = append(vs, VariantState{
			Name: fmt.Sprintf("variant-%d", v), Accelerator: "H100", Cost: float64(10 + v),
			CurrentReplicas: 20, KvCacheTokens: float64(100000 * (v + 1)), Pods: pods,
		})
	}
	return model(vs...)
}
