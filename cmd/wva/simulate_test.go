package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/report"
)

// shortTrace writes the header and the first three minutes of the bundled trace to a temporary
// file and returns its path: enough for every policy to scale, fast under -race.
func shortTrace(t *testing.T) string {
	t.Helper()
	in, err := os.Open(filepath.Join("..", "..", report.DefaultTrace))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var b strings.Builder
	sc := bufio.NewScanner(in)
	for i := 0; sc.Scan(); i++ {
		// The trace starts at 18:15:46; keep the rows before 18:18:46.
		if line := sc.Text(); i == 0 || line < "2023-11-16 18:18:46" {
			b.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "short.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// simulateJSON mirrors the documented fields of `wva simulate --json`.
type simulateJSON struct {
	Scenario struct {
		Trace     string  `json:"trace"`
		RateScale float64 `json:"rateScale"`
		Seed      uint64  `json:"seed"`
		Requests  int     `json:"requests"`
	} `json:"scenario"`
	Policies []struct {
		Name               string   `json:"name"`
		SLOAttainment      *float64 `json:"sloAttainment"`
		GPUHours           *float64 `json:"gpuHours"`
		Cost               *float64 `json:"cost"`
		RatioToOracle      *float64 `json:"costRatioToOracleWarm"`
		P99TTFTSeconds     *float64 `json:"p99TTFTSeconds"`
		P99ITLSeconds      *float64 `json:"p99ITLSeconds"`
		UnfinishedRequests *int     `json:"unfinishedRequests"`
		ScaleEvents        *int     `json:"scaleEvents"`
		Reversals          *int     `json:"reversals"`
	} `json:"policies"`
}

func TestSimulateJSON(t *testing.T) {
	trace := shortTrace(t)
	var stdout, stderr bytes.Buffer
	args := []string{"simulate", "--trace", trace, "--rate-scale", "3", "--seed", "5", "--json"}
	if code := run(args, nil, &stdout, &stderr, testNow); code != exitOK {
		t.Fatalf("run(%v) = %d, stderr:\n%s", args, code, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr is not empty (no terminal, no --progress):\n%s", stderr.String())
	}
	var got simulateJSON
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("decoding output: %v\n%s", err, stdout.String())
	}
	if got.Scenario.Trace != trace || got.Scenario.RateScale != 3 || got.Scenario.Seed != 5 || got.Scenario.Requests == 0 {
		t.Errorf("scenario = %+v, want trace %s, rate scale 3, seed 5 and some requests", got.Scenario, trace)
	}
	var names []string
	for _, p := range got.Policies {
		names = append(names, p.Name)
		if p.SLOAttainment == nil || p.GPUHours == nil || p.Cost == nil || p.RatioToOracle == nil || p.P99TTFTSeconds == nil ||
			p.P99ITLSeconds == nil || p.UnfinishedRequests == nil || p.ScaleEvents == nil || p.Reversals == nil {
			t.Errorf("policy %s lacks a documented field:\n%s", p.Name, stdout.String())
		}
		if p.GPUHours != nil && *p.GPUHours <= 0 {
			t.Errorf("policy %s: gpuHours = %g, want > 0", p.Name, *p.GPUHours)
		}
	}
	if diff := cmp.Diff(report.AllPolicies(), names); diff != "" {
		t.Errorf("policies (-want +got):\n%s", diff)
	}
}

func TestSimulateTableAndReport(t *testing.T) {
	trace := shortTrace(t)
	dir := filepath.Join(t.TempDir(), "demo")
	var stdout, stderr bytes.Buffer
	args := []string{"simulate", "--trace", trace, "--policies", "hpa, oracle", "--report", dir, "--progress"}
	if code := run(args, nil, &stdout, &stderr, testNow); code != exitOK {
		t.Fatalf("run(%v) = %d, stderr:\n%s", args, code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"Scenario short x4: ", "Plans: oracle-warm $", "policy  SLO met  feasible met  GPU-hours", "\nhpa  ", "\noracle  ",
		"Report: " + filepath.Join(dir, "report.md")} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "wva") || strings.Contains(out, "\r") {
		t.Errorf("stdout has an unasked policy or the progress bar:\n%s", out)
	}
	if errOut := stderr.String(); !strings.Contains(errOut, "100%  done") || !strings.HasSuffix(errOut, clearLine) {
		t.Errorf("stderr = %q, want a progress bar reaching 100%% and cleared", errOut)
	}
	for _, name := range []string{"report.md", "arrivals.png", "replicas.png", "latency.png"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v (size %d), want a non-empty file", name, err, sizeOf(fi))
		}
	}
}

func sizeOf(fi os.FileInfo) int64 {
	if fi == nil {
		return 0
	}
	return fi.Size()
}

// TestSimulateJSONWithReport keeps stdout pure JSON: the report's location goes to stderr.
func TestSimulateJSONWithReport(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"simulate", "--trace", shortTrace(t), "--policies", "static", "--json", "--report", dir}
	if code := run(args, nil, &stdout, &stderr, testNow); code != exitOK {
		t.Fatalf("run(%v) = %d, stderr:\n%s", args, code, stderr.String())
	}
	var v map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
		t.Errorf("stdout is not one JSON document: %v\n%s", err, stdout.String())
	}
	if !strings.Contains(stderr.String(), "Report: "+filepath.Join(dir, "report.md")) {
		t.Errorf("stderr = %q, want the report's location", stderr.String())
	}
}

