//go:build e2e

// Package e2e runs WVA's whole chain on a local cluster (test/e2e/localcluster): emulated vLLM
// pods on kwok GPU nodes, scraped by Prometheus, read by the real manager binary installed from
// config/default, actuated directly or through KEDA and the HPA, placed by the real scheduler.
// Run with `make e2e` (it builds the binaries); -short skips everything.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/llm-d-incubation/workload-variant-autoscaler/test/e2e/chain"
	"github.com/llm-d-incubation/workload-variant-autoscaler/test/e2e/localcluster"
	"github.com/llm-d-incubation/workload-variant-autoscaler/test/e2e/vllmemu"
)

const (
	// engineInterval is GLOBAL_OPT_INTERVAL for the tests: the shipped default until December
	// 2026 (3 s since), kept so that the cluster's timings stay comparable with the simulator's
	// in docs/e2e.md.
	engineInterval = "5s"
	emulatorAddr   = "127.0.0.1:9092"
	// scaleDownStabilization is the manager's --scale-down-stabilization for the tests.
	scaleDownStabilization = 30 * time.Second
)

var (
	repoRoot = filepath.Join("..", "..")
	outDir   = filepath.Join(repoRoot, "out", "e2e")

	env struct {
		once    sync.Once
		err     error
		cluster *localcluster.Cluster
		client  client.Client
		keda    bool
	}

	summary = struct {
		sync.Mutex
		Versions  map[string]string `json:"versions"`
		Scenarios []scenarioResult  `json:"scenarios"`
		// RSSMiB is each process's resident memory at the end of the run.
		RSSMiB map[string]float64 `json:"rssMiB,omitempty"`
	}{Versions: map[string]string{}, RSSMiB: map[string]float64{}}
)

// scenarioResult is one entry of out/e2e/summary.json.
type scenarioResult struct {
	Name                  string   `json:"name"`
	Passed                bool     `json:"passed"`
	StepToDecisionSeconds *float64 `json:"stepToDecisionSeconds,omitempty"`
	StepToSpecSeconds     *float64 `json:"stepToSpecSeconds,omitempty"`
	StepToReadySeconds    *float64 `json:"stepToReadySeconds,omitempty"`
	Notes                 string   `json:"notes,omitempty"`
	ReplicasBefore, After int      `json:"-"`
	HPADesiredEqualsWVA   *bool    `json:"hpaDesiredEqualsDecision,omitempty"`
	DecisionHeldOnOutage  *bool    `json:"decisionHeldOnOutage,omitempty"`
	PendingPodsNotCounted *bool    `json:"pendingPodsNotCounted,omitempty"`
	// Timeline is the replica timeline after a load step (load-step scenarios): one sample
	// per change of a decision, spec.replicas or Ready count.
	Timeline []timelineSample `json:"timeline,omitempty"`
	// stepAt is when the load stepped up.
	stepAt time.Time
}

// timelineSample is the state of every variant at Seconds after the load step.
type timelineSample struct {
	Seconds  float64        `json:"seconds"`
	Decision map[string]int `json:"decision"`
	Spec     map[string]int `json:"spec"`
	Ready    map[string]int `json:"ready"`
}

// addSample appends s at time at (relative to step) when it differs from the last sample.
func (r *scenarioResult) addSample(step, at time.Time, s snapshot) {
	if n := len(r.Timeline); n > 0 {
		last := r.Timeline[n-1]
		if maps.Equal(last.Decision, s.decision) && maps.Equal(last.Spec, s.spec) && maps.Equal(last.Ready, s.ready) {
			return
		}
	}
	r.Timeline = append(r.Timeline, timelineSample{Seconds: math.Round(at.Sub(step).Seconds()*10) / 10,
		Decision: maps.Clone(s.decision), Spec: maps.Clone(s.spec), Ready: maps.Clone(s.ready)})
}

func record(t *testing.T, r *scenarioResult) {
	t.Cleanup(func() {
		r.Passed = !t.Failed()
		summary.Lock()
		summary.Scenarios = append(summary.Scenarios, *r)
		summary.Unlock()
	})
}

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	code := m.Run()
	if env.cluster != nil {
		collectVersions()
		summary.Lock()
		for _, st := range env.cluster.Status() {
			if st.Running {
				summary.RSSMiB[st.Name] = float64(int(st.RSSMiB*10)) / 10
			}
		}
		summary.Unlock()
		if code != 0 || os.Getenv("E2E_KEEP") == "" {
			// Keep the logs; end the processes.
			_ = env.cluster.Stop()
		}
	}
	summary.Lock()
	if len(summary.Scenarios) > 0 {
		_ = os.MkdirAll(outDir, 0o755)
		b, _ := json.MarshalIndent(&summary, "", "  ")
		_ = os.WriteFile(filepath.Join(outDir, "summary.json"), append(b, '\n'), 0o644)
	}
	summary.Unlock()
	os.Exit(code)
}

