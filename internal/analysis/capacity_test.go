package analysis

import (
	"k8s.io/utils/ptr"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

func TestCapacityAnalyzer(t *testing.T) {
	zeroCfg := interfaces.SaturationScalingConfig{}
	tests := map[string]struct {
		in          ModelState
		cfg         *interfaces.SaturationScalingConfig
		want        map[string]int
		wantSummary string // prefix of Result.Summary
	}{
		"steady load: no change": {
			in:          model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 2, Pods: podsRun("a", 2, 0.5, 0, 10)}),
			want:        map[string]int{"a": 2},
			wantSummary: "no change: KV demand 1 on supply 2",
		},
		"5x burst: needed replicas in one cycle": {
			// Steady was 2 x (kv 0.3, 6 running, 0.05 KV per request). 5x the requests: 60, of
			// which 36 run (kv 0.9) and 24 wait -> demand 3.0 replicas of KV -> 3.0/0.7 = 4.29 -> 5.
			in:          model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 2, Pods: podsRun("a", 2, 0.9, 12, 18)}),
			want:        map[string]int{"a": 5},
			wantSummary: "scale-up:",
		},
		"5x burst without running requests: queue requirement": {
			// (Q + R) / (A + q_up) with A = queueLengthThreshold = 5: (24 + 10) / 7 = 4.86 -> 5.
			in:   model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 2, Pods: podsOf("a", kq{0.9, 12}, kq{0.9, 12})}),
			want: map[string]int{"a": 5},
		},
		"pending replicas count as supply: no second scale-up": {
			in: model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 5, ReadyReplicas: 2, DesiredReplicas: 5,
				Pods: podsRun("a", 2, 0.9, 12, 18)}),
			want:        map[string]int{"a": 5},
			wantSummary: "no change:",
		},
		"starting variant counts as supply and blocks scale-down": {
			in: model(
				VariantState{Name: "a", Cost: 10, CurrentReplicas: 2, Pods: podsRun("a", 2, 0.9, 12, 18)},
				VariantState{Name: "b", Cost: 10, CurrentReplicas: 3},
			),
			want:        map[string]int{"a": 2, "b": 3},
			wantSummary: "no change: KV demand 3 on supply 5 replica capacities (utilisation 0.6, scale-up above 0.7) with 24 waiting requests (queue requirement 3), below the scale-up point; scale-down is blocked by missing metrics (b has 3 replica(s) and none reports metrics)",
		},
		"in the hysteresis band: no change": {
			// 4 x 0.4 = 1.6: utilisation 0.4 <= 0.7, but 3 replicas would run at 0.53 > 0.5.
			in:          model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 4, Pods: podsRun("a", 4, 0.4, 0, 8)}),
			want:        map[string]int{"a": 4},
			wantSummary: "no change: KV demand 1.6 on supply 4 replica capacities (utilisation 0.4, scale-up above 0.7) is within the hysteresis band",
		},
		"idle: scale down to 1": {
			in:          model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 4, Pods: podsRun("a", 4, 0.02, 0, 1)}),
			want:        map[string]int{"a": 1},
			wantSummary: "scale-down:",
		},
		"idle: scale down to minReplicas": {
			in:   model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 4, MinReplicas: ptr.To(2), Pods: podsRun("a", 4, 0.02, 0, 1)}),
			want: map[string]int{"a": 2},
		},
		"moderate load: scale down only as far as the band allows": {
			// 4 x 0.2 = 0.8; 0.8 / 0.5 = 1.6 -> keep 2.
			in:   model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 4, Pods: podsRun("a", 4, 0.2, 0, 4)}),
			want: map[string]int{"a": 2},
		},
		"two variants: cheapest per capacity grows": {
			// a: 100k tokens for 10 (1e-4 per token); b: 400k tokens for 20 (5e-5 per token).
			// Demand 300k + 600k = 900k tokens, supply 600k, need 900k/0.7 = 1286k -> b +2.
			in: model(
				VariantState{Name: "a", Cost: 10, CurrentReplicas: 2, KvCacheTokens: 100_000, Pods: podsRun("a", 2, 0.9, 12, 18)},
				VariantState{Name: "b", Cost: 20, CurrentReplicas: 1, KvCacheTokens: 400_000, Pods: podsRun("b", 1, 0.9, 12, 18)},
			),
			want: map[string]int{"a": 2, "b": 3},
		},
		"two variants: most expensive per capacity shrinks": {
			// Demand 60k + 240k = 300k, keep 300k/0.5 = 600k of 1000k: a -1 (100k), b keeps 2 (400k too big).
			in: model(
				VariantState{Name: "a", Cost: 10, CurrentReplicas: 2, KvCacheTokens: 100_000, Pods: podsRun("a", 2, 0.3, 0, 6)},
				VariantState{Name: "b", Cost: 20, CurrentReplicas: 2, KvCacheTokens: 400_000, Pods: podsRun("b", 2, 0.3, 0, 6)},
			),
			want: map[string]int{"a": 1, "b": 2},
		},
		"two variants without token capacities: cost decides": {
			in: model(
				VariantState{Name: "cheap", Cost: 5, CurrentReplicas: 2, Pods: podsRun("c", 2, 0.9, 12, 18)},
				VariantState{Name: "dear", Cost: 20, CurrentReplicas: 1, KvCacheTokens: 400_000, Pods: podsRun("d", 1, 0.3, 0, 6)},
			),
			// KV demand 3.0 + 0.3 = 3.3 replica capacities, need 4.71 of 3 -> cheap +2.
			want: map[string]int{"cheap": 4, "dear": 1},
		},
		"maxReplicas caps scale-up and spills to the next variant": {
			in: model(
				VariantState{Name: "cheap", Cost: 5, CurrentReplicas: 2, MaxReplicas: 3, Pods: podsRun("c", 2, 0.9, 12, 18)},
				VariantState{Name: "dear", Cost: 20, CurrentReplicas: 1, Pods: podsRun("d", 1, 0.9, 12, 18)},
			),
			// Demand 4.5, need 6.43 of 3: cheap +1 (max 3), dear +3.
			want: map[string]int{"cheap": 3, "dear": 4},
		},
		"every variant at maxReplicas": {
			in:          model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 2, MaxReplicas: 4, Pods: podsRun("a", 2, 0.9, 12, 18)}),
			want:        map[string]int{"a": 4},
			wantSummary: "scale-up: KV demand 3 on supply 2 replica capacities (utilisation 1.5, scale-up above 0.7) with 24 waiting requests (queue requirement 3); the model needs 4.29 replica capacities, so +2 replica(s), 0.286 replica capacities short because every variant is at maxReplicas",
		},
		"current above maxReplicas is lowered": {
			in:   model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 6, MaxReplicas: 4, Pods: podsRun("a", 6, 0.5, 0, 10)}),
			want: map[string]int{"a": 4},
		},
		"current below minReplicas is raised": {
			in:   model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 1, MinReplicas: ptr.To(3), Pods: podsRun("a", 1, 0.5, 0, 10)}),
			want: map[string]int{"a": 3},
		},
		"empty input": {
			in:          model(),
			want:        map[string]int{},
			wantSummary: "no metrics:",
		},
		"no pods anywhere: keep current": {
			in:          model(VariantState{Name: "a", CurrentReplicas: 3, DesiredReplicas: 5}, VariantState{Name: "b", CurrentReplicas: 1}),
			want:        map[string]int{"a": 3, "b": 1},
			wantSummary: "no metrics:",
		},
		"idle with a variant missing metrics: no scale-down": {
			in: model(
				VariantState{Name: "a", Cost: 10, CurrentReplicas: 4, Pods: podsRun("a", 4, 0.02, 0, 1)},
				VariantState{Name: "b", Cost: 10, CurrentReplicas: 2},
			),
			want: map[string]int{"a": 4, "b": 2},
		},
		"idle with ready replicas missing metrics: no scale-down": {
			in:   model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 4, ReadyReplicas: 4, Pods: podsRun("a", 3, 0.02, 0, 1)}),
			want: map[string]int{"a": 4},
		},
		"ready replicas without metrics carry the mean load": {
			// 2 of 4 ready pods report kv 0.9: demand is extrapolated to 3.6 -> 3.6/0.7 = 5.14 -> 6.
			in:   model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 4, ReadyReplicas: 4, Pods: podsRun("a", 2, 0.9, 0, 18)}),
			want: map[string]int{"a": 6},
		},
		"variant at zero replicas may be chosen for scale-up": {
			in: model(
				VariantState{Name: "a", Cost: 10, CurrentReplicas: 2, Pods: podsRun("a", 2, 0.9, 12, 18)},
				VariantState{Name: "b", Cost: 1},
			),
			want: map[string]int{"a": 2, "b": 3},
		},
		"batch-limited queue without KV pressure scales up": {
			// kv 0.3 but 4 waiting per replica: (8 + 20) / (10 + 2) = 2.33 -> 3.
			in:   model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 2, Pods: podsRun("a", 2, 0.3, 4, 10)}),
			want: map[string]int{"a": 3},
		},
		"waiting requests hold the fleet: no scale-down": {
			// KV alone would allow 1 replica (0.5 / 0.5), but (4 + 16) / (4 + 1.43) = 3.68 replicas
			// are needed to keep the waiting queue at or below q_down.
			in:          model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 4, Pods: podsRun("a", 4, 0.1, 1, 4)}),
			want:        map[string]int{"a": 4},
			wantSummary: "no change:",
		},
		"custom scaleDownUtilization widens the band": {
			in: model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 4, Pods: podsRun("a", 4, 0.2, 0, 4)}),
			cfg: &interfaces.SaturationScalingConfig{KvCacheThreshold: 0.8, QueueLengthThreshold: 5, KvSpareTrigger: 0.1,
				QueueSpareTrigger: 3, ScaleDownUtilization: 0.2},
			want: map[string]int{"a": 4},
		},
		"zero config disables scaling": {
			in:          model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 2, Pods: podsRun("a", 2, 0.9, 12, 18)}),
			cfg:         &zeroCfg,
			want:        map[string]int{"a": 2},
			wantSummary: "no change: kvCacheThreshold - kvSpareTrigger and queueLengthThreshold - queueSpareTrigger are both <= 0",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := defaultCfg
			if tc.cfg != nil {
				cfg = *tc.cfg
			}
			got := CapacityAnalyzer{}.Analyze(tc.in, cfg, time.Time{})
			if diff := cmp.Diff(tc.want, targetsOf(got.Targets)); diff != "" {
				t.Errorf("targets mismatch (-want +got):\n%s\nsummary: %s", diff, got.Summary)
			}
			if !strings.HasPrefix(got.Summary, tc.wantSummary) {
				t.Errorf("Summary = %q, want prefix %q", got.Summary, tc.wantSummary)
			}
			for _, tg := range got.Targets {
				if tg.Action != interfaces.ActionFor(tg.Current, tg.Target) || tg.Reason == "" {
					t.Errorf("target %+v: inconsistent action or empty reason", tg)
				}
			}
		})
	}
}

