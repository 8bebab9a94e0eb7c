package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/actuator"
	promsource "github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector/prometheus"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

var (
	rulesFile     = filepath.Join(chartDir, "files", "prometheus-rules.yaml")
	rulesTests    = filepath.Join("testdata", "prometheus-rules_test.yaml")
	dashboardsDir = filepath.Join(chartDir, "files", "dashboards")
)

// externalMetrics are the series the dashboard and alerts read that neither WVA nor vLLM
// exports: kube-state-metrics (part of kube-prometheus-stack).
var externalMetrics = []string{"kube_deployment_status_replicas_ready", "kube_pod_status_phase", "kube_pod_container_resource_requests"}

// grafanaVariables replaces the dashboard's template variables by what Grafana would send with
// every namespace selected.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "1m", "$namespace", ".*")

// promExpr is one PromQL expression of the dashboards or the alerts.
type promExpr struct {
	where, expr string
}

// monitoringExprs returns every PromQL expression of the shipped alerts and dashboards.
func monitoringExprs(t *testing.T) []promExpr {
	t.Helper()
	var out []promExpr
	raw, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Record      string            `json:"record"`
				Expr        string            `json:"expr"`
				For         string            `json:"for"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.UnmarshalStrict(raw, &rules); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			out = append(out, promExpr{"alert " + r.Alert + r.Record, r.Expr})
		}
	}
	files, err := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboard in %s: %v", dashboardsDir, err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var dash struct {
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(raw, &dash); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, p := range dash.Panels {
			for i, target := range p.Targets {
				out = append(out, promExpr{fmt.Sprintf("%s panel %q query %d", filepath.Base(f), p.Title, i), grafanaVariables.Replace(target.Expr)})
			}
		}
	}
	return out
}

// metricNames returns the metric names an expression selects.
func metricNames(e parser.Expr) []string {
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names
}

// TestMonitoringExpressionsParse parses every PromQL expression of the dashboards and alerts.
func TestMonitoringExpressionsParse(t *testing.T) {
	p := parser.NewParser(parser.Options{})
	exprs := monitoringExprs(t)
	if len(exprs) < 20 {
		t.Errorf("only %d expressions found", len(exprs))
	}
	for _, e := range exprs {
		if _, err := p.ParseExpr(e.expr); err != nil {
			t.Errorf("%s: %v\n%s", e.where, err, e.expr)
		}
	}
}

// TestPrometheusRules checks and unit-tests the alerts with Debian's promtool.
func TestPrometheusRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found: run hack/install-prometheus.sh (Debian's prometheus package ships it): %v", err)
	}
	for _, args := range [][]string{{"check", "rules", rulesFile}, {"test", "rules", rulesTests}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// knownNames are the metric names the code defines that a short run may not export (a
// labelled counter shows only once incremented): the actuator's contract names, the
// collector's self-metrics (read from their descriptors) and the vLLM series the collector reads.
func knownNames(t *testing.T) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	for _, n := range []string{actuator.DesiredReplicasMetric, actuator.CurrentReplicasMetric, actuator.DesiredRatioMetric,
		actuator.ReplicaScalingTotalMetric, actuator.ActuationErrorsTotalMetric,
		promsource.MetricKvCacheUsage, promsource.MetricRequestsWaiting, promsource.MetricRequestsRunning,
		promsource.MetricRequestSuccess, promsource.MetricPromptTokens, promsource.MetricGenerationTokens,
		promsource.MetricTTFT + "_bucket", promsource.MetricTTFT + "_count", promsource.MetricITL + "_bucket"} {
		known[n] = true
	}
	rec := &describingRegisterer{names: known}
	if _, err := promsource.NewMetrics(rec); err != nil {
		t.Fatal(err)
	}
	for _, n := range externalMetrics {
		known[n] = true
	}
	return known
}

// describingRegisterer records the metric names of the collectors registered on it.
type describingRegisterer struct{ names map[string]bool }

var descName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (r *describingRegisterer) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 16)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		if m := descName.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
		}
	}
	return nil
}

func (r *describingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = r.Register(c)
	}
}

func (r *describingRegisterer) Unregister(prometheus.Collector) bool { return true }

// TestMonitoringQueriesOnManagerMetrics runs the manager (its main(), as its own process)
// against a real API server and a real Prometheus that scrapes vLLM-format metrics and the
// manager's own /metrics, then runs every PromQL expression of the dashboards and alerts on that
// Prometheus: each must execute; each metric it names must be one the manager, vLLM or
// kube-state-metrics exports; an expression whose metrics are all present must return data;
// and the "no WVA metrics" alert must be silent.
func TestMonitoringQueriesOnManagerMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the manager for about half a minute")
	}
	const modelID, ns, sys = "meta-llama/Llama-3.1-8B-Instruct", "llm", "wva-system"
	cfg, c := testutil.StartEnvClient(t, filepath.Join("..", ".."))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	create(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	create(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: sys}})
	dep := testutil.Deployment("llama-l4").Namespace(ns).Replicas(2).Obj()
	create(t, c, dep)
	pods, err := testutil.ServingPods(ctx, c, dep, 2)
	if err != nil {
		t.Fatal(err)
	}
	sample := func(p *corev1.Pod, kv, waiting, running float64) testutil.VLLMSample {
		return testutil.VLLMSample{Model: modelID, Namespace: ns, Pod: p.Name, KvUsage: kv, Waiting: waiting, Running: running}
	}
	vllm := testutil.StartMetricsServer(t, testutil.VLLMExposition(sample(pods[0], 0.3, 0, 4), sample(pods[1], 0.3, 0, 4)))
	relay := testutil.StartMetricsServer(t, "")
	prom := testutil.StartPrometheus(t, vllm.Addr, relay.Addr)
	create(t, c, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "wva-config", Namespace: sys},
		Data: map[string]string{"GLOBAL_OPT_INTERVAL": "1s", "PROMETHEUS_BASE_URL": prom.URL}})
	create(t, c, testutil.VariantAutoscaling("llama-l4").Namespace(ns).Model(modelID).Accelerator("L4").Cost("5").Obj())

	// The manager's process, as an administrator (RBAC is TestShippedRBACSuffices's business).
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "manager", Namespace: sys}}
	create(t, c, sa)
	create(t, c, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "manager-admin"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa.Name, Namespace: sys}}})
	tr := &authenticationv1.TokenRequest{}
	if err := c.SubResource("token").Create(ctx, sa, tr); err != nil {
		t.Fatal(err)
	}
	scraper := metricsReaderToken(t, c)
	metricsAddr := freeAddr(t)
	logs := &logCapture{}
	cmd := exec.Command(os.Args[0], "--leader-elect=false", "--metrics-bind-address="+metricsAddr,
		"--health-probe-bind-address="+freeAddr(t), "--prometheus-allow-http", "--metrics-window=3s", "--scale-down-stabilization=0s")
	cmd.Env = []string{envManagerProcess + "=1", "KUBECONFIG=" + writeKubeconfig(t, cfg, tr.Status.Token), "POD_NAMESPACE=" + sys,
		"CONFIG_MAP_NAME=wva-config", "HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
		if t.Failed() {
			t.Logf("manager log:\n%s", logs.String())
		}
	})

	// The relay serves the manager's exposition to Prometheus as a ServiceMonitor scrape (no
	// honor_labels) would store it: the series' namespace label as exported_namespace.
	rename := regexp.MustCompile(`([{,])namespace="`)
	go func() {
		for ctx.Err() == nil {
			if body, err := scrape(metricsAddr, scraper); err == nil {
				relay.Set(rename.ReplaceAllString(body, `${1}exported_namespace="`))
			}
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	waitFor := func(q string) {
		t.Helper()
		wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
		defer wcancel()
		if _, err := prom.WaitFor(wctx, q, func(v model.Vector) bool { return len(v) > 0 }); err != nil {
			t.Fatalf("waiting for %s in Prometheus: %v", q, err)
		}
	}
	waitFor(`wva_desired_replicas{exported_namespace="llm",variant_name="llama-l4"}`)
	// Saturation: the desired count rises, a scaling change is counted.
	vllm.Set(testutil.VLLMExposition(sample(pods[0], 0.98, 12, 16), sample(pods[1], 0.97, 10, 16)))
	// Two samples, so that rate() and increase() of the newest series have a value.
	waitFor(`count_over_time(wva_replica_scaling_total{direction="up"}[1h]) >= 2`)
	waitFor(`wva_engine_cycle_duration_seconds_count`)

	present := map[string]bool{}
	all, err := prom.Query(ctx, `count by (__name__) ({__name__=~".+"})`)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		present[string(s.Metric[model.MetricNameLabel])] = true
	}
	known := knownNames(t)
	p := parser.NewParser(parser.Options{})
	for _, e := range monitoringExprs(t) {
		parsed, err := p.ParseExpr(e.expr)
		if err != nil {
			t.Errorf("%s: %v", e.where, err)
			continue
		}
		allPresent := true
		for _, name := range metricNames(parsed) {
			if !present[name] && !known[name] {
				t.Errorf("%s reads %s, which neither the manager, vLLM nor kube-state-metrics exports\n%s", e.where, name, e.expr)
			}
			allPresent = allPresent && present[name]
		}
		v, err := prom.Query(ctx, e.expr)
		if err != nil {
			t.Errorf("%s fails on Prometheus: %v\n%s", e.where, err, e.expr)
			continue
		}
		switch {
		case strings.HasPrefix(e.where, "alert WVAMetricsEndpointDown"):
			if len(v) > 0 {
				t.Errorf("%s fires while the manager's metrics are scraped: %v", e.where, v)
			}
		case strings.HasPrefix(e.where, "alert "):
			// Alerts are silent or not depending on the run; promtool tests them.
		case allPresent && len(v) == 0:
			t.Errorf("%s returns nothing although its metrics are present\n%s", e.where, e.expr)
		}
	}
	var names []string
	for n := range present {
		if strings.HasPrefix(n, "wva_") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	t.Logf("wva_* series in Prometheus: %v", names)
}