// setup starts the cluster, the emulator and the manager once for the package.
func setup(t *testing.T) (*localcluster.Cluster, client.Client) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short (it starts a local control plane, Prometheus, KEDA and the manager; run `make e2e`)")
	}
	env.once.Do(func() { env.err = start() })
	if env.err != nil {
		t.Fatalf("e2e setup: %v", env.err)
	}
	if !env.cluster.Running("wva-manager") {
		t.Fatalf("the manager is not running; see %s", env.cluster.LogFile("wva-manager"))
	}
	return env.cluster, env.client
}

func start() error {
	binDir := os.Getenv("WVA_CLUSTER_BIN")
	if binDir == "" {
		return fmt.Errorf("WVA_CLUSTER_BIN is not set: run `make e2e`, or export WVA_CLUSTER_BIN=$(hack/cluster-binaries.sh)")
	}
	ctx := context.Background()
	abs, _ := filepath.Abs(outDir)
	bin := filepath.Join(abs, "bin")
	for name, pkg := range map[string]string{"local-cluster": "./hack/local-cluster", "manager": "./cmd/manager"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, name), pkg)
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %v\n%s", pkg, err, out)
		}
	}
	cfg := localcluster.DefaultConfig(filepath.Join(abs, "state"), binDir)
	cfg.Helper = filepath.Join(bin, "local-cluster")
	_, err := os.Stat(filepath.Join(binDir, "keda-operator"))
	cfg.KEDA = err == nil && os.Getenv("E2E_NO_KEDA") == ""
	env.keda = cfg.KEDA
	c, err := localcluster.New(cfg)
	if err != nil {
		return err
	}
	_ = c.Stop() // a previous run's leftovers
	_ = os.RemoveAll(cfg.StateDir)
	t0 := time.Now()
	if err := c.Start(ctx); err != nil {
		return err
	}
	env.cluster = c
	fmt.Printf("e2e: cluster up in %.1fs (KEDA: %v), state in %s\n", time.Since(t0).Seconds(), cfg.KEDA, cfg.StateDir)
	cl, err := chain.NewClient(c)
	if err != nil {
		return err
	}
	env.client = cl
	if err := chain.StartEmulator(c, emulatorAddr); err != nil {
		return err
	}
	return chain.InstallManager(ctx, c, cl, chain.InstallOptions{RepoRoot: repoRoot, ManagerBin: filepath.Join(bin, "manager"),
		EngineInterval: engineInterval, ScaleDownStabilization: scaleDownStabilization})
}

func createIgnoreExists(ctx context.Context, cl client.Client, o client.Object) error {
	return chain.CreateIgnoreExists(ctx, cl, o)
}

func collectVersions() {
	cfg := env.cluster.Config()
	run := func(bin string, args ...string) string {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			return "unknown: " + err.Error()
		}
		return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	summary.Lock()
	defer summary.Unlock()
	for _, b := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		summary.Versions[b] = strings.TrimPrefix(run(filepath.Join(cfg.BinDir, b), "--version"), "Kubernetes ")
	}
	summary.Versions["etcd"] = strings.TrimPrefix(run(filepath.Join(cfg.BinDir, "etcd"), "--version"), "etcd Version: ")
	summary.Versions["kwok"] = field(run(filepath.Join(cfg.BinDir, "kwok"), "--version"), 2) // kwok version vX go...
	op, _ := filepath.EvalSymlinks(filepath.Join(cfg.BinDir, "keda-operator"))
	if b, err := os.ReadFile(filepath.Join(filepath.Dir(op), "VERSION")); err == nil && op != "" {
		summary.Versions["keda"] = strings.TrimSpace(string(b))
	} else {
		summary.Versions["keda"] = "not built"
	}
	summary.Versions["prometheus"] = field(run(cfg.Prometheus, "--version"), 2) // prometheus, version X (...)
}

// setLoad sets the emulator's load of a model in a namespace.
func setLoad(t *testing.T, lr vllmemu.LoadRequest) {
	t.Helper()
	if err := (chain.Emulator{Addr: emulatorAddr}).SetLoad(lr); err != nil {
		t.Fatal(err)
	}
}

// emulatorStats returns the emulator's state.
func emulatorStats(t *testing.T) vllmemu.Stats {
	t.Helper()
	st, err := chain.Emulator{Addr: emulatorAddr}.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func secondsSince(t0 time.Time, t time.Time) *float64 {
	s := t.Sub(t0).Seconds()
	return &s
}

// eventually polls cond every 200 ms until it returns nil or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s: %v (manager log: %s)", what, timeout, err, env.cluster.LogFile("wva-manager"))
}

// field returns the i-th space-separated field of s, or s.
func field(s string, i int) string {
	f := strings.Fields(s)
	if i < len(f) {
		return f[i]
	}
	return s
}
