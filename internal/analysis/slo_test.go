package analysis

import (
	"math"
	"strings"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/mix"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/perfmodel"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/queueing"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

var (
	sloTargets = interfaces.SLOTargets{TTFT: 2 * time.Second, ITL: 50 * time.Millisecond, Attainment: 0.99, Source: "test"}
	sloT0      = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
)

// sloVariant is an H100-like variant with perfParms, all replicas ready and reporting.
func sloVariantOf(name string, cost float64, replicas int) VariantState {
	return VariantState{Name: name, Accelerator: "H100", Cost: cost, CurrentReplicas: replicas, ReadyReplicas: replicas,
		MinReplicas: ptr.To(1), MaxReplicas: 40, KvCacheTokens: 200000, MaxBatch: 256,
		DecodeAlphaMs: 6, DecodeBetaMs: 0.07, PrefillGammaMs: 20, PrefillDeltaMs: 0.05,
		Pods: podsRun(name, replicas, 0.3, 0, 8)}
}

// sloMetrics is a model reading arrival req/s of 500-token prompts and 200-token outputs with
// the given ITL attainment (0: not observed).
func sloMetrics(arrival, itlAttainment float64) *ModelMetrics {
	m := &ModelMetrics{ArrivalRate: arrival, ArrivalSource: ArrivalFromVLLM, MeanPromptTokens: 500, MeanOutputTokens: 200}
	if itlAttainment > 0 {
		m.ITLAttainment = LatencySLI{Target: sloTargets.ITL, Known: true, Attainment: itlAttainment, Requests: 50}
	}
	return m
}

func sloModel(met *ModelMetrics, vs ...VariantState) ModelState {
	m := model(vs...)
	m.SLO, m.Metrics = sloTargets, met
	return m
}

// wantMu is the planned per-replica rate of sloVariantOf, computed from the queueing package.
func wantMu(t *testing.T) float64 {
	t.Helper()
	c := queueing.MaxRate(perfmodel.Params{AlphaMs: 6, BetaMs: 0.07, GammaMs: 20, DeltaMs: 0.05},
		queueing.Mix{PromptTokens: 500, OutputTokens: 200, PromptCV: 1, OutputCV: 1},
		queueing.Limits{MaxBatch: 256, KVTokens: 200000}, queueing.SLO{TTFTMs: 2000, ITLMs: 50, Attainment: 0.99})
	if !c.Feasible {
		t.Fatalf("test variant infeasible: %s", c.Reason)
	}
	return SLOSafety * c.RatePerSec
}

// TestSLOSizesToPlannedRate: one variant, a steady rate: replicas = ceil(rate / (safety x MaxRate)).
func TestSLOSizesToPlannedRate(t *testing.T) {
	mu := wantMu(t)
	rate := 7.5 * mu
	res := SLOAnalyzer{}.Analyze(sloModel(sloMetrics(rate, 0), sloVariantOf("h100", 10, 2)), defaultCfg, sloT0)
	if got := targetsOf(res.Targets)["h100"]; got != 8 {
		t.Fatalf("target %d, want 8 = ceil(%.3g / %.3g): %s / %s", got, rate, mu, res.Summary, res.Targets[0].Reason)
	}
	if res.Analyzer != AnalyzerSLO || !strings.Contains(res.Targets[0].Reason, "one replica sustains") {
		t.Errorf("result %+v", res)
	}
	// The same fleet at a quarter of the load scales down, to ceil(rate/4 / band / mu).
	res = SLOAnalyzer{}.Analyze(sloModel(sloMetrics(rate/4, 0), sloVariantOf("h100", 10, 8)), defaultCfg, sloT0)
	if got, want := targetsOf(res.Targets)["h100"], int(math.Ceil(rate/4/sloScaleDownBand/mu)); got != want {
		t.Errorf("scale-down target %d, want %d: %s", got, want, res.Summary)
	}
}

// TestSLOCheapestMix: of two variants the cheaper per request carries the load.
func TestSLOCheapestMix(t *testing.T) {
	mu := wantMu(t)
	cheap, dear := sloVariantOf("cheap", 10, 1), sloVariantOf("dear", 30, 1)
	res := SLOAnalyzer{}.Analyze(sloModel(sloMetrics(4.5*mu, 0), cheap, dear), defaultCfg, sloT0)
	if got := targetsOf(res.Targets); got["cheap"] != 4 || got["dear"] != 1 {
		t.Errorf("targets %v, want cheap 4 and dear at its minimum 1: %s", got, res.Summary)
	}
}

// TestSLOHeadroomFeedback: a missed attainment raises the headroom by SLOHeadroomStep per
// cycle up to SLOHeadroomMax, which raises the target; met attainment returns it to 1 after
// SLOHeadroomCalmCycles; a miss while replicas start is not counted.
func TestSLOHeadroomFeedback(t *testing.T) {
	mu := wantMu(t)
	rate := 9.5 * mu
	var state any
	now := sloT0
	cycle := func(att float64, v VariantState) (Result, SLOState) {
		t.Helper()
		res, next := SLOAnalyzer{}.AnalyzeWithState(sloModel(sloMetrics(rate, att), v), defaultCfg, now, state)
		state = next
		now = now.Add(30 * time.Second)
		assertFinite(t, res)
		return res, next.(SLOState)
	}
	v := sloVariantOf("h100", 10, 10)
	res, st := cycle(1, v) // met: headroom stays 1, 10 replicas suffice
	if st.Headroom != 1 || targetsOf(res.Targets)["h100"] != 10 {
		t.Fatalf("met: headroom %g target %d, want 1 and 10: %s", st.Headroom, targetsOf(res.Targets)["h100"], res.Summary)
	}
	for i := range 12 { // 1.1, 1.21, ... up to the cap, which 1.1^10 passes
		want := min(math.Pow(SLOHeadroomStep, float64(i+1)), SLOHeadroomMax)
		res, st = cycle(0.9, v)
		if math.Abs(st.Headroom-want) > 1e-9 {
			t.Errorf("miss %d: headroom %g, want %g", i+1, st.Headroom, want)
		}
	}
	if got, want := targetsOf(res.Targets)["h100"], int(math.Ceil(rate*SLOHeadroomMax/mu-1e-9)); got != want || got <= 10 {
		t.Errorf("target at headroom %g: %d, want %d: %s", st.Headroom, got, want, res.Summary)
	}
	// A miss while 8 replicas are still starting, the 5 ready ones short of the demand, keeps
	// the headroom.
	starting := sloVariantOf("h100", 10, 13)
	starting.ReadyReplicas, starting.Pods = 5, starting.Pods[:5]
	before := st.Headroom
	if _, st = cycle(0.9, starting); st.Headroom != before || st.Calm != 0 {
		t.Errorf("miss while starting: headroom %g (was %g), calm %s", st.Headroom, before, st.Calm)
	}
	// Met for long enough: back to 1.
	for range 30 {
		res, st = cycle(0.999, v)
	}
	if st.Headroom != 1 || !strings.Contains(res.Summary, "x headroom 1;") {
		t.Errorf("after 30 met cycles headroom %g: %s", st.Headroom, res.Summary)
	}
}

// TestSLOStateIsNotModified: the state handed in is not changed by the call.
func TestSLOStateIsNotModified(t *testing.T) {
	m := sloModel(sloMetrics(20, 0.9), sloVariantOf("h100", 10, 4))
	_, s1 := SLOAnalyzer{}.AnalyzeWithState(m, defaultCfg, sloT0, nil)
	r2, s2 := SLOAnalyzer{}.AnalyzeWithState(m, defaultCfg, sloT0.Add(time.Minute), s1)
	r3, _ := SLOAnalyzer{}.AnalyzeWithState(m, defaultCfg, sloT0.Add(time.Minute), s1)
	// A minute later is two feedback periods of misses: 1.1 · 1.1².
	if r2.Summary != r3.Summary || math.Abs(s1.(SLOState).Headroom-1.1) > 1e-9 || math.Abs(s2.(SLOState).Headroom-1.331) > 1e-9 {
		t.Errorf("state changed by a call: %q vs %q, headroom %g then %g", r2.Summary, r3.Summary, s1.(SLOState).Headroom, s2.(SLOState).Headroom)
	}
	if _, ok := s2.(SLOState).Variants["h100"]; !ok {
		t.Errorf("no per-variant state kept")
	}
	// A variant that vanished is forgotten.
	_, s4 := SLOAnalyzer{}.AnalyzeWithState(sloModel(sloMetrics(20, 0.9), sloVariantOf("a100", 5, 4)), defaultCfg, sloT0.Add(2*time.Minute), s2)
	if _, ok := s4.(SLOState).Variants["h100"]; ok {
		t.Errorf("vanished variant's state kept")
	}
}

// TestSLOFallsBackToCapacity: without an SLO, without model metrics, without an arrival rate,
// with a zero rate while requests wait, without request lengths, or without perfParms, the slo
// analyzer returns the capacity analyzer's targets and says why.
func TestSLOFallsBackToCapacity(t *testing.T) {
	busy := sloVariantOf("h100", 10, 2)
	busy.Pods = podsRun("h100", 2, 0.95, 20, 30) // the capacity analyzer scales this up
	noPerf := busy
	noPerf.DecodeAlphaMs, noPerf.DecodeBetaMs = 0, 0
	noRate := sloMetrics(0, 0)
	noRate.ArrivalSource = ""
	noRate.Missing = []string{"arrival: no vllm:request_success_total series"}
	noLengths := sloMetrics(10, 0)
	noLengths.MeanOutputTokens = 0
	tests := map[string]struct {
		m    ModelState
		want string
	}{
		"no SLO":        {m: func() ModelState { m := sloModel(sloMetrics(10, 0), busy); m.SLO = interfaces.SLOTargets{}; return m }(), want: "no SLO"},
		"no metrics":    {m: sloModel(nil, busy), want: "no model metrics"},
		"no rate":       {m: sloModel(noRate, busy), want: "no arrival rate was read (arrival: no vllm"},
		"zero but busy": {m: sloModel(sloMetrics(0, 0), busy), want: "reads 0 while requests wait or run"},
		"no lengths":    {m: sloModel(noLengths, busy), want: "no request lengths"},
		"no perfParms":  {m: sloModel(sloMetrics(10, 0), noPerf), want: "no variant has a usable per-replica capacity (h100: no perfParms"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := SLOAnalyzer{}.Analyze(tc.m, defaultCfg, sloT0)
			want := CapacityAnalyzer{}.Analyze(tc.m, defaultCfg, sloT0)
			if got, w := targetsOf(res.Targets), targetsOf(want.Targets); got["h100"] != w["h100"] || got["h100"] <= 2 {
				t.Errorf("targets %v, want the capacity analyzer's %v (a scale-up)", got, w)
			}
			if !strings.Contains(res.Summary, "capacity fallback: "+tc.want) && !strings.Contains(res.Summary, tc.want) {
				t.Errorf("summary %q lacks %q", res.Summary, tc.want)
			}
			if !strings.HasPrefix(res.Targets[0].Reason, "capacity fallback (") || res.Analyzer != AnalyzerSLO {
				t.Errorf("reason %q / analyzer %q", res.Targets[0].Reason, res.Analyzer)
			}
		})
	}
}

