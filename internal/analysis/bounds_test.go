package analysis

import (
	"math"
	"strings"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

func TestClampCount(t *testing.T) {
	tests := map[string]struct {
		x      float64
		lo, hi int
		want   int
	}{
		"inside":             {x: 7, lo: 0, hi: 100, want: 7},
		"fraction truncated": {x: 7.9, lo: 0, hi: 100, want: 7},
		"NaN gives lo":       {x: math.NaN(), lo: 3, hi: 100, want: 3},
		"+Inf gives hi":      {x: math.Inf(1), lo: 0, hi: 100, want: 100},
		"-Inf gives lo":      {x: math.Inf(-1), lo: 1, hi: 100, want: 1},
		"1e20 gives hi":      {x: 1e20, lo: 0, hi: math.MaxInt, want: math.MaxInt},
		"-1e20 gives lo":     {x: -1e20, lo: math.MinInt, hi: 0, want: math.MinInt},
		"hi below lo":        {x: 50, lo: 10, hi: 5, want: 10},
		"2^63 at MaxInt":     {x: math.Ldexp(1, 63), lo: 0, hi: math.MaxInt, want: math.MaxInt},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ClampCount(tc.x, tc.lo, tc.hi); got != tc.want {
				t.Errorf("ClampCount(%g, %d, %d) = %d, want %d", tc.x, tc.lo, tc.hi, got, tc.want)
			}
		})
	}
}

// TestHugeWaitingQueue is the overflow of issue 7: one replica, no maxReplicas, a waiting queue
// of 1e18 gave a target of 2147483649 (MaxInt32 + the current replica) and 1e20 a negative
// target labelled scale-down. Both must stop at DefaultMaxReplicas.
func TestHugeWaitingQueue(t *testing.T) {
	for _, waiting := range []float64{1e18, 1e20, 1e308} {
		for _, az := range []Analyzer{CapacityAnalyzer{}, V1Analyzer{}} {
			m := model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 1,
				Pods: []PodMetrics{{Name: "a-1", KvCacheUsage: 0.5, QueueLength: waiting, RunningRequests: 4}}})
			res := az.Analyze(m, defaultCfg, time.Time{})
			want := DefaultMaxReplicas
			if az.Name() == AnalyzerV1 {
				want = 2 // v1 moves by one replica per cycle
			}
			if len(res.Targets) != 1 || res.Targets[0].Target != want || res.Targets[0].Action != interfaces.ActionScaleUp {
				t.Errorf("%s, waiting %g: targets %+v, want one scale-up to %d", az.Name(), waiting, res.Targets, want)
			}
			assertFinite(t, res)
		}
	}
}

// TestTinyThresholds: thresholds that passed validation (a scale-up utilisation of 1e-12, a
// queue threshold of 1e-300) made the capacity analyzer divide by almost nothing. Validation now
// rejects them, naming the key, and an analyzer handed them anyway keeps current replicas.
func TestTinyThresholds(t *testing.T) {
	tiny := map[string]struct {
		cfg     interfaces.SaturationScalingConfig
		wantKey string
	}{
		"kv band 1e-12": {cfg: interfaces.SaturationScalingConfig{KvCacheThreshold: 0.8, KvSpareTrigger: 0.8 - 1e-12,
			QueueLengthThreshold: 5, QueueSpareTrigger: 3}, wantKey: "kvSpareTrigger"},
		"queue threshold 1e-300": {cfg: interfaces.SaturationScalingConfig{KvCacheThreshold: 0.8, KvSpareTrigger: 0.1,
			QueueLengthThreshold: 1e-300}, wantKey: "queueLengthThreshold"},
	}
	for name, tc := range tiny {
		t.Run(name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantKey) {
				t.Errorf("Validate() = %v, want an error starting with %q", err, tc.wantKey)
			}
			m := model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 2, Pods: podsOf("a", kq{0.9, 3}, kq{0.9, 3})})
			for _, az := range []Analyzer{CapacityAnalyzer{}, V1Analyzer{}} {
				res := az.Analyze(m, tc.cfg, time.Time{})
				if got := targetsOf(res.Targets)["a"]; got != 2 {
					t.Errorf("%s: target %d, want 2 (invalid thresholds keep current replicas); summary %q", az.Name(), got, res.Summary)
				}
				if !strings.Contains(res.Summary, tc.wantKey) {
					t.Errorf("%s: summary %q does not name %s", az.Name(), res.Summary, tc.wantKey)
				}
				assertFinite(t, res)
			}
		})
	}
}

