package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"--bin-dir", "/x"})
	if err != nil {
		t.Fatal(err)
	}
	if o.duration != 4*time.Minute || o.rateScale != 2 || o.interval != 5*time.Second || o.maxReplicas != 8 {
		t.Fatalf("defaults: duration %s, rate scale %g, interval %s, max %d", o.duration, o.rateScale, o.interval, o.maxReplicas)
	}
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no bin dir":       {[]string{}, "--bin-dir"},
		"zero duration":    {[]string{"--bin-dir", "/x", "--duration", "0s"}, "must be positive"},
		"negative span":    {[]string{"--bin-dir", "/x", "--trace-span", "-1m"}, "must not be negative"},
		"zero rate":        {[]string{"--bin-dir", "/x", "--rate-scale", "0"}, "--rate-scale"},
		"too many":         {[]string{"--bin-dir", "/x", "--max-replicas", "17"}, "--max-replicas"},
		"stray argument":   {[]string{"--bin-dir", "/x", "extra"}, "unexpected arguments"},
		"negative startup": {[]string{"--bin-dir", "/x", "--startup-delay", "-1s"}, "must not be negative"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("WVA_CLUSTER_BIN", "")
			_, err := parseFlags(tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestEmptiable(t *testing.T) {
	dir := t.TempDir()
	if err := emptiable(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("a missing directory: %v", err)
	}
	if err := emptiable(dir); err != nil {
		t.Errorf("an empty directory: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := emptiable(dir); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("a directory of other files: %v, want a refusal", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "pki"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := emptiable(dir); err != nil {
		t.Errorf("a cluster's state directory: %v", err)
	}
}

func TestClock(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0:00", 65 * time.Second: "1:05", 10*time.Minute + 59600*time.Millisecond: "11:00"} {
		if got := clock(d); got != want {
			t.Errorf("clock(%s) = %s, want %s", d, got, want)
		}
	}
}