// TestSLOKeepsOneReplica: no demand and minReplicas 0 everywhere still leaves one replica.
func TestSLOKeepsOneReplica(t *testing.T) {
	a, b := sloVariantOf("a", 5, 1), sloVariantOf("b", 10, 2)
	a.MinReplicas, b.MinReplicas = ptr.To(0), ptr.To(0)
	a.Pods, b.Pods = podsRun("a", 1, 0, 0, 0), podsRun("b", 2, 0, 0, 0)
	res := SLOAnalyzer{}.Analyze(sloModel(sloMetrics(0, 0), a, b), defaultCfg, sloT0)
	if got := targetsOf(res.Targets); got["a"]+got["b"] != 1 || got["a"] != 1 {
		t.Errorf("targets %v, want the cheaper variant a at 1: %s", got, res.Summary)
	}
}

// sloFuzz wraps the slo analyzer so that checkAnalyzer's inputs also drive the SLO, the model
// metrics and a second, stateful cycle.
type sloFuzz struct{ in fuzzInput }

func (sloFuzz) Name() string { return AnalyzerSLO }

func (f sloFuzz) Analyze(m ModelState, cfg interfaces.SaturationScalingConfig, now time.Time) Result {
	in := f.in
	m.SLO = interfaces.SLOTargets{TTFT: time.Duration(in.sdu * float64(time.Second)), ITL: time.Duration(in.itl * float64(time.Millisecond)),
		Attainment: in.kvSpare}
	m.Metrics = &ModelMetrics{ArrivalRate: in.queue, ArrivalSource: ArrivalFromVLLM, MeanPromptTokens: in.tokens, MeanOutputTokens: in.running2,
		PrefixCacheHitRate: in.kv2, Waiting: in.queue2, Window: time.Duration(in.qThr * float64(time.Minute)),
		ITLAttainment: LatencySLI{Target: time.Millisecond, Known: true, Attainment: in.kv, Requests: in.running},
		ITL:           Histogram{Buckets: []Bucket{{UpperBound: in.alpha, Count: in.beta}, {UpperBound: math.Inf(1), Count: in.cost}}},
		OutputLengths: Histogram{Buckets: []Bucket{{UpperBound: in.tokens2, Count: in.beta}, {UpperBound: math.Inf(1), Count: in.cost}}}}
	for i := range m.Variants {
		m.Variants[i].PrefillGammaMs, m.Variants[i].PrefillDeltaMs, m.Variants[i].MaxBatch = in.tokens2, in.cost2, in.desired
		for j := range m.Variants[i].Pods { // prefill points
			p := &m.Variants[i].Pods[j]
			p.MeanPromptTokens, p.MeanPrefillSeconds, p.FinishRate, p.MeanRunningRequests = in.tokens, in.qSpare, in.kvThr, in.running
		}
	}
	res, st := SLOAnalyzer{}.AnalyzeWithState(m, cfg, now, nil)
	res2, _ := SLOAnalyzer{}.AnalyzeWithState(m, cfg, now.Add(30*time.Second), st)
	if len(res2.Targets) != len(res.Targets) {
		return Result{Analyzer: AnalyzerSLO} // checkAnalyzer flags the empty summary
	}
	return res2
}

