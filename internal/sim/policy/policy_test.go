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

func TestOracleIsBelowStatic(t *testing.T) {
	sc := stepScenario(t)
	o := mustOracle(t, sc)
	peak := o.PeakReplicas()
	static := sc
	static.Variants = append([]sim.VariantSpec(nil), sc.Variants...)
	static.Variants[0].InitialReplicas = peak["a100"]
	st, err := sim.Run(context.Background(), static, NewStatic(peak))
	if err != nil {
		t.Fatal(err)
	}
	or, err := sim.Run(context.Background(), sc, o)
	if err != nil {
		t.Fatal(err)
	}
	lower, lowerCost := o.LowerBound()
	t.Logf("oracle schedule %+v", o.Schedule())
	t.Logf("lower bound %.3f GPU-h; oracle run %.3f GPU-h (attainment %.3f); static %v %.3f GPU-h (attainment %.3f)",
		lower, or.Score.GPUHours, or.Score.SLOAttainment, peak, st.Score.GPUHours, st.Score.SLOAttainment)
	if !(lower <= or.Score.GPUHours && or.Score.GPUHours <= st.Score.GPUHours) {
		t.Errorf("want lower bound %.3f <= oracle run %.3f <= static %.3f GPU-hours", lower, or.Score.GPUHours, st.Score.GPUHours)
	}
	if lowerCost <= 0 || lower >= st.Score.GPUHours*0.9 {
		t.Errorf("lower bound %.3f GPU-h ($%.2f) is not clearly below the static fleet's %.3f", lower, lowerCost, st.Score.GPUHours)
	}
	if st.Score.SLOAttainment < DefaultOracleGoal || or.Score.SLOAttainment < 0.97 {
		t.Errorf("attainment: static %.4f, oracle %.4f; both should meet the goal", st.Score.SLOAttainment, or.Score.SLOAttainment)
	}
	// The schedule follows the step: more replicas while 16 req/s arrive.
	sched := o.Schedule()
	if !(sched[1].Replicas < sched[5].Replicas && sched[12].Replicas < sched[5].Replicas) {
		t.Errorf("schedule does not follow the step: %+v", sched)
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
		if w.Variant != "a100-cheap" || w.Attainment < DefaultOracleGoal {
			t.Errorf("window at %s: %s x %d (attainment %.3f), want a100-cheap meeting the goal", w.Start, w.Variant, w.Replicas, w.Attainment)
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
	if r := o.GPUHoursRatio(sim.Score{GPUHours: 2 * mustLower(o)}); r != 2 {
		t.Errorf("GPUHoursRatio = %g, want 2", r)
	}
}

func mustLower(o *Oracle) float64 {
	h, _ := o.LowerBound()
	return h
}