func TestAnalyzeCapacity(t *testing.T) {
	got := AnalyzeCapacity(model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 2, Pods: podsRun("a", 2, 0.9, 12, 18)}), defaultCfg)
	want := CapacityAnalysis{
		CapacityThresholds: CapacityThresholds{ScaleUpUtilization: 0.7, ScaleDownUtilization: 0.5, ScaleUpQueue: 2, ScaleDownQueue: 2 * 0.5 / 0.7},
		RunningKnown:       true,
		KvPerRequest:       0.05,
		Demand:             3,
		Waiting:            24,
		Running:            36,
		Concurrency:        18,
		Supply:             2,
		Replicas:           2,
		ReplicaCapacity:    1,
		NeedKv:             3 / 0.7,
		NeedQueue:          3,
		Need:               3 / 0.7,
		NeedDown:           3 / 0.5,
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("AnalyzeCapacity() mismatch (-want +got):\n%s", diff)
	}
}

func TestCapacityThresholdsFor(t *testing.T) {
	tests := map[string]struct {
		cfg  interfaces.SaturationScalingConfig
		want CapacityThresholds
	}{
		"defaults": {
			cfg:  defaultCfg,
			want: CapacityThresholds{ScaleUpUtilization: 0.7, ScaleDownUtilization: 0.5, ScaleUpQueue: 2, ScaleDownQueue: 2 * 0.5 / 0.7},
		},
		"explicit scale-down utilisation": {
			cfg:  interfaces.SaturationScalingConfig{KvCacheThreshold: 0.8, KvSpareTrigger: 0.1, QueueLengthThreshold: 5, QueueSpareTrigger: 3, ScaleDownUtilization: 0.35},
			want: CapacityThresholds{ScaleUpUtilization: 0.7, ScaleDownUtilization: 0.35, ScaleUpQueue: 2, ScaleDownQueue: 1},
		},
		"narrow thresholds: band is half of u_up": {
			cfg:  interfaces.SaturationScalingConfig{KvCacheThreshold: 0.3, KvSpareTrigger: 0.1, QueueLengthThreshold: 3, QueueSpareTrigger: 3},
			want: CapacityThresholds{ScaleUpUtilization: 0.2, ScaleDownUtilization: 0.1},
		},
		"zero config": {},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, CapacityThresholdsFor(tc.cfg), cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("CapacityThresholdsFor() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestScaleDownUtilizationValidation covers the optional field this package added to the config.
func TestScaleDownUtilizationValidation(t *testing.T) {
	tests := map[string]struct {
		value   float64
		wantErr string
	}{
		"unset":            {value: 0},
		"inside the band":  {value: 0.5},
		"negative":         {value: -0.1, wantErr: "scaleDownUtilization must be >= 0 and < 1"},
		"one":              {value: 1, wantErr: "scaleDownUtilization must be >= 0 and < 1"},
		"equal to u_up":    {value: 0.7, wantErr: "scaleDownUtilization (0.7) must be below kvCacheThreshold - kvSpareTrigger"},
		"above u_up":       {value: 0.75, wantErr: "scaleDownUtilization (0.75) must be below"},
		"below but nearby": {value: 0.69},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := defaultCfg
			cfg.ScaleDownUtilization = tc.value
			err := cfg.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestCapacitySettles checks that once the answered burst is spread over the new replicas, the
// next cycles change nothing, and that the fleet shrinks once the burst is over.
func TestCapacitySettles(t *testing.T) {
	var az CapacityAnalyzer
	burst := model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 2, Pods: podsRun("a", 2, 0.9, 12, 18)})
	r := az.Analyze(burst, defaultCfg, time.Time{})
	if got := r.Targets[0].Target; got != 5 {
		t.Fatalf("burst target = %d, want 5", got)
	}
	// 60 requests x 0.05 KV spread over 5 ready replicas: 12 running, kv 0.6 each.
	spread := model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 5, DesiredReplicas: 5, Pods: podsRun("a", 5, 0.6, 0, 12)})
	if got := az.Analyze(spread, defaultCfg, time.Time{}).Targets[0]; got.Target != 5 {
		t.Errorf("after the burst target = %d (%s), want 5", got.Target, got.Reason)
	}
	// Load back to the steady 12 requests: 0.6 KV on 5 replicas -> 0.6/0.5 = 1.2 -> 2.
	calm := model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 5, DesiredReplicas: 5, Pods: podsRun("a", 5, 0.12, 0, 2.4)})
	if got := az.Analyze(calm, defaultCfg, time.Time{}).Targets[0]; got.Target != 2 {
		t.Errorf("after the load drop target = %d (%s), want 2", got.Target, got.Reason)
	}
}