// FuzzSLOAnalyzer is FuzzCapacityAnalyzer for the slo analyzer, whose SLO, arrival rate, mix,
// attainment and its window, ITL and output-length histograms, prefill parameters and the pods' prefill points are
// fuzzed too, over two cycles of state.
func FuzzSLOAnalyzer(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, kv, queue, running, kv2, queue2, running2, cost, cost2, tokens, tokens2, alpha, beta,
		kvThr, qThr, kvSpare, qSpare, sdu, itl float64, pods, current, ready, desired, minR, maxR, pods2, current2, maxR2 int) {
		in := fuzzInput{kv, queue, running, kv2, queue2, running2, cost, cost2, tokens, tokens2, alpha, beta,
			kvThr, qThr, kvSpare, qSpare, sdu, itl, pods, current, ready, desired, minR, maxR, pods2, current2, maxR2}
		checkAnalyzer(t, sloFuzz{in}, in)
		checkAnalyzer(t, SLOAnalyzer{}, in) // no SLO: the capacity fallback
	})
}

// TestSLOHorizonFollowsStartupDelay: the forecast horizon is the longest start-up delay of the
// model's variants (DefaultStartupDelay when none is known), so on a rising rate a slower
// start-up plans, and orders, more replicas.
func TestSLOHorizonFollowsStartupDelay(t *testing.T) {
	mu := wantMu(t)
	ramp := func(delays ...time.Duration) (Result, float64) {
		t.Helper()
		var vs []VariantState
		for i, d := range delays {
			v := sloVariantOf(string(rune('a'+i)), 10+float64(i), 2)
			v.StartupDelay = d
			vs = append(vs, v)
		}
		var state any
		var res Result
		for i := range 20 {
			res, state = SLOAnalyzer{}.AnalyzeWithState(sloModel(sloMetrics(mu*(1+0.5*float64(i)), 0), vs...), defaultCfg,
				sloT0.Add(time.Duration(i)*30*time.Second), state)
			assertFinite(t, res)
		}
		return res, state.(SLOState).Forecast.Forecast(sloT0.Add(19 * 30 * time.Second)).Planned
	}
	def, defPlanned := ramp(0, 0)
	slow, slowPlanned := ramp(time.Minute, 10*time.Minute)
	fast, fastPlanned := ramp(20*time.Second, 30*time.Second)
	for _, c := range []struct {
		res  Result
		want string
	}{{def, "over 2m0s"}, {slow, "over 10m0s"}, {fast, "over 30s"}} {
		if !strings.Contains(c.res.Summary, c.want) {
			t.Errorf("summary %q does not name the horizon (%q)", c.res.Summary, c.want)
		}
	}
	if !(fastPlanned < defPlanned && defPlanned < slowPlanned) {
		t.Errorf("planned rates: 30s %g, default %g, 10m %g; want increasing with the horizon", fastPlanned, defPlanned, slowPlanned)
	}
	sum := func(r Result) int {
		n := 0
		for _, t := range r.Targets {
			n += t.Target
		}
		return n
	}
	if !(sum(fast) <= sum(def) && sum(def) < sum(slow)) {
		t.Errorf("replicas: 30s %d, default %d, 10m %d; want more for a longer start-up", sum(fast), sum(def), sum(slow))
	}
}

