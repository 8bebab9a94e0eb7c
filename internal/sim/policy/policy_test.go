package policy

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// stepScenario is a short synthetic scenario: 1 req/s for 3 minutes, 16 req/s for 6 minutes,
// then 1 req/s for 6 minutes, served by A100 replicas that load in 60 s.
func stepScenario(t testing.TB) sim.Scenario {
	t.Helper()
	phases := []workload.Phase{{Duration: 3 * time.Minute, Rate: 1}, {Duration: 6 * time.Minute, Rate: 16}, {Duration: 6 * time.Minute, Rate: 1}}
	reqs, err := workload.Poisson(phases, workload.FixedTokens(1000, 200), 2024)
	if err != nil {
		t.Fatal(err)
	}
	a100, err := sim.LookupProfile(sim.ProfileA100)
	if err != nil {
		t.Fatal(err)
	}
	v := sim.NewVariant("a100", a100)
	v.StartupDelay = time.Minute
	return sim.NewScenario("step", reqs, v)
}

func mustHPA(t testing.TB) *HPA {
	t.Helper()
	h, err := NewHPA(DefaultHPAConfig())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestHPAStepGolden pins the per-tick behaviour of the HPA policy on the step scenario: the
// timeline every 15 s and the score. Regenerate with: go test ./internal/sim/policy -run Golden -update
func TestHPAStepGolden(t *testing.T) {
	res, err := sim.Run(context.Background(), stepScenario(t), mustHPA(t), sim.WithTimeline(15*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	got.WriteString("# HPA policy (KV-cache usage target 0.7, default behaviour) on the step scenario:\n")
	got.WriteString("# 1 req/s for 3 min, 16 req/s for 6 min, 1 req/s for 6 min; 1000/200 tokens; A100-40GB, 60 s start-up.\n")
	if err := sim.WriteTimeline(&got, res.Timeline); err != nil {
		t.Fatal(err)
	}
	if err := sim.WriteScore(&got, res.Score); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "hpa-step.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if d := cmp.Diff(string(want), got.String()); d != "" {
		t.Errorf("timeline differs from %s (-want +got); rerun with -update if the change is intended:\n%s", path, d)
	}
}

func TestPoliciesAreDeterministic(t *testing.T) {
	sc := stepScenario(t)
	for name, mk := range map[string]func() sim.Policy{
		NameHPA:    func() sim.Policy { return mustHPA(t) },
		NameOracle: func() sim.Policy { return mustOracle(t, sc) },
		NameStatic: func() sim.Policy { return NewStatic(map[string]int{"a100": 3}) },
	} {
		t.Run(name, func(t *testing.T) {
			a, err := sim.Run(context.Background(), sc, mk())
			if err != nil {
				t.Fatal(err)
			}
			b, err := sim.Run(context.Background(), sc, mk())
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(a.Score, b.Score); d != "" {
				t.Errorf("two runs differ (-first +second):\n%s", d)
			}
		})
	}
}

func mustOracle(t testing.TB, sc sim.Scenario) *Oracle {
	t.Helper()
	o, err := NewOracle(sc, DefaultOracleConfig())
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestOraclesBracketTheStaticFleet checks the order of the brackets on the step scenario: the
// instant oracle's plan costs least, the start-up-aware plan more, the peak-sized static fleet
// most; the plans follow the step; and their replays in the simulator meet the goal at about the
// cost the planner computed.
func TestOraclesBracketTheStaticFleet(t *testing.T) {
	sc := stepScenario(t)
	o := mustOracle(t, sc)
	warm, err := o.Warm()
	if err != nil {
		t.Fatal(err)
	}
	peak := o.PeakReplicas()
	st, err := sim.Run(context.Background(), withInitial(sc, peak), NewStatic(peak))
	if err != nil {
		t.Fatal(err)
	}
	or, err := sim.Run(context.Background(), sc, o)
	if err != nil {
		t.Fatal(err)
	}
	wr, err := sim.Run(context.Background(), withInitial(sc, warm.InitialReplicas()), warm)
	if err != nil {
		t.Fatal(err)
	}
	instant, hindsight := o.Plan(), warm.Plan()
	t.Logf("plans: oracle $%.3f (%.3f GPU-h), oracle-warm $%.3f (%.3f GPU-h); runs: oracle $%.3f at %.4f, oracle-warm $%.3f at %.4f, static %v $%.3f at %.4f",
		instant.Cost, instant.GPUHours, hindsight.Cost, hindsight.GPUHours, or.Score.Cost, or.Score.SLOAttainment,
		wr.Score.Cost, wr.Score.SLOAttainment, peak, st.Score.Cost, st.Score.SLOAttainment)
	if !(instant.Cost > 0 && instant.Cost < hindsight.Cost && hindsight.Cost < st.Score.Cost) {
		t.Errorf("want oracle plan $%.3f < oracle-warm plan $%.3f < static run $%.3f", instant.Cost, hindsight.Cost, st.Score.Cost)
	}
	// Replays add only the drain of removed replicas to the planned cost.
	for name, c := range map[string][2]float64{"oracle": {instant.Cost, or.Score.Cost}, "oracle-warm": {hindsight.Cost, wr.Score.Cost}} {
		if !(c[1] >= c[0]*0.99 && c[1] <= c[0]*1.1) {
			t.Errorf("%s: run cost $%.3f is not within [-1 %%, +10 %%] of its plan's $%.3f", name, c[1], c[0])
		}
	}
	if st.Score.SLOAttainment < DefaultOracleGoal || or.Score.SLOAttainment < 0.97 || wr.Score.SLOAttainment < 0.97 {
		t.Errorf("attainment: static %.4f, oracle %.4f, oracle-warm %.4f; all should meet the goal",
			st.Score.SLOAttainment, or.Score.SLOAttainment, wr.Score.SLOAttainment)
	}
	// Both plans follow the step: more replicas while 16 req/s arrive.
	for name, sched := range map[string][]OracleWindow{"oracle": o.Schedule(), "oracle-warm": warm.Schedule()} {
		if !(sched[1].Replicas["a100"] < sched[5].Replicas["a100"] && sched[12].Replicas["a100"] < sched[5].Replicas["a100"]) {
			t.Errorf("%s schedule does not follow the step: %+v", name, sched)
		}
	}
	// The warm oracle orders the step's replicas a start-up delay (60 s) ahead: at 2:01 it
	// already asks for the fleet of minute 3.
	got, err := warm.Decide(context.Background(), sc.Start.Add(2*time.Minute+time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := warm.Schedule()[3].Replicas["a100"]; got["a100"] != want {
		t.Errorf("oracle-warm at 2:01 asks for %d replicas, want minute 3's %d", got["a100"], want)
	}
}

func TestOracleChoosesCheapestVariantThatMeetsTheSLO(t *testing.T) {
	reqs, err := workload.Poisson(workload.Steady(3, 3*time.Minute), workload.FixedTokens(1000, 200), 1)
	if err != nil {
		t.Fatal(err)
	}
	a100, _ := sim.LookupProfile(sim.ProfileA100)
	l4, _ := sim.LookupProfile(sim.ProfileL4)
	pricey := sim.NewVariant("a100-pricey", a100)
	pricey.Profile.CostPerGPUHour *= 3
	cheap := sim.NewVariant("a100-cheap", a100)
	slow := sim.NewVariant("l4", l4) // cheapest, but its ITL is above 50 ms at any load
	o := mustOracle(t, sim.NewScenario("choice", reqs, slow, pricey, cheap))
	for _, w := range o.Schedule()[:3] {
		if w.Replicas["a100-cheap"] < 1 || w.Replicas["a100-pricey"]+w.Replicas["l4"] != 0 {
			t.Errorf("window at %s: fleet %v, want only a100-cheap", w.Start, w.Replicas)
		}
		if _, ok := w.Need["l4"]; ok {
			t.Errorf("window at %s: the L4 is counted as able to serve (need %v)", w.Start, w.Need)
		}
	}
	got, err := o.Decide(context.Background(), sim.DefaultStart.Add(90*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got["l4"] != 0 || got["a100-pricey"] != 0 || got["a100-cheap"] < 1 {
		t.Errorf("Decide = %v, want only a100-cheap", got)
	}
}

func TestOracleRejectsAnUnreachableSLO(t *testing.T) {
	reqs, err := workload.Poisson(workload.Steady(1, time.Minute), workload.FixedTokens(500, 100), 1)
	if err != nil {
		t.Fatal(err)
	}
	l4, _ := sim.LookupProfile(sim.ProfileL4)
	sc := sim.NewScenario("l4", reqs, sim.NewVariant("l4", l4)) // ITL 50 ms < the L4's 71 ms step
	if _, err := NewOracle(sc, DefaultOracleConfig()); err == nil || !strings.Contains(err.Error(), "no request can meet the SLO") {
		t.Errorf("NewOracle error = %v, want the SLO reported unreachable", err)
	}
	sc.SLO.ITL = 150 * time.Millisecond
	o, err := NewOracle(sc, DefaultOracleConfig())
	if err != nil {
		t.Fatal(err)
	}
	if p := o.Plan(); !(p.Cost > 0 && p.GPUHours > 0) {
		t.Errorf("plan totals %+v, want positive", p)
	}
}