func TestCapacityReasons(t *testing.T) {
	r := CapacityAnalyzer{}.Analyze(model(
		VariantState{Name: "a", Cost: 10, CurrentReplicas: 2, KvCacheTokens: 100_000, Pods: podsRun("a", 2, 0.3, 0, 6)},
		VariantState{Name: "b", Cost: 20, CurrentReplicas: 2, KvCacheTokens: 400_000, Pods: podsRun("b", 2, 0.3, 0, 6)},
	), defaultCfg, time.Time{})
	want := []VariantTarget{
		{Variant: "a", Current: 2, Target: 1, Action: interfaces.ActionScaleDown,
			Reason: "scale-down -1: removed in most-expensive-per-capacity order (cost 0.1 per 1k tokens); the model keeps 900000 of 1000000 tokens and needs 600000 to stay <= utilisation 0.5"},
		{Variant: "b", Current: 2, Target: 2, Action: interfaces.ActionNoChange,
			Reason: "no change: capacity is removed from variants dearer per capacity, or this one is at its lower bound"},
	}
	if diff := cmp.Diff(want, r.Targets); diff != "" {
		t.Errorf("targets mismatch (-want +got):\n%s", diff)
	}
}

func TestNew(t *testing.T) {
	for _, name := range []string{"", AnalyzerV1, AnalyzerCapacity} {
		a, err := New(name)
		if err != nil {
			t.Fatalf("New(%q) = %v", name, err)
		}
		want := name
		if name == "" {
			want = DefaultAnalyzer
		}
		if a.Name() != want {
			t.Errorf("New(%q).Name() = %q, want %q", name, a.Name(), want)
		}
	}
	_, err := New("v2")
	if err == nil || !strings.Contains(err.Error(), `unknown analyzer "v2": valid names are capacity, slo, v1`) {
		t.Errorf("New(v2) error = %v", err)
	}
}

