package report

import (
	"bytes"
	"context"
	"flag"
	"image/png"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/policy"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const tracePath = "../../../testdata/traces/azure-llm-inference-2023-conv.csv"

// stepConfig is a small synthetic comparison: four minutes of Poisson arrivals stepping from 10
// to 40 to 20 req/s of 1000 prompt and 200 output tokens, on A100 and H100 variants that start in
// 30 s.
func stepConfig(t testing.TB, policies ...string) Config {
	t.Helper()
	reqs, err := workload.Poisson(workload.Steps(80*time.Second, 10, 40, 20), workload.FixedTokens(1000, 200), 7)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Trace, cfg.Requests, cfg.Name, cfg.RateScale = "", reqs, "step", 1
	cfg.StartupDelay = 30 * time.Second
	if len(policies) > 0 {
		cfg.Policies = policies
	}
	return cfg
}

// traceConfig is the first four minutes of the bundled trace at rate scale 4, with every policy.
func traceConfig() (Config, error) {
	base, err := workload.LoadAzureCSV(tracePath)
	if err != nil {
		return Config{}, err
	}
	cfg := DefaultConfig()
	cfg.Trace, cfg.Requests, cfg.Name = "", workload.Window(base, 0, 4*time.Minute), "conv-4min x4"
	return cfg, nil
}

// shared is the comparison of traceConfig, computed once for the tests that only read it.
var shared = sync.OnceValues(func() (Comparison, error) {
	cfg, err := traceConfig()
	if err != nil {
		return Comparison{}, err
	}
	return Compare(context.Background(), cfg)
})

func sharedComparison(t *testing.T) Comparison {
	t.Helper()
	c, err := shared()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTableGolden compares the table of the step scenario with testdata/step-table.golden; -update
// rewrites it. The WVA policies are left out so that analyzer changes do not churn this file:
// the table's format is what is under test (TestCompareDeterministic covers them).
func TestTableGolden(t *testing.T) {
	c, err := Compare(context.Background(), stepConfig(t, "hpa", "static", "oracle"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteTable(&b, c); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "step-table.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("table mismatch (-want +got):\n%s", diff)
	}
}

// TestCompareDeterministic runs every policy twice on the same config and expects identical
// JSON.
func TestCompareDeterministic(t *testing.T) {
	first := sharedComparison(t)
	cfg, err := traceConfig()
	if err != nil {
		t.Fatal(err)
	}
	second, err := Compare(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	if err := WriteJSON(&a, first); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&b, second); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a.String(), b.String()); diff != "" {
		t.Errorf("two runs differ (-first +second):\n%s", diff)
	}
}

// TestCompareRuns checks what every run of the shared comparison must show.
func TestCompareRuns(t *testing.T) {
	c := sharedComparison(t)
	var names []string
	for _, p := range c.Policies {
		names = append(names, p.Name)
		if p.Score.Requests != c.Requests {
			t.Errorf("%s: scored %d requests, the scenario has %d", p.Name, p.Score.Requests, c.Requests)
		}
		if p.CostRatioToOracle <= 0 || p.CostRatioToOracleWarm <= 0 || len(p.Timeline) == 0 || len(p.TTFT) == 0 {
			t.Errorf("%s: ratios %g and %g, %d timeline records, %d TTFT minutes; want all positive",
				p.Name, p.CostRatioToOracle, p.CostRatioToOracleWarm, len(p.Timeline), len(p.TTFT))
		}
		if got, want := p.Timeline[1].At-p.Timeline[0].At, DefaultTimelineEvery; got != want {
			t.Errorf("%s: timeline every %s, want %s", p.Name, got, want)
		}
		if p.Name == "oracle" && (p.CostRatioToOracle < 0.98 || p.CostRatioToOracle > 1.2) {
			t.Errorf("oracle run: cost ratio to its own plan %g, want in [0.98, 1.2]", p.CostRatioToOracle)
		}
	}
	if diff := cmp.Diff(AllPolicies(), names); diff != "" {
		t.Errorf("policies (-want +got):\n%s", diff)
	}
	total := 0
	for _, n := range c.ArrivalsPerMinute {
		total += n
	}
	if total != c.Requests || len(c.ArrivalsPerMinute) != int((c.Duration+time.Minute-1)/time.Minute) {
		t.Errorf("arrivals per minute sum to %d over %d minutes, want %d over %s", total, len(c.ArrivalsPerMinute), c.Requests, c.Duration)
	}
}

// TestCompareProgress checks that progress only moves forward, names every step and ends at 1.
func TestCompareProgress(t *testing.T) {
	cfg := stepConfig(t, "static", "oracle")
	var seen []Progress
	cfg.Progress = func(p Progress) { seen = append(seen, p) }
	if _, err := Compare(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for i, p := range seen {
		names[p.Name] = true
		if p.Steps != 3 {
			t.Fatalf("progress %d: %d steps, want 3", i, p.Steps)
		}
		if i > 0 && p.Done() < seen[i-1].Done() {
			t.Errorf("progress went back from %.3f to %.3f at %d (%+v)", seen[i-1].Done(), p.Done(), i, p)
		}
	}
	if last := seen[len(seen)-1]; last.Done() != 1 {
		t.Errorf("last progress %+v, want done = 1", last)
	}
	for _, n := range []string{"oracle schedule", "static", "oracle"} {
		if !names[n] {
			t.Errorf("no progress for step %q", n)
		}
	}
	if len(seen) > 250 {
		t.Errorf("%d progress calls, want at most about one per percent", len(seen))
	}
}

// TestWriteReport checks that report.md links every plot and that the plots are PNG images.
func TestWriteReport(t *testing.T) {
	c := sharedComparison(t)
	dir := filepath.Join(t.TempDir(), "nested", "report")
	if err := WriteReport(dir, c); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Autoscaling policies on conv-4min x4", "| policy | SLO met |", "| wva | ", "| oracle | ",
		"## How to read it", "](" + ArrivalsPlot + ")", "](" + ReplicasPlot + ")", "](" + LatencyPlot + ")", "--rate-scale 4"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	for _, name := range []string{ArrivalsPlot, ReplicasPlot, LatencyPlot} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() < 600 || b.Dy() < 200 {
			t.Errorf("%s: %dx%d pixels, want at least 600x200", name, b.Dx(), b.Dy())
		}
	}
}

// TestWriteJSONFields checks the documented field names of WriteJSON's policies.
func TestWriteJSONFields(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sharedComparison(t)); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"name", "sloAttainment", "feasibleAttainment", "gpuHours", "cost", "costRatioToOracle", "costRatioToOracleWarm", "p99TTFTSeconds",
		"p99ITLSeconds", "unfinishedRequests", "scaleEvents", "reversals", "peakReplicas", "rateScale", "oracleWarm"} {
		if !strings.Contains(b.String(), `"`+field+`":`) {
			t.Errorf("JSON lacks field %q", field)
		}
	}
}