func TestDefaultMaxReplicas(t *testing.T) {
	tests := map[string]struct {
		v      VariantState
		lo, hi int
	}{
		"unset":                {v: VariantState{}, lo: 1, hi: DefaultMaxReplicas},
		"unset, above the cap": {v: VariantState{CurrentReplicas: 300}, lo: 1, hi: 300},
		"set":                  {v: VariantState{MaxReplicas: 500}, lo: 1, hi: 500},
		"min above the cap":    {v: VariantState{MinReplicas: ptr.To(150)}, lo: 150, hi: 150},
		"max below min":        {v: VariantState{MinReplicas: ptr.To(5), MaxReplicas: 3}, lo: 5, hi: 5},
		"min zero, max unset":  {v: VariantState{MinReplicas: ptr.To(0)}, lo: 0, hi: DefaultMaxReplicas},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if lo, hi := tc.v.Bounds(); lo != tc.lo || hi != tc.hi {
				t.Errorf("Bounds() = [%d, %d], want [%d, %d]", lo, hi, tc.lo, tc.hi)
			}
		})
	}
	// A variant already above the default cap without maxReplicas is not cut down to it: the
	// default bounds growth only. Under load it may not grow either.
	busy := model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 300, Pods: podsRun("a", 300, 0.95, 5, 10)})
	for _, az := range []Analyzer{CapacityAnalyzer{}, V1Analyzer{}} {
		res := az.Analyze(busy, defaultCfg, time.Time{})
		if got := res.Targets[0].Target; got != 300 {
			t.Errorf("%s: target %d for 300 saturated replicas without maxReplicas, want 300 (no growth past the default cap, no cut): %s",
				az.Name(), got, res.Targets[0].Reason)
		}
	}
	// Growth from below stops at the default cap and says why.
	grow := model(VariantState{Name: "a", Cost: 10, CurrentReplicas: 90, Pods: podsRun("a", 90, 0.99, 50, 10)})
	for _, az := range []Analyzer{CapacityAnalyzer{}} {
		res := az.Analyze(grow, defaultCfg, time.Time{})
		if res.Targets[0].Target != DefaultMaxReplicas {
			t.Errorf("%s: target %+v from 90 saturated replicas, want the default cap %d", az.Name(), res.Targets[0], DefaultMaxReplicas)
		}
	}
}

// assertFinite fails when a reason or the summary is empty or shows a NaN or an infinity.
func assertFinite(t *testing.T, res Result) {
	t.Helper()
	for _, s := range append([]string{res.Summary}, reasonsOf(res)...) {
		if s == "" || strings.Contains(s, "NaN") || strings.Contains(s, "Inf") {
			t.Errorf("%s: empty or non-finite text %q", res.Analyzer, s)
		}
	}
}

func reasonsOf(res Result) []string {
	out := make([]string, 0, len(res.Targets))
	for _, tg := range res.Targets {
		out = append(out, tg.Reason)
	}
	return out
}

// fuzzSeeds are the interesting values of every float input.
var fuzzSeeds = []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, 1e308, -1, 1e-300, 0.5, 5}

// addFuzzSeeds adds a corpus that takes each interesting value in every float position of a
// realistic base input, and the extremes in every int position.
func addFuzzSeeds(f *testing.F) {
	base := fuzzInput{kv: 0.5, queue: 2, running: 8, kv2: 0.3, queue2: 0, running2: 4, cost: 10, cost2: 20,
		tokens: 0, tokens2: 0, alpha: 5, beta: 0.5, kvThr: 0.8, qThr: 5, kvSpare: 0.1, qSpare: 3, sdu: 0, itl: 0,
		pods: 2, current: 2, ready: 2, desired: 2, minR: -1, maxR: 0, pods2: 1, current2: 1, maxR2: 0}
	f.Add(base.args()...)
	floats := base.floats()
	for i := range floats {
		for _, v := range fuzzSeeds {
			in := base
			fs := in.floats()
			*fs[i] = v
			f.Add(in.args()...)
		}
	}
	for _, n := range []int{0, 1, math.MaxInt32, math.MaxInt, -1, math.MinInt} {
		for i := range base.ints() {
			in := base
			*in.ints()[i] = n
			f.Add(in.args()...)
		}
	}
}

// fuzzInput is one fuzzed model: variant a with up to 8 pods alternating two readings, and
// variant b with up to 8 pods of the second reading.
type fuzzInput struct {
	kv, queue, running, kv2, queue2, running2, cost, cost2, tokens, tokens2, alpha, beta,
	kvThr, qThr, kvSpare, qSpare, sdu, itl float64
	pods, current, ready, desired, minR, maxR, pods2, current2, maxR2 int
}

func (in *fuzzInput) floats() []*float64 {
	return []*float64{&in.kv, &in.queue, &in.running, &in.kv2, &in.queue2, &in.running2, &in.cost, &in.cost2,
		&in.tokens, &in.tokens2, &in.alpha, &in.beta, &in.kvThr, &in.qThr, &in.kvSpare, &in.qSpare, &in.sdu, &in.itl}
}

func (in *fuzzInput) ints() []*int {
	return []*int{&in.pods, &in.current, &in.ready, &in.desired, &in.minR, &in.maxR, &in.pods2, &in.current2, &in.maxR2}
}

func (in fuzzInput) args() []any {
	var out []any
	for _, p := range in.floats() {
		out = append(out, *p)
	}
	for _, p := range in.ints() {
		out = append(out, *p)
	}
	return out
}

