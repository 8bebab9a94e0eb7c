package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/report"
)

// shortMooncake writes the first two minutes of the bundled Mooncake trace to a temporary file
// and returns its path.
func shortMooncake(t *testing.T) string {
	t.Helper()
	in, err := os.Open(filepath.Join("..", "..", report.DefaultMooncakeTrace))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var b strings.Builder
	sc := bufio.NewScanner(in)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Timestamp float64 `json:"timestamp"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		if line.Timestamp < 120000 {
			b.WriteString(sc.Text() + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "short-mooncake.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// benchArgs is a small matrix of both formats: 2 traces × 1 rate × 1 start-up delay × 2 seeds,
// with a knob-policy.
func benchArgs(t *testing.T) []string {
	return []string{"bench", "--traces", shortTrace(t) + "@rates=3," + shortMooncake(t) + "@rates=0.5@ttft=10s",
		"--startup-delays", "30s", "--seeds", "1,2", "--policies", "wva,wva:interval=30s,step=0.5,hpa,oracle-warm"}
}

// TestBenchDeterministicAcrossParallelism: the same matrix gives byte-identical JSON whether its
// cells run one at a time or two at once.
func TestBenchDeterministicAcrossParallelism(t *testing.T) {
	args := benchArgs(t)
	var outs [2]bytes.Buffer
	for i, parallel := range []string{"1", "2"} {
		var stderr bytes.Buffer
		a := append(append([]string(nil), args...), "--json", "--parallel", parallel)
		if code := run(a, nil, &outs[i], &stderr, testNow); code != exitOK {
			t.Fatalf("run(%v) = %d, stderr:\n%s", a, code, stderr.String())
		}
	}
	if !bytes.Equal(outs[0].Bytes(), outs[1].Bytes()) {
		t.Fatalf("--parallel 1 and 2 differ:\n%s", cmp.Diff(outs[0].String(), outs[1].String()))
	}
	var doc struct {
		Cells []struct {
			TraceName string `json:"traceName"`
			Scenario  struct {
				Seed uint64 `json:"seed"`
			} `json:"scenario"`
			Policies []struct {
				Name                  string   `json:"name"`
				FeasibleAttainment    *float64 `json:"feasibleAttainment"`
				CostRatioToOracleWarm *float64 `json:"costRatioToOracleWarm"`
			} `json:"policies"`
		} `json:"cells"`
		Groups []struct {
			TraceName string   `json:"traceName"`
			Seeds     []uint64 `json:"seeds"`
			Policies  []struct {
				Name    string `json:"name"`
				Verdict string `json:"verdict"`
			} `json:"policies"`
		} `json:"groups"`
		Summary []struct {
			Name                    string   `json:"name"`
			WorstFeasibleAttainment *float64 `json:"worstFeasibleAttainment"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(outs[0].Bytes(), &doc); err != nil {
		t.Fatalf("decoding: %v\n%s", err, outs[0].String())
	}
	var cells []string
	for _, c := range doc.Cells {
		cells = append(cells, c.TraceName+"/"+string(rune('0'+c.Scenario.Seed)))
		if len(c.Policies) != 4 || c.Policies[1].Name != "wva:interval=30s,step=0.5" || c.Policies[1].FeasibleAttainment == nil {
			t.Errorf("cell %s: policies %+v, want 4 with the knob-policy under its full name", c.TraceName, c.Policies)
		}
	}
	if want := []string{"short/1", "short/2", "short-mooncake/1", "short-mooncake/2"}; !cmp.Equal(want, cells) {
		t.Errorf("cells %v, want %v (trace, then seed)", cells, want)
	}
	if len(doc.Groups) != 2 || !cmp.Equal(doc.Groups[1].Seeds, []uint64{1, 2}) || doc.Groups[1].Policies[3].Verdict == "" {
		t.Errorf("groups %+v, want 2 with seeds 1, 2 and verdicts", doc.Groups)
	}
	if len(doc.Summary) != 4 || doc.Summary[0].WorstFeasibleAttainment == nil {
		t.Errorf("summary %+v, want 4 policies", doc.Summary)
	}
}

