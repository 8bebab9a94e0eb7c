package report

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
)

// smallMooncake writes a two-minute Mooncake trace of 2 requests/s and returns its path.
func smallMooncake(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for i := range 240 {
		b.WriteString(`{"timestamp": ` + strconv.Itoa(i*500) + `, "input_length": 2000, "output_length": 50, "hash_ids": [1, 2, 3, 4]}` + "\n")
	}
	path := filepath.Join(t.TempDir(), "small.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func smallMatrix(t *testing.T) MatrixConfig {
	cfg := DefaultMatrixConfig()
	cfg.Traces = []MatrixTrace{{Path: smallMooncake(t), RateScales: []float64{1, 2}}}
	cfg.StartupDelays = []time.Duration{30 * time.Second}
	cfg.Seeds = []uint64{1, 2}
	cfg.Policies = []string{"hpa", "oracle-warm"}
	return cfg
}

func TestRunMatrixProgressAndOrder(t *testing.T) {
	cfg := smallMatrix(t)
	cfg.Parallel = 2
	var calls []MatrixProgress
	cfg.Progress = func(p MatrixProgress) { calls = append(calls, p) }
	m, err := RunMatrix(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Cells) != 4 || len(m.Groups) != 2 || len(m.Summary) != 2 {
		t.Fatalf("%d cells, %d groups, %d summary rows; want 4, 2, 2", len(m.Cells), len(m.Groups), len(m.Summary))
	}
	for i, want := range []struct {
		rate float64
		seed uint64
	}{{1, 1}, {1, 2}, {2, 1}, {2, 2}} {
		cc := m.Cells[i].Comparison.Config
		if cc.RateScale != want.rate || cc.Seed != want.seed || m.Cells[i].TraceName != "small" {
			t.Errorf("cell %d: %s rate %g seed %d, want small rate %g seed %d", i, m.Cells[i].TraceName, cc.RateScale, cc.Seed, want.rate, want.seed)
		}
		for _, r := range m.Cells[i].Comparison.Policies {
			if r.Timeline != nil || r.TTFT != nil {
				t.Errorf("cell %d keeps the timeline of %s", i, r.Name)
			}
		}
	}
	last := calls[len(calls)-1]
	if last.Done != 4 || last.Cells != 4 || last.Fraction != 1 {
		t.Errorf("last progress %+v, want 4 of 4 cells, fraction 1", last)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i].Done < calls[i-1].Done {
			t.Fatalf("progress went back: %+v after %+v", calls[i], calls[i-1])
		}
	}
}

// TestRunMatrixErrors: a cell that fails reports its own error, not the cancellation it causes
// in the others; configurations are checked before anything runs.
func TestRunMatrixErrors(t *testing.T) {
	cfg := smallMatrix(t)
	cfg.Traces[0].SLO = sim.SLO{TTFT: time.Millisecond, ITL: time.Millisecond}
	if _, err := RunMatrix(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "no request can meet the SLO") || !strings.Contains(err.Error(), "cell small x1") {
		t.Errorf("unreachable SLO: error = %v", err)
	}

	bad := smallMatrix(t)
	bad.StartupDelays, bad.Seeds, bad.Parallel = nil, []uint64{3, 3}, -1
	bad.Policies = []string{"wva:bogus=1"}
	bad.Traces = append(bad.Traces, MatrixTrace{Path: "x.csv", Format: "xml"})
	err := bad.Validate()
	for _, want := range []string{"at least one start-up delay", "seed 3 is listed twice", "parallelism must not be negative"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want it to contain %q", err, want)
		}
	}
	bad.StartupDelays = []time.Duration{time.Minute}
	err = bad.Validate()
	for _, want := range []string{`unknown knob "bogus"`, `unknown trace format "xml"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want it to contain %q", err, want)
		}
	}
	missing := smallMatrix(t)
	missing.Traces[0].Path = "no-such.jsonl"
	if _, err := RunMatrix(context.Background(), missing); err == nil || !strings.Contains(err.Error(), "opening trace") {
		t.Errorf("missing trace: error = %v", err)
	}
}