func BenchmarkCapacityAnalyze(b *testing.B) {
	m := benchModel()
	var az CapacityAnalyzer
	b.ReportAllocs()
	for b.Loop() {
		az.Analyze(m, defaultCfg, time.Time{})
	}
}

func TestCapacityQueueOnlyConfig(t *testing.T) {
	cfg := interfaces.SaturationScalingConfig{QueueLengthThreshold: 5, QueueSpareTrigger: 3}
	var az CapacityAnalyzer
	idle := model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 4, Pods: podsRun("a", 4, 0.02, 0, 1)})
	if got := targetsOf(az.Analyze(idle, cfg, time.Time{}).Targets); got["a"] != 4 {
		t.Errorf("idle target = %d, want 4 (no scale-down without the KV signal)", got["a"])
	}
	queued := model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 2, Pods: podsRun("a", 2, 0.3, 4, 10)})
	if got := targetsOf(az.Analyze(queued, cfg, time.Time{}).Targets); got["a"] != 3 {
		t.Errorf("queued target = %d, want 3", got["a"])
	}
}

// A queue on a small replica must not be read with the small replica's concurrency on a large
// one: each pod's queue is judged in its own replica's units.
func TestCapacityQueueNeedIsPerPod(t *testing.T) {
	cfg := interfaces.DefaultSaturationScalingConfig() // u_up 0.7, q_up 2
	m := ModelState{ModelID: "m", Namespace: "ns", Variants: []VariantState{
		{Name: "small", Cost: 1, CurrentReplicas: 1, KvCacheTokens: 100_000,
			Pods: []PodMetrics{{Name: "s-0", KvCacheUsage: 0.5, QueueLength: 20, RunningRequests: 100}}},
		{Name: "large", Cost: 4, CurrentReplicas: 1, KvCacheTokens: 400_000,
			Pods: []PodMetrics{{Name: "l-0", KvCacheUsage: 0.1, QueueLength: 0, RunningRequests: 100}}},
	}}
	a := AnalyzeCapacity(m, cfg)
	want := 100_000*(100.0+20)/(100+2) + 400_000*0.1/0.7
	if math.Abs(a.NeedQueue-want) > 1 {
		t.Errorf("NeedQueue = %.0f, want %.0f", a.NeedQueue, want)
	}
}