func TestBenchTableAndReport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bench")
	var stdout, stderr bytes.Buffer
	args := append(benchArgs(t), "--report", dir, "--progress", "--seeds", "1")
	if code := run(args, nil, &stdout, &stderr, testNow); code != exitOK {
		t.Fatalf("run(%v) = %d, stderr:\n%s", args, code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"Matrix: 2 cells", "short x3, start-up 30s, SLO TTFT 2s ITL 50ms, 1 seed",
		"short-mooncake x0.5, start-up 30s, SLO TTFT 10s ITL 50ms", "policy                     feasible mean  feasible worst  cost ×warm mean",
		"\nwva:interval=30s,step=0.5  ", "Overall, 2 cells in 2 groups", "meets 2 of 2", "Report: " + filepath.Join(dir, "report.md")} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if errOut := stderr.String(); !strings.Contains(errOut, "100%  2 of 2 cells") || !strings.HasSuffix(errOut, clearLine) {
		t.Errorf("stderr = %q, want a progress bar reaching 2 of 2 cells and cleared", errOut)
	}
	for _, name := range []string{"report.md", "matrix.png"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v (size %d), want a non-empty file", name, err, sizeOf(fi))
		}
	}
}

func TestParseBench(t *testing.T) {
	cfg, opts, err := parseBench(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := report.DefaultMatrixConfig()
	want.Traces[0].Format, want.Traces[1].Format = "auto", "auto"
	want.Parallel = cfg.Parallel
	want.MeetsAttainment, want.MeetsCostRatio = report.DefaultMeetsAttainment, report.DefaultMeetsCostRatio
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if cfg.Parallel < 1 || opts != (benchOptions{}) {
		t.Errorf("parallel %d, options %+v; want >= 1 and none", cfg.Parallel, opts)
	}

	cfg, opts, err = parseBench([]string{"--traces", "a.csv,b.jsonl@rates=0.5/1@ttft=10s@format=mooncake", "--rate-scales", "2,6",
		"--startup-delays", "1m", "--seeds", "7", "--policies", "wva:step=0.5,stabilization=0s,hpa:kv-target=0.6,static",
		"--parallel", "3", "--json", "--report", "out/m"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	wantTraces := []report.MatrixTrace{{Path: "a.csv", Format: "auto"},
		{Path: "b.jsonl", Format: "mooncake", RateScales: []float64{0.5, 1}, SLO: sim.SLO{TTFT: 10 * time.Second, ITL: 50 * time.Millisecond}}}
	if diff := cmp.Diff(wantTraces, cfg.Traces); diff != "" {
		t.Errorf("traces (-want +got):\n%s", diff)
	}
	if !cmp.Equal(cfg.RateScales, []float64{2, 6}) || !cmp.Equal(cfg.StartupDelays, []time.Duration{time.Minute}) || !cmp.Equal(cfg.Seeds, []uint64{7}) ||
		!cmp.Equal(cfg.Policies, []string{"wva:step=0.5,stabilization=0s", "hpa:kv-target=0.6", "static"}) || cfg.Parallel != 3 {
		t.Errorf("parsed %+v", cfg)
	}
	if want := (benchOptions{asJSON: true, reportDir: "out/m"}); opts != want {
		t.Errorf("options = %+v, want %+v", opts, want)
	}
}

func TestBenchErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		code int
		want string
	}{
		"unknown knob":   {[]string{"--policies", "wva:headroom=1.2"}, exitUsage, `unknown knob "headroom" for wva: valid knobs are actuation, analyzer, hpa-down-rate, hpa-down-window, interval,`},
		"bad knob":       {[]string{"--policies", "wva:step=2"}, exitUsage, "knob step=2"},
		"static knobs":   {[]string{"--policies", "static:x=1"}, exitUsage, "static takes no knobs"},
		"bad rates":      {[]string{"--rate-scales", "2,x"}, exitUsage, `--rate-scales: "x" is not a number`},
		"zero rate":      {[]string{"--traces", "a.csv@rates=0"}, exitUsage, "rate scale must be a positive number, got 0"},
		"bad delays":     {[]string{"--startup-delays", "1 min"}, exitUsage, `--startup-delays: "1 min" is not a start-up delay such as 120s`},
		"bad seeds":      {[]string{"--seeds", "-1"}, exitUsage, `--seeds: "-1" is not a non-negative integer`},
		"twice seed":     {[]string{"--seeds", "1,1"}, exitUsage, "seed 1 is listed twice"},
		"trace option":   {[]string{"--traces", "a.csv@speed=2"}, exitUsage, "trace a.csv: speed=2: unknown option"},
		"trace format":   {[]string{"--traces", "a.csv@format=parquet"}, exitUsage, `unknown trace format "parquet"`},
		"no parallel":    {[]string{"--parallel", "0"}, exitUsage, "--parallel must be at least 1"},
		"no delays":      {[]string{"--startup-delays", ""}, exitUsage, "at least one start-up delay is required"},
		"missing trace":  {[]string{"--traces", "nope.jsonl"}, exitError, "trace nope.jsonl"},
		"default traces": {nil, exitError, "relative to the repository root"},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"bench"}, tc.args...)
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
