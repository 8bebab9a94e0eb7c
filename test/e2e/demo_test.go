//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/test/e2e/localcluster"
)

// demoRow is one row of hack/demo-cluster's live table.
type demoRow struct {
	line                  string
	afterTrace            bool
	load                  float64
	decision, spec, ready [2]int // L4, A100
	decisionSum, readySum int
	specEqualsDecision    bool
}

// parseDemoRow parses "time trace load | d d | s s | r r | ttft"; ok is false for other lines.
func parseDemoRow(line string) (demoRow, bool) {
	parts := strings.Split(line, "|")
	if len(parts) != 5 {
		return demoRow{}, false
	}
	head := strings.Fields(parts[0])
	if len(head) != 3 || !strings.Contains(head[0], ":") {
		return demoRow{}, false
	}
	r := demoRow{line: line, afterTrace: head[1] == "done"}
	var err error
	if r.load, err = strconv.ParseFloat(head[2], 64); err != nil {
		return demoRow{}, false
	}
	for i, dst := range []*[2]int{&r.decision, &r.spec, &r.ready} {
		f := strings.Fields(parts[i+1])
		if len(f) != 2 {
			return demoRow{}, false
		}
		for j := range 2 {
			if dst[j], err = strconv.Atoi(f[j]); err != nil {
				return demoRow{}, false
			}
		}
	}
	r.decisionSum = r.decision[0] + r.decision[1]
	r.readySum = r.ready[0] + r.ready[1]
	r.specEqualsDecision = r.spec == r.decision
	return r, true
}