// TestSLOFeedbackPrefersRequestTPOT checks that the ITL feedback reads the per-request TPOT
// histogram when there is one: slow tokens (a per-token attainment of 0.9) whose requests still
// meet their mean-ITL target raise no headroom, and requests that miss it do, whatever the
// per-token histogram says.
func TestSLOFeedbackPrefersRequestTPOT(t *testing.T) {
	v := sloVariantOf("h100", 10, 10)
	cycle := func(perToken, perRequest float64) SLOState {
		t.Helper()
		met := sloMetrics(5, perToken)
		if perRequest > 0 {
			met.RequestTPOTAttainment = LatencySLI{Target: sloTargets.ITL, Known: true, Attainment: perRequest, Requests: 20}
		}
		_, next := SLOAnalyzer{}.AnalyzeWithState(sloModel(met, v), defaultCfg, sloT0, nil)
		return next.(SLOState)
	}
	if st := cycle(0.9, 0); st.Headroom <= 1 {
		t.Errorf("per-token 0.9 without a TPOT histogram: headroom %g, want raised", st.Headroom)
	}
	if st := cycle(0.9, 0.999); st.Headroom != 1 {
		t.Errorf("per-token 0.9, per-request 0.999: headroom %g, want 1", st.Headroom)
	}
	if st := cycle(1, 0.9); st.Headroom <= 1 {
		t.Errorf("per-token 1, per-request 0.9: headroom %g, want raised", st.Headroom)
	}
}

// TestSLOLearnsEachVariantFromItsPods checks that two variants serving the same model at once
// each learn their own decode speed from their pods' (mean batch, median ITL) points: the
// slower variant's capacity falls below its perfParms prior, the other keeps it.
func TestSLOLearnsEachVariantFromItsPods(t *testing.T) {
	fast, slow := sloVariantOf("fast", 10, 4), sloVariantOf("slow", 5, 4)
	var state any
	now := sloT0
	var res Result
	for c := range 30 {
		for i := range fast.Pods {
			b := float64(4 + (c+i)%12)
			// fast runs at its prior (6 + 0.07 b ms); slow takes three times as long per step.
			fast.Pods[i].MeanRunningRequests, fast.Pods[i].ITLMedianSeconds = b, (6+0.07*b)/1000
			slow.Pods[i].MeanRunningRequests, slow.Pods[i].ITLMedianSeconds = b, 3*(6+0.07*b)/1000
		}
		res, state = SLOAnalyzer{}.AnalyzeWithState(sloModel(sloMetrics(5, 0), fast, slow), defaultCfg, now, state)
		now = now.Add(30 * time.Second)
	}
	st := state.(SLOState)
	for _, name := range []string{"fast", "slow"} {
		if q := st.Variants[name].Estimator.Quality(); q.DecodeSamples < sloMinEstimatorSamples {
			t.Errorf("%s: %d decode samples, want at least %d", name, q.DecodeSamples, sloMinEstimatorSamples)
		}
	}
	if a := st.Variants["slow"].Estimator.Params().AlphaMs; math.Abs(a-18) > 2 {
		t.Errorf("slow variant's fitted alpha %g ms, want about 18", a)
	}
	if a := st.Variants["fast"].Estimator.Params().AlphaMs; math.Abs(a-6) > 1 {
		t.Errorf("fast variant's fitted alpha %g ms, want about 6", a)
	}
	for _, tg := range res.Targets {
		// The pods report no prefill points: the prefill stays the prior's.
		if !strings.Contains(tg.Reason, "fitted decode, perfParms prefill params") {
			t.Errorf("%s: %s, want fitted decode params", tg.Variant, tg.Reason)
		}
	}
}

