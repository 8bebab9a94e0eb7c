package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testNow is the analysis time of every golden run.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// TestExplainGolden runs every testdata/*.json snapshot in both output modes and compares the
// output with testdata/<name>.golden.{txt,json}; -update rewrites them.
func TestExplainGolden(t *testing.T) {
	snaps, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var inputs []string
	for _, s := range snaps {
		if !strings.HasSuffix(s, ".golden.json") {
			inputs = append(inputs, s)
		}
	}
	if len(inputs) == 0 {
		t.Fatal("no snapshots in testdata")
	}
	for _, in := range inputs {
		base := strings.TrimSuffix(in, ".json")
		for _, mode := range []struct {
			args   []string
			golden string
		}{
			{[]string{"explain", in}, base + ".golden.txt"},
			{[]string{"explain", "--json", in}, base + ".golden.json"},
		} {
			t.Run(filepath.Base(mode.golden), func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				if code := run(mode.args, nil, &stdout, &stderr, testNow); code != exitOK {
					t.Fatalf("run(%v) = %d, stderr:\n%s", mode.args, code, stderr.String())
				}
				if *update {
					if err := os.WriteFile(mode.golden, stdout.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(mode.golden)
				if err != nil {
					t.Fatalf("reading golden file (run with -update to create it): %v", err)
				}
				if diff := cmp.Diff(string(want), stdout.String()); diff != "" {
					t.Errorf("output mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestExplainV1Example checks the decision for the documented v1 snapshot: one of two replicas
// reports kv 0.75 (spare 0.05 < 0.10), so the variant goes from 2 to 3.
func TestExplainV1Example(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "v1-example.json"))
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"explain", "-", "--json"}, bytes.NewReader(in), &stdout, &stderr, testNow); code != exitOK {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr.String())
	}
	type decision struct {
		ModelID         string `json:"modelID"`
		Namespace       string `json:"namespace"`
		VariantName     string `json:"variantName"`
		CurrentReplicas int    `json:"currentReplicas"`
		TargetReplicas  int    `json:"targetReplicas"`
		Action          string `json:"action"`
	}
	var got struct {
		Analyzer  string     `json:"analyzer"`
		Decisions []decision `json:"decisions"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("decoding output: %v\n%s", err, stdout.String())
	}
	want := []decision{{ModelID: "llama-8b", Namespace: "prod", VariantName: "llama-8b-l4", CurrentReplicas: 2, TargetReplicas: 3, Action: "scale-up"}}
	if got.Analyzer != "v1" {
		t.Errorf("analyzer = %q, want v1", got.Analyzer)
	}
	if diff := cmp.Diff(want, got.Decisions); diff != "" {
		t.Errorf("decisions mismatch (-want +got):\n%s", diff)
	}
}

func TestRunErrors(t *testing.T) {
	tests := map[string]struct {
		args       []string
		stdin      string
		wantCode   int
		wantStderr string
	}{
		"no command":       {args: nil, wantCode: exitUsage, wantStderr: "Usage: wva COMMAND"},
		"unknown command":  {args: []string{"explian"}, wantCode: exitUsage, wantStderr: `unknown command "explian"`},
		"no snapshot":      {args: []string{"explain"}, wantCode: exitUsage, wantStderr: "want exactly one snapshot file, got 0"},
		"two snapshots":    {args: []string{"explain", "a.json", "b.json"}, wantCode: exitUsage, wantStderr: "got 2"},
		"unknown flag":     {args: []string{"explain", "--yaml", "a.json"}, wantCode: exitUsage, wantStderr: "flag provided but not defined: -yaml"},
		"missing file":     {args: []string{"explain", "testdata/nope.json"}, wantCode: exitError, wantStderr: "opening snapshot"},
		"unknown field":    {args: []string{"explain", "-"}, stdin: `{"models": [], "analyser": "v1"}`, wantCode: exitError, wantStderr: `unknown field "analyser"`},
		"typo in config":   {args: []string{"explain", "-"}, stdin: `{"saturationConfig": {"default": {"kvCacheTreshold": 0.8}}, "models": []}`, wantCode: exitError, wantStderr: `unknown field "kvCacheTreshold"`},
		"invalid config":   {args: []string{"explain", "-"}, stdin: `{"saturationConfig": {"default": {"kvCacheThreshold": 1.5}}, "models": []}`, wantCode: exitError, wantStderr: `saturationConfig["default"]: kvCacheThreshold must be between 0 and 1, got 1.5`},
		"unknown analyzer": {args: []string{"explain", "-"}, stdin: `{"analyzer": "v9", "models": []}`, wantCode: exitError, wantStderr: `unknown analyzer "v9": valid names are capacity, slo, v1`},
		"not JSON":         {args: []string{"explain", "-"}, stdin: `models: []`, wantCode: exitError, wantStderr: "decoding snapshot"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, strings.NewReader(tc.stdin), &stdout, &stderr, testNow)
			if code != tc.wantCode {
				t.Errorf("exit code = %d, want %d", code, tc.wantCode)
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tc.wantStderr)
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"help"}, nil, &stdout, &stderr, testNow); code != exitOK || !strings.Contains(stdout.String(), "explain [--json]") {
		t.Errorf("help: code %d, stdout %q", code, stdout.String())
	}
	stdout.Reset()
	if code := run([]string{"explain", "-h"}, nil, &stdout, &stderr, testNow); code != exitOK || !strings.Contains(stderr.String(), "Usage: wva explain") {
		t.Errorf("explain -h: code %d, stderr %q", code, stderr.String())
	}
}

func TestRunVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version", "-version"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{arg}, strings.NewReader(""), &stdout, &stderr, testNow); code != exitOK {
			t.Fatalf("wva %s: exit %d, stderr %q", arg, code, stderr.String())
		}
		if got := stdout.String(); !strings.HasPrefix(got, "wva dev (commit ") {
			t.Errorf("wva %s printed %q, want the version line", arg, got)
		}
	}
}