// TestConfigValidate lists the rules Config.Validate enforces.
func TestConfigValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(*Config)
		want string
	}{
		"defaults":         {func(*Config) {}, ""},
		"no trace":         {func(c *Config) { c.Trace = "" }, "a trace is required"},
		"rate scale":       {func(c *Config) { c.RateScale = 0 }, "rate scale must be a positive number, got 0"},
		"unknown policy":   {func(c *Config) { c.Policies = []string{"wva", "keda"} }, `unknown policy "keda": valid policies are wva, wva-v1, hpa, static, oracle-warm, oracle`},
		"duplicate policy": {func(c *Config) { c.Policies = []string{"hpa", "hpa"} }, `policy "hpa" is listed twice`},
		"no policy":        {func(c *Config) { c.Policies = nil }, "at least one policy is required"},
		"unknown profile":  {func(c *Config) { c.Profiles = []string{"A100-40GB", "B200"} }, `unknown profile "B200"`},
		"same variant":     {func(c *Config) { c.Profiles = []string{"h100-80gb", "H100-80GB"} }, "variant h100 (profile H100-80GB) is listed twice"},
		"startup delay":    {func(c *Config) { c.StartupDelay = -time.Second }, "start-up delay and jitter must not be negative"},
		"slo":              {func(c *Config) { c.SLO.ITL = 0 }, "SLO targets must be positive"},
		"timeline":         {func(c *Config) { c.TimelineEvery = 0 }, "timeline interval must be positive"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.edit(&cfg)
			err := cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestCompareVariantNames checks that variants are named after their accelerators and keep the
// start-up delay and SLO of the config.
func TestCompareVariantNames(t *testing.T) {
	c := sharedComparison(t)
	var got []string
	for _, v := range c.Variants {
		got = append(got, v.Name+"="+v.Profile.Name)
		if v.StartupDelay != sim.DefaultStartupDelay {
			t.Errorf("%s: start-up delay %s, want %s", v.Name, v.StartupDelay, sim.DefaultStartupDelay)
		}
	}
	if diff := cmp.Diff([]string{"a100=A100-40GB", "h100=H100-80GB"}, got); diff != "" {
		t.Errorf("variants (-want +got):\n%s", diff)
	}
}

// TestInitialFleet checks where the adaptive policies start: "steady" from the instant
// oracle's first window (at least one replica per variant), "one" from one replica each; the
// oracle-warm plan keeps its own first fleet.
func TestInitialFleet(t *testing.T) {
	cfg := stepConfig(t)
	sc, err := scenario(cfg)
	if err != nil {
		t.Fatal(err)
	}
	oracle, err := policy.NewOracle(sc, policy.DefaultOracleConfig())
	if err != nil {
		t.Fatal(err)
	}
	warm, err := oracle.Warm()
	if err != nil {
		t.Fatal(err)
	}
	want := oracle.InitialReplicas()
	total := 0
	for _, v := range sc.Variants {
		want[v.Name] = max(want[v.Name], 1)
		total += want[v.Name]
	}
	// The step scenario opens at 10 req/s of 1,000-token prompts: more than one replica's worth.
	if total <= len(sc.Variants) {
		t.Fatalf("the oracle's first window %v is one replica per variant: the test cannot tell the fleets apart", want)
	}
	initial := func(name, fleet string) map[string]int {
		t.Helper()
		c := cfg
		c.InitialFleet = fleet
		got, _, _, closer, err := build(name, sc, oracle, warm, c)
		if err != nil {
			t.Fatal(err)
		}
		if closer != nil {
			closer.Close()
		}
		out := map[string]int{}
		for _, v := range got.Variants {
			out[v.Name] = v.InitialReplicas
		}
		return out
	}
	one := map[string]int{}
	for _, v := range sc.Variants {
		one[v.Name] = 1
	}
	for _, name := range []string{"hpa", "wva", "wva-v1"} {
		if got := initial(name, InitialFleetSteady); !maps.Equal(got, want) {
			t.Errorf("steady: %s starts with %v, want the oracle's first window %v", name, got, want)
		}
		if got := initial(name, InitialFleetOne); !maps.Equal(got, one) {
			t.Errorf("one: %s starts with %v, want %v", name, got, one)
		}
	}
	if got := initial("oracle-warm", InitialFleetOne); !maps.Equal(got, warm.InitialReplicas()) {
		t.Errorf("oracle-warm starts with %v, want its plan's first fleet %v", got, warm.InitialReplicas())
	}
	cfg.InitialFleet = "warm"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `initial fleet must be steady or one, got "warm"`) {
		t.Errorf("Validate() = %v, want the initial-fleet error", err)
	}
}