// TestSLOHeadroomReleasesBelowOne: with a floor below 1, attainment that keeps at least half
// of its error budget lowers the headroom by SLOHeadroomRelease per cycle down to the floor,
// and the target with it; attainment that merely meets the goal does not; a miss raises it
// again. With the default floor (SLOHeadroomMin) it never goes below 1.
func TestSLOHeadroomReleasesBelowOne(t *testing.T) {
	mu := wantMu(t)
	rate := 9.5 * mu
	run := func(a SLOAnalyzer, atts ...float64) (Result, SLOState) {
		t.Helper()
		var state any
		var res Result
		now := sloT0
		for _, att := range atts {
			res, state = a.AnalyzeWithState(sloModel(sloMetrics(rate, att), sloVariantOf("h100", 10, 10)), defaultCfg, now, state)
			assertFinite(t, res)
			now = now.Add(30 * time.Second)
		}
		return res, state.(SLOState)
	}
	quiet := make([]float64, 40)
	for i := range quiet {
		quiet[i] = 0.999 // 0.1 % misses: a fifth of the 1 % budget
	}
	if _, st := run(SLOAnalyzer{}, quiet...); st.Headroom != 1 {
		t.Errorf("default floor: headroom %g after 40 quiet cycles, want 1", st.Headroom)
	}
	floor := SLOAnalyzer{HeadroomMin: 0.8}
	res, st := run(floor, quiet...)
	if st.Headroom != 0.8 {
		t.Fatalf("floor 0.8: headroom %g after 40 quiet cycles, want 0.8: %s", st.Headroom, res.Summary)
	}
	if got, want := targetsOf(res.Targets)["h100"], int(math.Ceil(rate*0.8/sloScaleDownBand/mu-1e-9)); got != want || got >= 10 {
		t.Errorf("target at headroom 0.8: %d, want %d (below the 10 of headroom 1): %s", got, want, res.Summary)
	}
	// Meeting the goal with less than half the budget left (0.993 against 0.99) holds it.
	tight := append([]float64{}, quiet[:10]...)
	_, before := run(floor, tight...)
	for range 10 {
		tight = append(tight, 0.993)
	}
	if _, st := run(floor, tight...); st.Headroom != before.Headroom || before.Headroom >= 1 {
		t.Errorf("tight attainment: headroom %g, want it held at %g (< 1)", st.Headroom, before.Headroom)
	}
	// A miss raises it by SLOHeadroomStep.
	if _, st := run(floor, append(append([]float64{}, quiet...), 0.9)...); math.Abs(st.Headroom-0.8*SLOHeadroomStep) > 1e-9 {
		t.Errorf("miss at the floor: headroom %g, want %g", st.Headroom, 0.8*SLOHeadroomStep)
	}
}

// TestSLOFeedbackIsPerTimeNotPerCycle: the same history — three minutes of missed targets with
// a mix that changes a minute in, then three minutes of met targets — moves the headroom and
// the smoothed mix alike whether the engine cycles every 30 s or every 5 s (within what the
// sampling of the history at different times allows: per cycle, the 5 s run would hit the
// headroom cap of 2.5 where the 30 s run reaches 1.6), and the estimator takes the same
// decode samples (one per SLOFeedbackPeriod).
func TestSLOFeedbackIsPerTimeNotPerCycle(t *testing.T) {
	run := func(interval time.Duration) (afterMisses, end SLOState) {
		t.Helper()
		var state any
		for now := sloT0; now.Before(sloT0.Add(6 * time.Minute)); now = now.Add(interval) {
			att := 0.9
			if now.Sub(sloT0) >= 3*time.Minute {
				att = 0.999
			}
			met := sloMetrics(20, att)
			if now.Sub(sloT0) >= time.Minute {
				met.MeanPromptTokens = 1000
			}
			v := sloVariantOf("h100", 10, 4)
			for i := range v.Pods {
				v.Pods[i].MeanRunningRequests, v.Pods[i].ITLMedianSeconds = 8, 0.0066
			}
			res, next := SLOAnalyzer{}.AnalyzeWithState(sloModel(met, v), defaultCfg, now, state)
			assertFinite(t, res)
			state = next
			if now.Sub(sloT0) < 3*time.Minute {
				afterMisses = next.(SLOState)
			}
		}
		return afterMisses, state.(SLOState)
	}
	slowMiss, slow := run(30 * time.Second)
	fastMiss, fast := run(5 * time.Second)
	if r := fastMiss.Headroom / slowMiss.Headroom; !(r > 0.87 && r < 1.15) || slowMiss.Headroom < 1.4 {
		t.Errorf("headroom after 3 minutes of misses: %g with 30 s cycles, %g with 5 s cycles (want within 15 %%, above 1.4)", slowMiss.Headroom, fastMiss.Headroom)
	}
	if r := fast.Headroom / slow.Headroom; !(r > 0.87 && r < 1.15) || slow.Headroom >= slowMiss.Headroom {
		t.Errorf("headroom after 3 more minutes met: %g with 30 s cycles, %g with 5 s cycles (want within 15 %%, released)", slow.Headroom, fast.Headroom)
	}
	if r := fast.Mix.PromptTokens / slow.Mix.PromptTokens; !(r > 0.97 && r < 1.03) || slow.Mix.PromptTokens < 900 {
		t.Errorf("smoothed prompt %g with 30 s cycles, %g with 5 s cycles (want within 3 %%, near 1000)", slow.Mix.PromptTokens, fast.Mix.PromptTokens)
	}
	ns, nf := slow.Variants["h100"].Estimator.Quality().DecodeSamples, fast.Variants["h100"].Estimator.Quality().DecodeSamples
	if ns != nf || ns != 12*4 {
		t.Errorf("decode samples: %d with 30 s cycles, %d with 5 s cycles (want 48: 12 periods of 4 pods)", ns, nf)
	}
}