// syncBuffer collects a process's output for reading while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemoCluster runs `make demo-cluster`'s driver (hack/demo-cluster) in a short mode: its own
// cluster, WVA, and a 45 s replay of the Azure trace's first 20 minutes at 3× its rate. The
// table's rows must show the load arriving, WVA's decision growing above the minimum with it,
// spec.replicas following the decision (Direct mode) and more pods Ready; after the trace the
// driver keeps running with its note; SIGTERM must stop every process it started and remove the
// network namespace. It runs before the shared cluster of the other scenarios (same ports and
// network namespace): when that cluster already runs, it is stopped first and started again by
// the next scenario.
func TestDemoCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	binDir := os.Getenv("WVA_CLUSTER_BIN")
	if binDir == "" {
		t.Fatal("WVA_CLUSTER_BIN is not set: run `make e2e`, or export WVA_CLUSTER_BIN=$(hack/cluster-binaries.sh)")
	}
	if env.cluster != nil {
		_ = env.cluster.Stop()
		env.cluster, env.client, env.err, env.once = nil, nil, nil, sync.Once{}
	}
	res := &scenarioResult{Name: "demo-cluster"}
	record(t, res)
	abs, _ := filepath.Abs(outDir)
	bin := filepath.Join(abs, "bin")
	build := exec.Command("go", "build", "-o", bin+"/", "./hack/demo-cluster", "./hack/local-cluster", "./cmd/manager")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the demo: %v\n%s", err, out)
	}
	state := filepath.Join(abs, "demo-state")
	var out syncBuffer
	cmd := exec.Command(filepath.Join(bin, "demo-cluster"), "--bin-dir", binDir, "--state-dir", state,
		"--repo-root", repoRoot, "--trace", filepath.Join(repoRoot, "testdata", "traces", "azure-llm-inference-2023-conv.csv"),
		"--trace-span", "20m", "--duration", "45s", "--rate-scale", "3", "--interval", "2s", "--startup-delay", "5s")
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	done := false
	defer func() {
		if !done {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(time.Minute):
				_ = cmd.Process.Kill()
			}
		}
		t.Logf("demo-cluster output:\n%s", out.String())
	}()

	// Until the note after the trace (the driver keeps running then).
	deadline := time.Now().Add(4 * time.Minute)
	for !strings.Contains(out.String(), "Stop with Ctrl-C") {
		select {
		case err := <-exited:
			done = true
			t.Fatalf("demo-cluster exited before the end of the trace: %v", err)
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no note after the trace within 4 minutes")
		}
	}
	upFor := time.Since(t0)

	var rows []demoRow
	// The rows up to the note: the trace's, then one saying it is done.
	text, _, _ := strings.Cut(out.String(), "The trace is over")
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if r, ok := parseDemoRow(sc.Text()); ok {
			rows = append(rows, r)
		}
	}
	var during []demoRow
	for _, r := range rows {
		if !r.afterTrace {
			during = append(during, r)
		}
	}
	if len(during) < 10 {
		t.Fatalf("%d rows during a 45 s trace at one per 2 s, want at least 10", len(during))
	}
	first := during[0]
	if first.decisionSum != 2 || first.readySum != 2 {
		t.Errorf("first row %q: want the minimum (1 + 1) decided and Ready before the load", first.line)
	}
	loaded, grew, followed, moreReady := false, false, false, false
	for _, r := range during {
		loaded = loaded || r.load > 5
		if r.decisionSum > first.decisionSum {
			grew = true
			followed = followed || (r.specEqualsDecision && r.decisionSum > first.decisionSum)
		}
		moreReady = moreReady || r.readySum > first.readySum
		for i, v := range []int{r.decision[0], r.decision[1]} {
			if v < 1 || v > 8 {
				t.Errorf("row %q: decision %d of variant %d outside [1, 8]", r.line, v, i)
			}
		}
	}
	if !loaded {
		t.Error("no row shows a load above 5 req/s (the trace at 3x its rate is about 16 req/s)")
	}
	if !grew {
		t.Error("WVA's decision never grew above the minimum under the load")
	}
	if !followed {
		t.Error("spec.replicas never followed a larger decision (Direct mode)")
	}
	if !moreReady {
		t.Error("no new pod became Ready")
	}
	if last := rows[len(rows)-1]; !last.afterTrace {
		t.Errorf("the last row %q: want the trace done", last.line)
	}
	if n := len(rows) - len(during); n != 1 {
		t.Errorf("%d rows say the trace is done before the note, want one", n)
	}

	// The processes it started, then SIGTERM.
	pids := map[string]int{}
	entries, err := os.ReadDir(filepath.Join(state, "pids"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(state, "pids", e.Name()))
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			pids[strings.TrimSuffix(e.Name(), ".pid")] = pid
		}
	}
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "helper", "prometheus", "vllm-emulator", "wva-manager"} {
		if pid, ok := pids[name]; !ok || syscall.Kill(pid, 0) != nil {
			t.Errorf("%s is not running before the stop (pid %d)", name, pid)
		}
	}
	tStop := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		done = true
		if err != nil {
			t.Errorf("demo-cluster exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("demo-cluster still runs a minute after SIGTERM")
	}
	stopFor := time.Since(tStop)
	for name, pid := range pids {
		if localcluster.Alive(pid) {
			t.Errorf("%s (pid %d) still runs after the demo stopped", name, pid)
		}
	}
	if netns := localcluster.DefaultConfig(state, binDir).Network.Namespace; netnsExists(netns) {
		t.Errorf("the network namespace %s is still there", netns)
	}
	if left, _ := os.ReadDir(filepath.Join(state, "pids")); len(left) > 0 {
		t.Errorf("%d pid files left after the stop", len(left))
	}
	res.Notes = fmt.Sprintf("%d rows during the trace; up to the note %.0fs, stop %.1fs; peak decision %d; %d processes stopped",
		len(during), upFor.Seconds(), stopFor.Seconds(), peakDecision(during), len(pids))
	t.Log(res.Notes)
}

// netnsExists reports whether `ip netns list` names ns.
func netnsExists(ns string) bool {
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == ns {
			return true
		}
	}
	return false
}

func peakDecision(rows []demoRow) int {
	p := 0
	for _, r := range rows {
		p = max(p, r.decisionSum)
	}
	return p
}