func (in fuzzInput) model() (ModelState, interfaces.SaturationScalingConfig) {
	pod := func(name string, i int) PodMetrics {
		if i%2 == 0 {
			return PodMetrics{Name: name, KvCacheUsage: in.kv, QueueLength: in.queue, RunningRequests: in.running}
		}
		return PodMetrics{Name: name, KvCacheUsage: in.kv2, QueueLength: in.queue2, RunningRequests: in.running2}
	}
	a := VariantState{Name: "a", Accelerator: "H100", Cost: in.cost, CurrentReplicas: in.current, ReadyReplicas: in.ready,
		DesiredReplicas: in.desired, MaxReplicas: in.maxR, KvCacheTokens: in.tokens, DecodeAlphaMs: in.alpha, DecodeBetaMs: in.beta}
	if in.minR >= 0 {
		a.MinReplicas = ptr.To(in.minR)
	}
	for i := range min(max(in.pods, 0), 8) {
		a.Pods = append(a.Pods, pod("a-"+string(rune('0'+i)), i))
	}
	b := VariantState{Name: "b", Accelerator: "L4", Cost: in.cost2, CurrentReplicas: in.current2, MaxReplicas: in.maxR2,
		KvCacheTokens: in.tokens2, MinReplicas: ptr.To(0)}
	for i := range min(max(in.pods2, 0), 8) {
		b.Pods = append(b.Pods, pod("b-"+string(rune('0'+i)), 1))
	}
	cfg := interfaces.SaturationScalingConfig{KvCacheThreshold: in.kvThr, QueueLengthThreshold: in.qThr, KvSpareTrigger: in.kvSpare,
		QueueSpareTrigger: in.qSpare, ScaleDownUtilization: in.sdu, ITLTargetMs: in.itl}
	return model(a, b), cfg
}

// wantBounds is the documented rule for a variant's bounds, written out independently of
// VariantState.Bounds: minReplicas (1 when unset, negative read as 0, at most MaxInt32) and
// maxReplicas (DefaultMaxReplicas when unset or negative), never below minReplicas.
func wantBounds(v VariantState) (lo, hi int) {
	lo = 1
	if v.MinReplicas != nil {
		lo = min(max(*v.MinReplicas, 0), math.MaxInt32)
	}
	hi = min(v.MaxReplicas, math.MaxInt32)
	if hi <= 0 {
		hi = max(DefaultMaxReplicas, min(max(v.CurrentReplicas, 0), math.MaxInt32)) // growth only
	}
	return lo, max(hi, lo)
}

// checkAnalyzer runs az on in (with its thresholds and with the defaults) and fails on a target
// outside its bounds, an inconsistent action, or an empty or non-finite reason.
func checkAnalyzer(t *testing.T, az Analyzer, in fuzzInput) {
	m, cfg := in.model()
	for _, c := range []interfaces.SaturationScalingConfig{cfg, interfaces.DefaultSaturationScalingConfig()} {
		res := az.Analyze(m, c, time.Time{})
		byName := map[string]VariantState{}
		for _, v := range m.Variants {
			byName[v.Name] = v
		}
		for _, tg := range res.Targets {
			v, ok := byName[tg.Variant]
			if !ok {
				t.Fatalf("%s: target for unknown variant %q", az.Name(), tg.Variant)
			}
			lo, hi := wantBounds(v)
			if tg.Target < lo || tg.Target > hi || tg.Target < 0 {
				t.Errorf("%s, cfg %+v: %s target %d outside [%d, %d] (current %d); reason %q",
					az.Name(), c, tg.Variant, tg.Target, lo, hi, tg.Current, tg.Reason)
			}
			if tg.Action != interfaces.ActionFor(tg.Current, tg.Target) {
				t.Errorf("%s: %s action %s for %d -> %d", az.Name(), tg.Variant, tg.Action, tg.Current, tg.Target)
			}
		}
		assertFinite(t, res)
	}
}

func fuzzAnalyzer(f *testing.F, az Analyzer) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, kv, queue, running, kv2, queue2, running2, cost, cost2, tokens, tokens2, alpha, beta,
		kvThr, qThr, kvSpare, qSpare, sdu, itl float64, pods, current, ready, desired, minR, maxR, pods2, current2, maxR2 int) {
		checkAnalyzer(t, az, fuzzInput{kv, queue, running, kv2, queue2, running2, cost, cost2, tokens, tokens2, alpha, beta,
			kvThr, qThr, kvSpare, qSpare, sdu, itl, pods, current, ready, desired, minR, maxR, pods2, current2, maxR2})
	})
}

// FuzzCapacityAnalyzer: for every input (NaN, infinite, negative, huge and tiny readings,
// thresholds, costs, KV capacities, replica counts and bounds) the capacity analyzer returns
// targets within [min, max] (DefaultMaxReplicas when max is unset) with finite reasons.
func FuzzCapacityAnalyzer(f *testing.F) { fuzzAnalyzer(f, CapacityAnalyzer{}) }

// FuzzV1Analyzer is FuzzCapacityAnalyzer for the v1 analyzer.
func FuzzV1Analyzer(f *testing.F) { fuzzAnalyzer(f, V1Analyzer{}) }