// TestSLOMixWeighsRequests: after five minutes at 20 req/s of 500-token prompts, the last few
// requests of a burst (0.05 req/s) with 30,000-token prompts barely move the smoothed mix, and
// with it each replica's capacity; a minute of the same prompts at the full rate moves it most
// of the way.
func TestSLOMixWeighsRequests(t *testing.T) {
	var state any
	now := sloT0
	cycle := func(rate, prompt float64) SLOState {
		t.Helper()
		met := sloMetrics(rate, 0)
		met.MeanPromptTokens = prompt
		res, next := SLOAnalyzer{}.AnalyzeWithState(sloModel(met, sloVariantOf("h100", 10, 4)), defaultCfg, now, state)
		assertFinite(t, res)
		state = next
		now = now.Add(30 * time.Second)
		return next.(SLOState)
	}
	for range 10 {
		cycle(20, 500)
	}
	keep := state
	if st := cycle(0.05, 30000); st.Mix.PromptTokens > 600 {
		t.Errorf("a tail of 0.05 req/s moved the smoothed prompt to %g tokens, want <= 600", st.Mix.PromptTokens)
	}
	state = keep
	var st SLOState
	for range 2 {
		st = cycle(20, 30000)
	}
	if st.Mix.PromptTokens < 10000 {
		t.Errorf("a minute at the full rate moved the smoothed prompt to %g tokens only, want >= 10000", st.Mix.PromptTokens)
	}
}

// TestSLOMissWhileStartingCountsWhenReadyCover: a miss while replicas start raises the headroom
// when the ready replicas alone were planned to carry the demand (the model was optimistic),
// and keeps it when they were not (the fleet that was planned is not serving yet).
func TestSLOMissWhileStartingCountsWhenReadyCover(t *testing.T) {
	mu := wantMu(t)
	for _, c := range []struct {
		ready int
		want  float64
	}{{10, SLOHeadroomStep}, {5, 1}} {
		v := sloVariantOf("h100", 10, 13)
		v.ReadyReplicas, v.Pods = c.ready, v.Pods[:c.ready]
		res, st := SLOAnalyzer{}.AnalyzeWithState(sloModel(sloMetrics(8*mu, 0.9), v), defaultCfg, sloT0, nil)
		if h := st.(SLOState).Headroom; math.Abs(h-c.want) > 1e-9 {
			t.Errorf("%d of 13 ready at %.3g req/s (%.3g per ready replica planned): headroom %g, want %g: %s",
				c.ready, 8*mu, mu, h, c.want, res.Summary)
		}
	}
}

// TestSLOSizesInThePool: with long prompts and short outputs a lone replica's capacity is bound
// by the prefill stalls of its own decodes; behind a load-aware router a pool stalls less, so
// the target is the smallest n whose pool of n sustains the rate (checked by brute force over
// n), well below the lone-replica count.
func TestSLOSizesInThePool(t *testing.T) {
	p := perfmodel.Params{AlphaMs: 6, BetaMs: 0.07, GammaMs: 20, DeltaMs: 0.05}
	mix := queueing.Mix{PromptTokens: 15000, OutputTokens: 60, PromptCV: 1, OutputCV: 1}
	slo := queueing.SLO{TTFTMs: 10000, ITLMs: 50, Attainment: 0.99}
	at := func(n int) float64 {
		return SLOSafety * queueing.MaxRate(p, mix, queueing.Limits{MaxBatch: 256, KVTokens: 200000, Replicas: n}, slo).RatePerSec
	}
	rate := 12 * at(1)
	want := 0
	for n := 1; n <= 40; n++ {
		if float64(n)*at(n) >= rate {
			want = n
			break
		}
	}
	if want == 0 || want >= 12 {
		t.Fatalf("brute force: %d replicas for %.3g req/s (lone %.3g per replica): the pool should need fewer than 12", want, rate, at(1))
	}
	met := &ModelMetrics{ArrivalRate: rate, ArrivalSource: ArrivalFromVLLM, MeanPromptTokens: 15000, MeanOutputTokens: 60}
	m := sloModel(met, sloVariantOf("h100", 10, 1))
	m.SLO = interfaces.SLOTargets{TTFT: 10 * time.Second, ITL: 50 * time.Millisecond, Attainment: 0.99, Source: "test"}
	res := SLOAnalyzer{}.Analyze(m, defaultCfg, sloT0)
	if got := targetsOf(res.Targets)["h100"]; got != want {
		t.Errorf("target %d, want %d (lone replicas: %d): %s / %s", got, want, int(math.Ceil(rate/at(1))), res.Summary, res.Targets[0].Reason)
	}
}

