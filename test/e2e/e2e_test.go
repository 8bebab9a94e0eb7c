//go:build e2e

// Package e2e runs WVA's whole chain on a local cluster (test/e2e/localcluster): emulated vLLM
// pods on kwok GPU nodes, scraped by Prometheus, read by the real manager binary installed from
// config/default, actuated directly or through KEDA and the HPA, placed by the real scheduler.
// Run with `make e2e` (it builds the binaries); -short skips everything.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/test/e2e/localcluster"
	"github.com/llm-d-incubation/workload-variant-autoscaler/test/e2e/vllmemu"
)

const (
	wvaNamespace = "workload-variant-autoscaler-system"
	wvaPrefix    = "workload-variant-autoscaler-"
	// engineInterval is GLOBAL_OPT_INTERVAL for the tests (the shipped default).
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
	rc, err := c.RESTConfig()
	if err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = wvav1alpha1.AddToScheme(scheme)
	cl, err := client.New(rc, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	env.client = cl
	if err := c.StartProcess("vllm-emulator", cfg.Helper, []string{"vllm", "--kubeconfig=" + c.AdminKubeconfig(),
		"--netns=" + cfg.Network.Namespace, "--control-address=" + emulatorAddr,
		fmt.Sprintf("--pod-port=%d", cfg.Ports.PodMetrics)}, nil); err != nil {
		return err
	}
	return installManager(ctx, c, cl, filepath.Join(bin, "manager"))
}

// installManager applies config/default (all but the manager's Deployment: the manager runs
// here as a process, with a kubeconfig holding a token of the installed ServiceAccount and the
// rendered arguments and environment), and gives Prometheus a token bound to metrics-reader.
func installManager(ctx context.Context, c *localcluster.Cluster, cl client.Client, managerBin string) error {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(repoRoot, "config", "default"))
	if err != nil {
		return fmt.Errorf("kustomize build config/default: %w", err)
	}
	var objs []*unstructured.Unstructured
	var manager *unstructured.Unstructured
	for _, r := range res.Resources() {
		raw, err := r.MarshalJSON()
		if err != nil {
			return err
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			return err
		}
		if u.GetKind() == "Deployment" {
			manager = u
			continue
		}
		if u.GetKind() == "ConfigMap" && u.GetName() == wvaPrefix+"variantautoscaling-config" {
			_ = unstructured.SetNestedField(u.Object, engineInterval, "data", "GLOBAL_OPT_INTERVAL")
			_ = unstructured.SetNestedField(u.Object, c.PrometheusURL(), "data", "PROMETHEUS_BASE_URL")
		}
		objs = append(objs, u)
	}
	if manager == nil {
		return fmt.Errorf("config/default renders no manager Deployment")
	}
	if err := localcluster.Apply(ctx, cl, objs); err != nil {
		return err
	}
	// Prometheus scrapes the manager with a token of a ServiceAccount bound to metrics-reader.
	prom := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "prometheus", Namespace: wvaNamespace}}
	if err := createIgnoreExists(ctx, cl, prom); err != nil {
		return err
	}
	if err := createIgnoreExists(ctx, cl, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "e2e-prometheus-metrics-reader"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: wvaPrefix + "metrics-reader"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: prom.Name, Namespace: wvaNamespace}}}); err != nil {
		return err
	}
	promToken, err := token(ctx, cl, prom)
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.ManagerTokenFile(), []byte(promToken), 0o600); err != nil {
		return err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: wvaPrefix + "controller-manager", Namespace: wvaNamespace}}
	mgrToken, err := token(ctx, cl, sa)
	if err != nil {
		return err
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{Server: c.APIServerURL(), CertificateAuthority: filepath.Join(c.Config().StateDir, "pki", "ca.crt")}
	kc.AuthInfos["wva"] = &clientcmdapi.AuthInfo{Token: mgrToken}
	kc.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "wva"}
	kc.CurrentContext = "local"
	kcPath := filepath.Join(c.Config().StateDir, "wva-manager.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, kcPath); err != nil {
		return err
	}
	containers, _, _ := unstructured.NestedSlice(manager.Object, "spec", "template", "spec", "containers")
	ctr := containers[0].(map[string]any)
	args, _, _ := unstructured.NestedStringSlice(ctr, "args")
	// Local addresses instead of the manifest's ports on every interface (later flags win).
	args = append(args, fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", c.Config().Ports.Manager),
		"--health-probe-bind-address=127.0.0.1:8081", "--prometheus-allow-http",
		"--scale-down-stabilization="+scaleDownStabilization.String())
	environ := []string{"KUBECONFIG=" + kcPath, "POD_NAMESPACE=" + wvaNamespace, "PROMETHEUS_BASE_URL=" + c.PrometheusURL()}
	envVars, _, _ := unstructured.NestedSlice(ctr, "env")
	for _, e := range envVars {
		m := e.(map[string]any)
		name := m["name"].(string)
		if v, ok := m["value"].(string); ok && name != "PROMETHEUS_TOKEN_PATH" { // Prometheus here needs no token
			environ = append(environ, name+"="+v)
		}
	}
	return c.StartProcess("wva-manager", managerBin, args, environ)
}

func token(ctx context.Context, cl client.Client, sa *corev1.ServiceAccount) (string, error) {
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](6 * 3600)}}
	if err := cl.SubResource("token").Create(ctx, sa, tr); err != nil {
		return "", fmt.Errorf("requesting a token for %s/%s: %w", sa.Namespace, sa.Name, err)
	}
	return tr.Status.Token, nil
}

func createIgnoreExists(ctx context.Context, cl client.Client, o client.Object) error {
	if err := cl.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
	}
	return nil
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
	b, _ := json.Marshal(lr)
	resp, err := http.Post("http://"+emulatorAddr+"/load", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("setting the load: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("setting the load: %s", resp.Status)
	}
}

// emulatorStats returns the emulator's state.
func emulatorStats(t *testing.T) vllmemu.Stats {
	t.Helper()
	resp, err := http.Get("http://" + emulatorAddr + "/stats")
	if err != nil {
		t.Fatalf("reading the emulator's stats: %v", err)
	}
	defer resp.Body.Close()
	var st vllmemu.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("decoding the emulator's stats: %v", err)
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