func TestParseSimulateDefaults(t *testing.T) {
	cfg, opts, err := parseSimulate(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := report.Config{
		Trace:             "testdata/traces/azure-llm-inference-2023-conv.csv",
		TraceFormat:       "auto",
		RateScale:         4,
		Seed:              1,
		Profiles:          []string{sim.ProfileA100, sim.ProfileH100},
		StartupDelay:      120 * time.Second,
		SLO:               sim.DefaultSLO(),
		Policies:          []string{"wva", "wva-v1", "hpa", "static", "oracle-warm", "oracle"},
		TimelineEvery:     report.DefaultTimelineEvery,
		WVAActuation:      report.ActuationMetrics,
		WVAActuationDelay: time.Second,
		Metrics:           report.MetricsPrometheus,
		ScrapeInterval:    15 * time.Second,
		InitialFleet:      report.InitialFleetSteady,
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if opts != (simulateOptions{}) {
		t.Errorf("options = %+v, want none", opts)
	}

	cfg, opts, err = parseSimulate([]string{"--trace=t.csv", "--rate-scale", "2.5", "--startup-delay", "90s", "--policies", "oracle,hpa",
		"--variants", "l4", "--slo-ttft", "3s", "--slo-itl", "150ms", "--seed", "9", "--json", "--report", "out/x", "--progress",
		"--wva-actuation", "hpa", "--wva-actuation-delay", "20s", "--metrics", "ideal", "--scrape-interval", "30s",
		"--scrape-jitter", "2s", "--scrape-failure-rate", "0.1", "--initial-fleet", "one", "--decision-log", "out/d.log"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want = report.Config{Trace: "t.csv", TraceFormat: "auto", RateScale: 2.5, Seed: 9, Profiles: []string{"l4"}, StartupDelay: 90 * time.Second,
		SLO: sim.SLO{TTFT: 3 * time.Second, ITL: 150 * time.Millisecond}, Policies: []string{"oracle", "hpa"}, TimelineEvery: report.DefaultTimelineEvery,
		WVAActuation: report.ActuationHPA, WVAActuationDelay: 20 * time.Second, Metrics: report.MetricsIdeal,
		ScrapeInterval: 30 * time.Second, ScrapeJitter: 2 * time.Second, ScrapeFailureRate: 0.1, InitialFleet: report.InitialFleetOne}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("parsed config (-want +got):\n%s", diff)
	}
	if want := (simulateOptions{asJSON: true, reportDir: "out/x", progress: true, decisionLog: "out/d.log"}); opts != want {
		t.Errorf("options = %+v, want %+v", opts, want)
	}
}

func TestSimulateErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		code int
		want string
	}{
		"unknown policy":  {[]string{"--policies", "wva,keda"}, exitUsage, `unknown policy "keda": valid policies are wva, wva-v1, hpa, static, oracle-warm, oracle`},
		"empty policies":  {[]string{"--policies", ","}, exitUsage, "at least one policy is required"},
		"bad rate scale":  {[]string{"--rate-scale", "-2"}, exitUsage, "rate scale must be a positive number, got -2"},
		"not a number":    {[]string{"--rate-scale", "four"}, exitUsage, `invalid value "four" for flag -rate-scale`},
		"bad duration":    {[]string{"--startup-delay", "2 minutes"}, exitUsage, `--startup-delay: "2 minutes" is not a start-up delay such as 120s`},
		"negative delay":  {[]string{"--startup-delay", "-1s"}, exitUsage, `--startup-delay: "-1s" is not a start-up delay`},
		"zero SLO":        {[]string{"--slo-itl", "0s"}, exitUsage, "SLO targets must be positive"},
		"unknown variant": {[]string{"--variants", "A100-40GB,TPU"}, exitUsage, `unknown profile "TPU": valid names are`},
		"unknown flag":    {[]string{"--rate", "4"}, exitUsage, "flag provided but not defined: -rate"},
		"bad actuation":   {[]string{"--wva-actuation", "keda"}, exitUsage, `wva actuation must be metrics or direct, got "keda"`},
		"negative lag":    {[]string{"--wva-actuation-delay", "-1s"}, exitUsage, "wva actuation delay must not be negative"},
		"positional":      {[]string{"trace.csv"}, exitUsage, `unexpected argument "trace.csv"`},
		"missing trace":   {[]string{"--trace", "nope.csv"}, exitError, "opening trace: open nope.csv"},
		"default trace":   {nil, exitError, "relative to the repository root"},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"simulate"}, tc.args...)
			if code := run(args, nil, &stdout, &stderr, testNow); code != tc.code {
				t.Errorf("run(%v) = %d, want %d; stderr:\n%s", args, code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tc.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}
}

// TestSimulateUnreachableSLO reports the oracle's error for an SLO no request can meet.
func TestSimulateUnreachableSLO(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"simulate", "--trace", shortTrace(t), "--slo-ttft", "1ms"}
	if code := run(args, nil, &stdout, &stderr, testNow); code != exitError {
		t.Fatalf("run(%v) = %d, want %d", args, code, exitError)
	}
	if want := "no request can meet the SLO"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr = %q, want it to contain %q", stderr.String(), want)
	}
}

func TestSimulateHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"simulate", "--help"}, nil, &stdout, &stderr, testNow); code != exitOK {
		t.Fatalf("exit code %d, want %d", code, exitOK)
	}
	for _, want := range []string{"Usage: wva simulate", "-rate-scale K", "-policies LIST", "wva, wva-v1, hpa, static, oracle", "-report DIR"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, stderr.String())
		}
	}
	stdout.Reset()
	if code := run([]string{"help"}, nil, &stdout, &stderr, testNow); code != exitOK || !strings.Contains(stdout.String(), "simulate [FLAGS]") {
		t.Errorf("wva help = %d:\n%s\nwant the simulate command listed", code, stdout.String())
	}
}

// With the production collector over the simulated Prometheus (the default), jittered and
// failing scrapes included, the same seed gives byte-identical JSON.
func TestSimulatePrometheusMetricsAreDeterministic(t *testing.T) {
	trace := shortTrace(t)
	args := []string{"simulate", "--trace", trace, "--rate-scale", "3", "--seed", "5", "--json", "--policies", "wva,wva-v1",
		"--metrics", "prometheus", "--scrape-jitter", "2s", "--scrape-failure-rate", "0.1"}
	out := make([]string, 2)
	for i := range out {
		var stdout, stderr bytes.Buffer
		if code := run(args, nil, &stdout, &stderr, testNow); code != exitOK {
			t.Fatalf("run(%v) = %d, stderr:\n%s", args, code, stderr.String())
		}
		out[i] = stdout.String()
	}
	if out[0] != out[1] {
		t.Errorf("two runs with the same seed differ:\n%s", cmp.Diff(out[0], out[1]))
	}
	if !strings.Contains(out[0], `"metrics": "prometheus"`) {
		t.Errorf("the JSON does not say which metrics source ran:\n%s", out[0])
	}
}

// The 70B profile runs in a scenario of its own, and --startup-delay takes a spread.
func TestSimulateLlama70BWithStartupSpread(t *testing.T) {
	trace := shortTrace(t)
	var stdout, stderr bytes.Buffer
	args := []string{"simulate", "--trace", trace, "--rate-scale", "2", "--variants", sim.ProfileH100TP4Llama70B,
		"--startup-delay", "120s±30s", "--policies", "hpa,static,oracle-warm", "--json"}
	if code := run(args, nil, &stdout, &stderr, testNow); code != exitOK {
		t.Fatalf("run(%v) = %d, stderr:\n%s", args, code, stderr.String())
	}
	var got simulateJSON
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("decoding output: %v\n%s", err, stdout.String())
	}
	if len(got.Policies) != 3 || got.Scenario.Requests == 0 {
		t.Fatalf("got %d policies over %d requests, want 3 over some", len(got.Policies), got.Scenario.Requests)
	}
	for _, p := range got.Policies {
		// The fleets sized with hindsight serve the traffic; the HPA, starting from one replica
		// two minutes from help, need not.
		if p.Name != "hpa" && *p.SLOAttainment < 0.9 {
			t.Errorf("policy %s: SLO attainment %g on the 70B profile, want >= 0.9", p.Name, *p.SLOAttainment)
		}
	}
	cfg, _, err := parseSimulate([]string{"--startup-delay", "120s±30s"}, &stderr)
	if err != nil || cfg.StartupDelay != 120*time.Second || cfg.StartupJitter != 30*time.Second {
		t.Errorf("--startup-delay 120s±30s: delay %s jitter %s, err %v", cfg.StartupDelay, cfg.StartupJitter, err)
	}
	if _, _, err := parseSimulate([]string{"--startup-delay", "120s±x"}, &stderr); err == nil {
		t.Error("--startup-delay 120s±x was accepted")
	}
}

func TestSimulateParsesTheGPUInventory(t *testing.T) {
	cfg, _, err := parseSimulate([]string{"--gpus", "a100=4, H100-80GB=8"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.GPUs, map[string]int{"a100": 4, "H100-80GB": 8}; !maps.Equal(got, want) {
		t.Errorf("GPUs %v, want %v", got, want)
	}
	for _, bad := range []string{"a100", "a100=-1", "a100=x", "a100=1,a100=2", "tpu=4"} {
		if _, _, err := parseSimulate([]string{"--gpus", bad}, io.Discard); err == nil {
			t.Errorf("--gpus %s: no error", bad)
		}
	}
}
