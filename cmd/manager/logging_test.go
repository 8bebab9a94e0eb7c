package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// TestLogDefaultsAreProduction checks that without flags the manager logs JSON at info level.
func TestLogDefaultsAreProduction(t *testing.T) {
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	o := bindLogFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if o.Development {
		t.Fatal("--zap-devel defaults to true, want false")
	}
	var buf bytes.Buffer
	logger := zap.New(zap.UseFlagOptions(o), zap.WriteTo(&buf))
	logger.V(1).Info("debug line")
	logger.Info("info line", "key", "value")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d lines, want only the info line:\n%s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("log line is not JSON: %v\n%s", err, lines[0])
	}
	if rec["msg"] != "info line" || rec["key"] != "value" || rec["level"] != "info" {
		t.Errorf("log record = %v", rec)
	}
}

// TestLogDevelFlag checks that --zap-devel still switches to console output.
func TestLogDevelFlag(t *testing.T) {
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	o := bindLogFlags(fs)
	if err := fs.Parse([]string{"--zap-devel"}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zap.New(zap.UseFlagOptions(o), zap.WriteTo(&buf)).Info("info line")
	if json.Valid(bytes.TrimSpace(buf.Bytes())) {
		t.Errorf("--zap-devel output is JSON, want console: %s", buf.String())
	}
}

// TestVersionFlag runs main() as its own process with --version: it prints the version line and
// exits 0 without reading a kubeconfig.
func TestVersionFlag(t *testing.T) {
	cmd := exec.Command(os.Args[0], "--version")
	cmd.Env = append(os.Environ(), envManagerProcess+"=1", "KUBECONFIG=/nonexistent")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("manager --version: %v\n%s", err, out)
	}
	if got := string(out); !strings.HasPrefix(got, "manager dev (commit ") || strings.Count(got, "\n") != 1 {
		t.Errorf("manager --version printed %q, want one version line", got)
	}
}