// TestSLOKeepMix: a new fleet that moves replicas between variants to save under sloSwapSaving
// does not replace the last decision while that still covers the need; a pure scale-up, a
// bigger saving or a last fleet that falls short does.
func TestSLOKeepMix(t *testing.T) {
	entry := func(name string, cost, capacity float64, pool int) *sloVariant {
		e := &sloVariant{st: VariantState{Name: name, Cost: cost, MinReplicas: ptr.To(0), MaxReplicas: 10}, capacity: capacity}
		e.sizing.at = map[int]float64{pool: capacity}
		return e
	}
	entries := []*sloVariant{entry("a", 1, 1, 5), entry("b", 3, 3.5, 5)}
	st := SLOState{Chosen: map[string]int{"a": 2, "b": 3}} // cost 11, capacity 12.5 in a pool of 5
	swap := mix.Result{Replicas: []int{0, 4}, Cost: 12, Capacity: 14, Feasible: true}
	cheapSwap := mix.Result{Replicas: []int{0, 3}, Cost: 9, Capacity: 10.5, Feasible: true}
	grow := mix.Result{Replicas: []int{2, 4}, Cost: 14, Capacity: 16, Feasible: true}
	for _, c := range []struct {
		name   string
		chosen mix.Result
		need   float64
		keep   bool
	}{
		{"a dearer swap", swap, 12, true},
		{"a swap saving 18 %", cheapSwap, 10, false},
		{"a scale-up", grow, 12, false},
		{"the last fleet falls short", swap, 13, false},
	} {
		got, kept := st.keepMix(entries, c.chosen, c.need)
		if kept != c.keep {
			t.Errorf("%s: kept %v, want %v (%+v)", c.name, kept, c.keep, got)
		}
		if kept && (got.Replicas[0] != 2 || got.Replicas[1] != 3 || got.Cost != 11 || got.Capacity != 12.5) {
			t.Errorf("%s: kept fleet %+v, want a=2 b=3 cost 11 capacity 12.5", c.name, got)
		}
	}
}

