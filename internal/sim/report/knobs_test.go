package report

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/policy"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

func TestSplitPolicies(t *testing.T) {
	tests := map[string][]string{
		"wva,hpa":                            {"wva", "hpa"},
		" wva:interval=30s,step=0.5 , hpa":   {"wva:interval=30s,step=0.5", "hpa"},
		"wva:step=0.5,wva:step=0.25,oracle":  {"wva:step=0.5", "wva:step=0.25", "oracle"},
		"hpa:kv-target=0.6,sync=30s,,static": {"hpa:kv-target=0.6,sync=30s", "static"},
		// An '=' item with no knob-policy before it stays an item (and fails validation).
		"step=0.5,wva": {"step=0.5", "wva"},
		"":             nil,
	}
	for in, want := range tests {
		if got := SplitPolicies(in); !cmp.Equal(want, got) {
			t.Errorf("SplitPolicies(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWVAKnobs(t *testing.T) {
	name := "wva-v1:analyzer=capacity,interval=1m,stabilization=0s,step=0.5,min-replicas=2,kv-threshold=0.9,kv-spare=0.2,queue-threshold=8,queue-spare=1,scale-down-utilization=0.5,itl-target=40ms"
	spec, err := parsePolicyName(name)
	if err != nil {
		t.Fatal(err)
	}
	got, err := wvaConfig(name, spec, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	want := policy.ReferenceWVAConfig()
	want.Name, want.Analyzer, want.Interval = name, analysis.AnalyzerCapacity, time.Minute
	want.ScaleDownStabilization, want.ScaleDownStepFraction, want.MinReplicas = 0, 0.5, 2
	want.Saturation.KvCacheThreshold, want.Saturation.KvSpareTrigger = 0.9, 0.2
	want.Saturation.QueueLengthThreshold, want.Saturation.QueueSpareTrigger = 8, 1
	want.Saturation.ScaleDownUtilization, want.Saturation.ITLTargetMs = 0.5, 40
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("wvaConfig (-want +got):\n%s", d)
	}
	// Without knobs: the base policy's defaults and the SLO's ITL.
	plain, err := wvaConfig("wva", policySpec{Base: "wva"}, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	def := policy.DefaultWVAConfig()
	def.Saturation.ITLTargetMs = 50
	if d := cmp.Diff(def, plain); d != "" {
		t.Errorf("wvaConfig without knobs (-want +got):\n%s", d)
	}
	// The actuation mode: shipped (Metrics) by default, --wva-actuation for wva, the knob over both.
	for _, tc := range []struct {
		name, flag string
		want       wvav1alpha1.ActuationMode
	}{
		{"wva", "", wvav1alpha1.ActuationMetrics},
		{"wva", ActuationDirect, wvav1alpha1.ActuationDirect},
		{"wva", ActuationHPA, wvav1alpha1.ActuationMetrics},
		{"wva:actuation=direct", ActuationMetrics, wvav1alpha1.ActuationDirect},
		{"wva:actuation=metrics", ActuationDirect, wvav1alpha1.ActuationMetrics},
		{"wva-v1", ActuationDirect, wvav1alpha1.ActuationMetrics},
	} {
		spec, err := parsePolicyName(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		c, err := wvaConfig(tc.name, spec, 50, tc.flag)
		if err != nil || c.Mode() != tc.want {
			t.Errorf("wvaConfig(%s, --wva-actuation %q) mode %s, %v; want %s", tc.name, tc.flag, c.Mode(), err, tc.want)
		}
	}
	if err := checkPolicyName("wva:actuation=keda"); err == nil {
		t.Error("wva:actuation=keda accepted")
	}

	// The Metrics-mode HPA's scale-down: a window, and a limit in pods or percent per minute.
	for in, want := range map[string]policy.ScalingPolicy{
		"wva:hpa-down-window=1m,hpa-down-rate=3":   {Type: policy.PodsPolicy, Value: 3, Period: time.Minute},
		"wva:hpa-down-window=1m,hpa-down-rate=25%": {Type: policy.PercentPolicy, Value: 25, Period: time.Minute},
	} {
		spec, err := parsePolicyName(in)
		if err != nil {
			t.Fatal(err)
		}
		c, err := wvaConfig(in, spec, 50, "")
		if err != nil {
			t.Fatal(err)
		}
		down := c.HPA.Behavior.ScaleDown
		if down.StabilizationWindow != time.Minute || !cmp.Equal(down.Policies, []policy.ScalingPolicy{want}) {
			t.Errorf("%s: scale-down %+v, want a 1m window and %+v", in, down, want)
		}
		if up := policy.SampleBehavior().ScaleUp; !cmp.Equal(c.HPA.Behavior.ScaleUp, up) {
			t.Errorf("%s: scale-up %+v changed, want the sample's %+v", in, c.HPA.Behavior.ScaleUp, up)
		}
	}

	hspec, _ := parsePolicyName("hpa:kv-target=0.5,sync=30s,tolerance=0.2,min-replicas=0")
	h, err := hpaConfig("hpa:…", hspec)
	if err != nil {
		t.Fatal(err)
	}
	if h.Metrics[0].AverageValue != 0.5 || h.SyncPeriod != 30*time.Second || h.Tolerance != 0.2 || h.MinReplicas != 0 {
		t.Errorf("hpaConfig = %+v", h)
	}
}

func TestPolicyNameErrors(t *testing.T) {
	tests := map[string]string{
		"wva:headroom=1.2":               `policy "wva:headroom=1.2": unknown knob "headroom" for wva: valid knobs are actuation, analyzer, hpa-down-rate, hpa-down-window, interval, itl-target, kv-spare, kv-threshold, min-replicas, queue-spare, queue-threshold, scale-down-utilization, slo-headroom-max, slo-headroom-min, slo-safety, stabilization, step`,
		"hpa:interval=30s":               `unknown knob "interval" for hpa: valid knobs are kv-target, min-replicas, sync, tolerance`,
		"wva:interval":                   `knob "interval" must be key=value`,
		"wva:":                           `knob "" must be key=value`,
		"wva:step=0.5,step=0.25":         "knob step is set twice",
		"wva:interval=-1s":               "knob interval=-1s (engine cycle period (duration)): must be a positive duration",
		"wva:analyzer=v3":                "must be one of capacity, slo, v1",
		"wva:kv-threshold=1.5":           "must be a number from 0 to 1",
		"wva:min-replicas=-1":            "must be a non-negative integer",
		"wva:queue-threshold=inf":        "must be a non-negative number",
		"wva:kv-threshold=0.5":           "", // valid alone
		"oracle:x=1":                     "oracle takes no knobs",
		"keda:x=1":                       `unknown policy "keda:x=1"`,
		"hpa:kv-target=0":                "target must be positive",
		"wva:scale-down-utilization=0.9": "scaleDownUtilization",
		"wva:hpa-down-rate=0":            "must be a whole number of pods",
		"wva:hpa-down-rate=x%":           "must be a whole number of pods",
		"wva:hpa-down-window=-1s":        "must be a non-negative duration",
	}
	for name, want := range tests {
		err := checkPolicyName(name)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: unexpected error %v", name, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: error = %v, want it to contain %q", name, err, want)
		}
	}
}

// TestCompareKnobPolicies runs two settings of wva side by side: each is reported under its full
// name, and a knob changes the run.
func TestCompareKnobPolicies(t *testing.T) {
	cfg := stepConfig(t, "wva", "wva:interval=1m,stabilization=0s,step=0", "hpa:kv-target=0.3")
	c, err := Compare(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range c.Policies {
		names = append(names, r.Name)
	}
	if !cmp.Equal(names, cfg.Policies) {
		t.Errorf("policies %q, want %q", names, cfg.Policies)
	}
	if cmp.Equal(c.Policies[0].Score, c.Policies[1].Score) {
		t.Error("a 1-minute cycle without damping scored exactly like the default wva")
	}
	if err := (Config{}).Validate(); err == nil {
		t.Error("empty config validated")
	}
}

// TestCompareReadsMooncake runs a comparison straight from a Mooncake file, detected by content.
func TestCompareReadsMooncake(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trace.jsonl")
	var b strings.Builder
	for i := range 600 {
		b.WriteString(`{"timestamp": ` + strconv.Itoa(i*200) + `, "input_length": 3000, "output_length": 40, "hash_ids": [1, 2, 3, 4, 5, 6]}` + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Trace, cfg.RateScale, cfg.Policies, cfg.StartupDelay = path, 1, []string{"static"}, 30*time.Second
	for _, format := range []string{"", workload.FormatAuto, workload.FormatMooncake} {
		cfg.TraceFormat = format
		c, err := Compare(context.Background(), cfg)
		if err != nil {
			t.Fatalf("format %q: %v", format, err)
		}
		if c.Requests != 600 || c.Name != "trace x1" {
			t.Errorf("format %q: %d requests in %q, want 600 in \"trace x1\"", format, c.Requests, c.Name)
		}
	}
	cfg.TraceFormat = workload.FormatAzure
	if _, err := Compare(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "reading header") {
		t.Errorf("Mooncake read as Azure: error = %v", err)
	}
	cfg.TraceFormat = "csv"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `unknown trace format "csv"`) {
		t.Errorf("bad format: error = %v", err)
	}
}

func TestVerdictAndAggregate(t *testing.T) {
	cfg := MatrixConfig{Policies: []string{"a", "b"}, MeetsAttainment: 0.99, MeetsCostRatio: 1.3}
	cell := func(seed uint64, fa, fb, ra, rb float64, rev int) Cell {
		return Cell{TraceName: "t", Comparison: Comparison{Config: Config{RateScale: 2, StartupDelay: time.Minute, Seed: seed}, Policies: []PolicyRun{
			{Name: "a", Score: sim.Score{FeasibleAttainment: fa, Reversals: rev}, CostRatioToOracleWarm: ra},
			{Name: "b", Score: sim.Score{FeasibleAttainment: fb}, CostRatioToOracleWarm: rb, UnderProvisioned: true},
		}}}
	}
	cells := []Cell{cell(1, 0.995, 0.98, 1.2, 0.9, 2), cell(2, 0.991, 0.97, 1.3, 0.8, 4)}
	cells = append(cells, cell(1, 0.999, 0.999, 1.5, 1.1, 0))
	cells[2].Comparison.Config.RateScale = 4
	groups := groupCells(cfg, cells)
	if len(groups) != 2 || !cmp.Equal(groups[0].Cells, []int{0, 1}) || !cmp.Equal(groups[1].Cells, []int{2}) {
		t.Fatalf("groups %+v, want cells {0,1} and {2}", groups)
	}
	a, b := groups[0].Policies[0], groups[0].Policies[1]
	if a.Cells != 2 || !near(a.MeanFeasibleAttainment, 0.993) || a.WorstFeasibleAttainment != 0.991 || !near(a.MeanCostRatioToOracleWarm, 1.25) ||
		a.WorstCostRatioToOracleWarm != 1.3 || a.MeanReversals != 3 || a.Verdict != VerdictMeets || !a.Meets {
		t.Errorf("policy a: %+v", a)
	}
	if b.Verdict != "attainment 97.00% < 99%" || b.Meets || b.UnderProvisioned != 2 {
		t.Errorf("policy b: %+v", b)
	}
	if v := groups[1].Policies[0].Verdict; v != "cost 1.50× > 1.3×" {
		t.Errorf("group 2, policy a: verdict %q", v)
	}
	if v, _ := verdict(Aggregate{WorstFeasibleAttainment: 0.5, MeanCostRatioToOracleWarm: 2}, 0.99, 1.3); v != "attainment 50.00% < 99%, cost 2.00× > 1.3×" {
		t.Errorf("both failing: verdict %q", v)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