// A replica with a large KV cache can be compute-bound: with an ITL target and the decode
// latency model, a batch beyond what keeps alpha + beta*batch within the target asks for more
// replicas even though its KV usage looks low.
func TestCapacityITLTargetLimitsBatch(t *testing.T) {
	variant := VariantState{Name: "h100", Cost: 3, CurrentReplicas: 2, KvCacheTokens: 400_000,
		DecodeAlphaMs: 6, DecodeBetaMs: 0.07, // batch limit at 50 ms: (50-6)/0.07 ≈ 629
		Pods: []PodMetrics{
			{Name: "h-0", KvCacheUsage: 0.3, RunningRequests: 600},
			{Name: "h-1", KvCacheUsage: 0.3, RunningRequests: 600},
		}}
	m := ModelState{ModelID: "m", Namespace: "ns", Variants: []VariantState{variant}}
	cfg := interfaces.DefaultSaturationScalingConfig()

	without := CapacityAnalyzer{}.Analyze(m, cfg, time.Time{})
	if got := without.Targets[0].Target; got != 2 {
		t.Fatalf("without an ITL target: target %d, want 2 (KV 0.3 is in the band): %s", got, without.Targets[0].Reason)
	}
	cfg.ITLTargetMs = 50
	with := CapacityAnalyzer{}.Analyze(m, cfg, time.Time{})
	// 1200 running / (629 * 0.7) = 2.73 replicas -> 3.
	if got := with.Targets[0].Target; got != 3 {
		t.Errorf("with an ITL target of 50 ms: target %d, want 3: %s", got, with.Targets[0].Reason)
	}
	if a := AnalyzeCapacity(m, cfg); math.Abs(a.NeedBatch-1200/((50.0-6)/0.07*0.7)*400_000) > 1 {
		t.Errorf("NeedBatch = %.0f", a.NeedBatch)
	}
}

// TestCapacityKeepsPendingScaleDown: while b's replicas report nothing, a's previous decision
// below its current replicas (a scale-down not carried out yet) stands when the rest of the
// fleet covers the need, and does not when it would not.
func TestCapacityKeepsPendingScaleDown(t *testing.T) {
	var az CapacityAnalyzer
	silent := VariantState{Name: "b", Cost: 20, CurrentReplicas: 2, ReadyReplicas: 2}
	for _, c := range []struct {
		name    string
		kv      float64
		running float64
		want    int
	}{
		{"idle: 6 replicas cover the need", 0.05, 1, 6},
		{"busy: 6 replicas would not", 0.8, 16, 8},
	} {
		a := VariantState{Name: "a", Cost: 5, CurrentReplicas: 8, ReadyReplicas: 8, DesiredReplicas: 6, Pods: podsRun("a", 8, c.kv, 0, c.running)}
		r := az.Analyze(model(a, silent), defaultCfg, time.Time{})
		got := targetsOf(r.Targets)
		if got["a"] != c.want || got["b"] != 2 {
			t.Errorf("%s: targets %v, want a=%d b=2: %s", c.name, got, c.want, r.Summary)
		}
	}
}