// TestSignificantMiss: a window's misses count against the goal only beyond what a fleet
// meeting it would see by chance; without a request count the comparison is plain.
func TestSignificantMiss(t *testing.T) {
	const goal = 0.99
	w := time.Minute
	for _, tc := range []struct {
		name      string
		att, rate float64 // attainment, requests per second
		window    time.Duration
		want      bool
	}{
		{"met", 0.995, 10, w, false},
		{"1 miss of 60 (1 allowed in 100)", 59.0 / 60, 1, w, false},
		{"2 misses of 60", 58.0 / 60, 1, w, false},
		{"5 misses of 60", 55.0 / 60, 1, w, true},
		{"98 % of 6,000", 0.98, 100, w, true},
		{"98.9 % of 6,000", 0.989, 100, w, false},
		{"no window: plain comparison", 0.989, 100, 0, true},
		{"no requests: plain comparison", 0.5, 0, w, true},
	} {
		sli := LatencySLI{Target: time.Second, Known: true, Attainment: tc.att, Requests: tc.rate}
		if got := significantMiss(sli, goal, tc.window); got != tc.want {
			t.Errorf("%s: significantMiss = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestSLOLearnsPrefillFromItsPods: pods whose prefill takes 20 + 0.05·P + ζ·E[P²] ms of work with
// an attention term the perfParms prior lacks (ζ = 4e-7 ms per squared token), measured as the
// longer latency of prompts sharing their steps, teach the estimator γ, δ and ζ of the work; the fitted prefill sizes long prompts below the prior's capacity, so the same
// load of 6,000-token prompts needs more replicas.
func TestSLOLearnsPrefillFromItsPods(t *testing.T) {
	const zeta = 4e-7
	v := sloVariantOf("h100", 10, 4)
	now := sloT0
	met := func(prompt, rate float64) *ModelMetrics {
		m := sloMetrics(rate, 0)
		m.MeanPromptTokens = prompt
		return m
	}
	// run gives 40 cycles of 30 s; with points, each pod reports its prefill point.
	run := func(points bool) SLOState {
		var state any
		now = sloT0
		for c := range 40 {
			for i := range v.Pods {
				prompt := 1000 + float64((c*7+i*3)%20)*1000
				// The window's mean square at the model's coefficient of variation 1: 2·P², and
				// one decode step at batch 8.
				own := (20 + 0.05*prompt + zeta*2*prompt*prompt + (6 + 0.07*8)) / 1000
				// Finishing 0.3 requests/s, the prompts share their steps: processor sharing
				// stretches each one's time to own / (1 − 0.3·own).
				const rate = 0.3
				v.Pods[i].MeanRunningRequests, v.Pods[i].MeanPromptTokens, v.Pods[i].MeanPrefillSeconds, v.Pods[i].FinishRate = 8, 0, 0, 0
				if points {
					v.Pods[i].MeanPromptTokens, v.Pods[i].MeanPrefillSeconds, v.Pods[i].FinishRate = prompt, own/(1-rate*own), rate
				}
			}
			// The model's mix moves to 6,000-token prompts over the last ten minutes.
			prompt := 2000.0
			if c >= 20 {
				prompt = 6000
			}
			_, state = SLOAnalyzer{}.AnalyzeWithState(sloModel(met(prompt, 0.5), v), defaultCfg, now, state)
			now = now.Add(30 * time.Second)
		}
		return state.(SLOState)
	}
	st := run(true)
	q := st.Variants["h100"].Estimator.Quality()
	if q.PrefillSamples < sloMinEstimatorSamples || q.PrefillMAPE > sloMaxPrefillMAPE {
		t.Fatalf("prefill samples %d, error %.3f: not trusted", q.PrefillSamples, q.PrefillMAPE)
	}
	p := st.Variants["h100"].Estimator.Params()
	if math.Abs(p.DeltaMs-0.05) > 0.005 || math.Abs(p.ZetaMs-zeta) > 0.2*zeta {
		t.Errorf("fitted delta %.4g ms, zeta %.3g ms; want 0.05 and %.3g", p.DeltaMs, p.ZetaMs, zeta)
	}
	// At 6,000-token prompts: the prior's fleet against the fitted one.
	long := func(state SLOState, fitted bool) int {
		res, _ := SLOAnalyzer{}.AnalyzeWithState(sloModel(met(6000, 4), sloVariantOf("h100", 10, 4)), defaultCfg, now, state)
		if got := strings.Contains(res.Targets[0].Reason, "fitted prefill"); got != fitted {
			t.Errorf("reason %q: fitted prefill named %v, want %v", res.Targets[0].Reason, got, fitted)
		}
		return targetsOf(res.Targets)["h100"]
	}
	prior, fitted := long(run(false), false), long(st, true)
	if fitted <= prior {
		t.Errorf("at 6,000-token prompts the fitted prefill sizes %d replicas, the prior %d: want more", fitted, prior)
	}
}

// TestOutputCDFFromHistogram: the output-length histogram becomes queueing.Mix.OutputCDF at
// vLLM's bounds (interpolated between the histogram's own), an empty one leaves it unused, and
// the smoothed mix averages the shape as it averages the means, keeping the last one through a
// window without the histogram.
func TestOutputCDFFromHistogram(t *testing.T) {
	h, ok := NewHistogram([]Bucket{{UpperBound: 10, Count: 25}, {UpperBound: 100, Count: 100}, {UpperBound: math.Inf(1), Count: 100}})
	if !ok {
		t.Fatal("NewHistogram refused the buckets")
	}
	c := outputCDF(h)
	// 1, 2, 5 tokens: the first bucket interpolated from 0; 20 and 50 within (10, 100].
	want := map[float64]float64{1: 2.5, 2: 5, 5: 12.5, 10: 25, 20: 25 + 75.0/9, 50: 25 + 75*40.0/90, 100: 100, 100000: 100}
	for i, b := range queueing.OutputBounds {
		if w, ok := want[b]; ok && math.Abs(c[i]-w/100) > 1e-9 {
			t.Errorf("CDF at %g tokens = %.4f, want %.4f", b, c[i], w/100)
		}
	}
	if z := outputCDF(Histogram{}); z != ([len(queueing.OutputBounds)]float64{}) {
		t.Errorf("empty histogram: CDF %v, want all zero (unused)", z)
	}

	prev := queueing.Mix{PromptTokens: 1000, OutputTokens: 50, OutputCDF: c}
	var other [len(queueing.OutputBounds)]float64
	for i := range other {
		other[i] = 1 // every request within one token
	}
	cur := queueing.Mix{PromptTokens: 1000, OutputTokens: 1, OutputCDF: other}
	// Equal weights: as many requests seen in the period (1/s for 30 s) as remembered (37.5
	// decayed by 1 − sloMixWeight).
	got, _ := smoothMix(prev, 30/(1-sloMixWeight), 1, cur, 1)
	if math.Abs(got.OutputCDF[0]-(c[0]+1)/2) > 1e-9 || math.Abs(got.OutputTokens-25.5) > 1e-9 {
		t.Errorf("smoothed: CDF at 1 token %.4f, mean %.2f; want %.4f and 25.5", got.OutputCDF[0], got.OutputTokens, (c[0]+1)/2)
	}
	none := cur
	none.OutputCDF = [len(queueing.OutputBounds)]float64{}
	if got, _ := smoothMix(prev, 30, 1, none, 1); got.OutputCDF != c {
		t.Errorf("a window without the histogram: CDF %v, want the last one %v", got.OutputCDF, c)
	}
}
