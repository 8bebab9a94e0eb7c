package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/config"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// chartDir is the Helm chart, relative to this package.
var chartDir = filepath.Join("..", "..", "charts", "workload-variant-autoscaler")

// monitoringCRDs stands in for prometheus-operator's CRDs on the test API server.
var monitoringCRDs = filepath.Join("testdata", "monitoring-crds")

// renderChart renders the chart as `helm install NAME -n NS --values` would (CRDs of crds/
// first, then the templates) and returns every object.
func renderChart(t *testing.T, release, ns string, values map[string]any) []*unstructured.Unstructured {
	t.Helper()
	objs, err := renderChartErr(release, ns, values)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func renderChartErr(release, ns string, values map[string]any) ([]*unstructured.Unstructured, error) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		return nil, fmt.Errorf("loading the chart: %w", err)
	}
	vals, err := chartutil.ToRenderValues(ch, values,
		chartutil.ReleaseOptions{Name: release, Namespace: ns, Revision: 1, IsInstall: true}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, fmt.Errorf("chart values: %w", err)
	}
	files, err := engine.Render(ch, vals)
	if err != nil {
		return nil, fmt.Errorf("rendering the chart: %w", err)
	}
	var objs []*unstructured.Unstructured
	decode := func(name, manifest string) error {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(manifest), &u.Object); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
		return nil
	}
	for _, crd := range ch.CRDObjects() {
		if err := decode(crd.Filename, string(crd.File.Data)); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !strings.HasSuffix(name, ".yaml") {
			continue // NOTES.txt, helpers
		}
		manifests := releaseutil.SplitManifests(files[name])
		keys := make([]string, 0, len(manifests))
		for k := range manifests {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := decode(name, manifests[k]); err != nil {
				return nil, err
			}
		}
	}
	return objs, nil
}

// TestHelmLint runs helm lint, through Helm's library, on the chart with its default values and
// with every option on: no warning, no error.
func TestHelmLint(t *testing.T) {
	for name, values := range map[string]map[string]any{"defaults": nil, "everything on": everythingOn()} {
		t.Run(name, func(t *testing.T) {
			linter := lint.AllWithKubeVersion(chartDir, values, "wva", nil)
			for _, m := range linter.Messages {
				if m.Severity > support.InfoSev {
					t.Errorf("helm lint: %s", m)
				} else {
					t.Logf("helm lint: %s", m)
				}
			}
		})
	}
}

// everythingOn sets every optional part of the chart.
func everythingOn() map[string]any {
	return map[string]any{
		"replicaCount":   3,
		"watchNamespace": "llm",
		"interval":       "15s",
		"analyzer":       "slo",
		"metricsWindow":  "2m",
		"actuation":      map[string]any{"scaleDownStabilization": "5m"},
		"prometheus": map[string]any{
			"url":       "https://prometheus.monitoring.svc:9090",
			"allowHTTP": false,
			"tls": map[string]any{
				"serverName": "prometheus.monitoring.svc",
				"ca":         map[string]any{"pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"},
			},
			"token": map[string]any{"secret": map[string]any{"name": "prometheus-token", "key": "token"}},
		},
		"saturation": map[string]any{"overrides": map[string]any{
			"llama-70b": map[string]any{"model_id": "meta-llama/Llama-3.1-70B-Instruct", "kvCacheThreshold": 0.7},
		}},
		"serviceClasses": map[string]any{"premium.yaml": map[string]any{
			"name": "Premium", "priority": 1,
			"data": []any{map[string]any{"model": "meta-llama/Llama-3.1-8B-Instruct", "slo-ttft": 500, "slo-tpot": 24}},
		}},
		"extraArgs":      []any{"--zap-log-level=debug"},
		"metrics":        map[string]any{"serviceMonitor": map[string]any{"enabled": true}, "certSecret": "wva-metrics-cert"},
		"dashboards":     map[string]any{"enabled": true},
		"prometheusRule": map[string]any{"enabled": true},
	}
}

// helmCase is one install of the chart and what the installed manager must end up with.
type helmCase struct {
	release, ns string
	values      map[string]any
	// want are the manager's options, compared field by field where set.
	wantLeaderElect bool
	wantWatch       string
	wantAnalyzer    string
	wantURL         string
	wantCA          string
	wantToken       string
	wantKinds       []string
}

// TestHelmInstall renders the chart as `helm install` would, with its defaults and with every
// option on, and checks what the manager would run with: its args parsed by its own flag set,
// its options valid, the ConfigMaps it reads rendered and parseable, every object accepted by a
// real API server, and the Prometheus settings the installed manager reads from its environment
// and ConfigMap.
func TestHelmInstall(t *testing.T) {
	env, cfg, err := testutil.StartEnv(monitoringCRDs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}

	cases := map[string]helmCase{
		// Release name and namespace as the README installs it: the same names as kustomize's.
		"defaults": {release: "workload-variant-autoscaler", ns: "workload-variant-autoscaler-system",
			wantLeaderElect: true, wantAnalyzer: "capacity",
			wantURL: "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"},
		"everything on": {release: "wva", ns: "wva", values: everythingOn(),
			wantLeaderElect: true, wantWatch: "llm", wantAnalyzer: "slo",
			wantURL: "https://prometheus.monitoring.svc:9090", wantCA: "/etc/wva/prometheus-ca/ca.crt",
			wantToken: "/etc/wva/prometheus-token/token",
			wantKinds: []string{"ServiceMonitor", "PrometheusRule", "ConfigMap"}},
		"one replica without leader election": {release: "solo", ns: "solo",
			values:       map[string]any{"replicaCount": 1, "leaderElection": map[string]any{"enabled": false}, "prometheus": map[string]any{"token": map[string]any{"serviceAccount": true}}},
			wantAnalyzer: "capacity", wantURL: "http://kube-prometheus-stack-prometheus.monitoring.svc:9090",
			wantToken: "/var/run/secrets/kubernetes.io/serviceaccount/token"},
	}
	for _, name := range []string{"defaults", "everything on", "one replica without leader election"} {
		tc := cases[name]
		t.Run(name, func(t *testing.T) { checkHelmInstall(t, c, tc) })
	}
}

func checkHelmInstall(t *testing.T, c client.Client, tc helmCase) {
	ctx := context.Background()
	objs := renderChart(t, tc.release, tc.ns, tc.values)
	byKind := map[string][]string{}
	for _, o := range objs {
		byKind[o.GetKind()] = append(byKind[o.GetKind()], o.GetName())
		if o.GetNamespace() != "" && o.GetNamespace() != tc.ns {
			t.Errorf("%s %s is in namespace %s, not the release's %s", o.GetKind(), o.GetName(), o.GetNamespace(), tc.ns)
		}
	}
	for _, kind := range append([]string{"CustomResourceDefinition", "Deployment", "ServiceAccount", "ClusterRole",
		"ClusterRoleBinding", "Role", "RoleBinding", "Service", "ConfigMap"}, tc.wantKinds...) {
		if len(byKind[kind]) == 0 {
			t.Errorf("no %s rendered", kind)
		}
	}

	// The manager's options: the rendered args parsed by its own flag set, then its environment.
	var dep appsv1.Deployment
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			fromUnstructured(t, o, &dep)
		}
	}
	container := dep.Spec.Template.Spec.Containers[0]
	o, err := parseManagerArgs(container.Args)
	if err != nil {
		t.Fatalf("the manager rejects the chart's args %v: %v", container.Args, err)
	}
	env := map[string]string{"POD_NAMESPACE": tc.ns}
	for _, e := range container.Env {
		if e.ValueFrom == nil {
			env[e.Name] = e.Value
		} else if e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.namespace" {
			t.Errorf("env %s comes from %+v, which this test does not resolve", e.Name, e.ValueFrom)
		}
	}
	o.ApplyEnv(func(k string) string { return env[k] })
	if err := o.Validate(); err != nil {
		t.Errorf("the manager's options from the chart are invalid: %v", err)
	}
	if o.LeaderElect != tc.wantLeaderElect || o.WatchNamespace != tc.wantWatch || o.Analyzer != tc.wantAnalyzer {
		t.Errorf("manager options: leader election %v, watch namespace %q, analyzer %q; want %v, %q, %q",
			o.LeaderElect, o.WatchNamespace, o.Analyzer, tc.wantLeaderElect, tc.wantWatch, tc.wantAnalyzer)
	}
	if !o.MetricsSecure || o.MetricsBindAddress != ":8443" {
		t.Errorf("metrics endpoint %q secure=%v, want :8443 over HTTPS", o.MetricsBindAddress, o.MetricsSecure)
	}
	for _, name := range []string{o.ConfigMaps.Main, o.ConfigMaps.Saturation, o.ConfigMaps.ServiceClasses} {
		if !slices.Contains(byKind["ConfigMap"], name) {
			t.Errorf("the manager reads ConfigMap %s, which is not rendered (rendered: %v)", name, byKind["ConfigMap"])
		}
	}
	checkConfigMaps(t, objs, o)
	checkMounts(t, dep, env)
	checkMonitoringObjects(t, objs)

	// Install: namespace, CRDs, then the rest (a second release finds the CRD installed, as
	// helm does).
	create(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tc.ns}})
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int { return rank(a) - rank(b) })
	for _, obj := range objs {
		err := c.Create(ctx, obj)
		if obj.GetKind() == "CustomResourceDefinition" && apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			t.Fatalf("creating %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
	}
	testutil.Eventually(t, 30*time.Second, func() error {
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion("llmd.ai/v1alpha1")
		list.SetKind("VariantAutoscalingList")
		return c.List(ctx, list)
	})

	// The Prometheus settings, read as the installed manager reads them.
	promCfg, from, err := prometheusConfig(ctx, o, func(k string) string { return env[k] }, c)
	if err != nil {
		t.Fatalf("the installed manager's Prometheus settings: %v", err)
	}
	if promCfg.BaseURL != tc.wantURL || promCfg.CACertPath != tc.wantCA || promCfg.TokenPath != tc.wantToken {
		t.Errorf("Prometheus settings (from %s): URL %q, CA %q, token file %q; want %q, %q, %q",
			from, promCfg.BaseURL, promCfg.CACertPath, promCfg.TokenPath, tc.wantURL, tc.wantCA, tc.wantToken)
	}
}

// parseManagerArgs parses args with the manager's own flags, as main does.
func parseManagerArgs(args []string) (Options, error) {
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	fs.SetOutput(&bytes.Buffer{})
	o := DefaultOptions()
	o.BindFlags(fs)
	bindLogFlags(fs)
	fs.Bool("version", false, "")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("arguments after the flags: %v", fs.Args())
	}
	return o, nil
}

// checkConfigMaps parses the rendered ConfigMaps as the controller does.
func checkConfigMaps(t *testing.T, objs []*unstructured.Unstructured, o Options) {
	t.Helper()
	for _, obj := range objs {
		if obj.GetKind() != "ConfigMap" {
			continue
		}
		var cm corev1.ConfigMap
		fromUnstructured(t, obj, &cm)
		switch cm.Name {
		case o.ConfigMaps.Main:
			if _, err := config.ParseOptimizationInterval(cm.Data[config.OptimizationIntervalKey]); err != nil {
				t.Errorf("main ConfigMap: %v", err)
			}
		case o.ConfigMaps.Saturation:
			if _, errs := config.ParseSaturationConfig(cm.Data, nil); len(errs) > 0 {
				t.Errorf("saturation ConfigMap %v: %v", cm.Data, errs)
			}
		case o.ConfigMaps.ServiceClasses:
			if _, errs := config.ParseServiceClasses(cm.Data, nil); len(errs) > 0 {
				t.Errorf("service-class ConfigMap %v: %v", cm.Data, errs)
			}
		}
	}
}

// checkMounts checks that each file the manager's environment names lies in a mounted volume.
func checkMounts(t *testing.T, dep appsv1.Deployment, env map[string]string) {
	t.Helper()
	c := dep.Spec.Template.Spec.Containers[0]
	volumes := map[string]bool{}
	for _, v := range dep.Spec.Template.Spec.Volumes {
		volumes[v.Name] = true
	}
	for _, m := range c.VolumeMounts {
		if !volumes[m.Name] {
			t.Errorf("mount %s names no volume", m.Name)
		}
	}
	for _, key := range []string{"PROMETHEUS_TOKEN_PATH", "PROMETHEUS_CA_CERT_PATH"} {
		path := env[key]
		if path == "" || strings.HasPrefix(path, "/var/run/secrets/kubernetes.io/serviceaccount/") {
			continue
		}
		if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return filepath.Dir(path) == m.MountPath }) {
			t.Errorf("%s=%s lies in no mounted volume (mounts %+v)", key, path, c.VolumeMounts)
		}
	}
}

// checkMonitoringObjects decodes the prometheus-operator objects strictly into the operator's
// own Go types: a misspelt field fails here, since the stand-in CRDs accept anything.
func checkMonitoringObjects(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, obj := range objs {
		var into any
		switch obj.GetKind() {
		case "ServiceMonitor":
			into = &monitoringv1.ServiceMonitor{}
		case "PodMonitor":
			into = &monitoringv1.PodMonitor{}
		case "PrometheusRule":
			into = &monitoringv1.PrometheusRule{}
		default:
			continue
		}
		raw, err := json.Marshal(obj.Object)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(into); err != nil {
			t.Errorf("%s %s is not a valid %s: %v", obj.GetKind(), obj.GetName(), obj.GetKind(), err)
		}
	}
}

func fromUnstructured(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
}

// TestHelmRBACMatchesGenerated compares the chart's Roles and ClusterRoles with config/rbac
// (generated from the +kubebuilder:rbac markers, as kustomize installs it): the same roles, each
// with the same rules. A new marker without a chart change fails here.
func TestHelmRBACMatchesGenerated(t *testing.T) {
	const release = "workload-variant-autoscaler" // the chart's names then equal kustomize's
	rules := func(objs []*unstructured.Unstructured) map[string][]rbacv1.PolicyRule {
		out := map[string][]rbacv1.PolicyRule{}
		for _, o := range objs {
			if o.GetKind() != "ClusterRole" && o.GetKind() != "Role" {
				continue
			}
			var r rbacv1.ClusterRole // a Role has the same fields
			fromUnstructured(t, o, &r)
			sort.Slice(r.Rules, func(i, j int) bool { return fmt.Sprint(r.Rules[i]) < fmt.Sprint(r.Rules[j]) })
			out[o.GetKind()+" "+o.GetName()] = r.Rules
		}
		return out
	}
	chart := rules(renderChart(t, release, "workload-variant-autoscaler-system", nil))
	kustomize := rules(renderInstall(t))
	if diff := cmp.Diff(kustomize, chart); diff != "" {
		t.Errorf("the chart's RBAC differs from config/rbac (-kustomize +chart):\n%s", diff)
	}
}

// TestHelmCRDIsGenerated fails when the chart's CRD differs from the one controller-gen
// generates into config/crd/bases (make manifests copies it into the chart).
func TestHelmCRDIsGenerated(t *testing.T) {
	bases, err := filepath.Glob(filepath.Join("..", "..", "config", "crd", "bases", "*.yaml"))
	if err != nil || len(bases) == 0 {
		t.Fatalf("no CRD in config/crd/bases: %v", err)
	}
	for _, base := range bases {
		want, err := os.ReadFile(base)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(chartDir, "crds", filepath.Base(base)))
		if err != nil {
			t.Fatalf("the chart lacks %s: %v (run make manifests)", filepath.Base(base), err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("charts/workload-variant-autoscaler/crds/%s differs from %s: run make manifests", filepath.Base(base), base)
		}
	}
}

// TestHelmRejectsBadValues: values that cannot work fail at render time with a message that
// names the value.
func TestHelmRejectsBadValues(t *testing.T) {
	for name, tc := range map[string]struct {
		values map[string]any
		want   string
	}{
		"http without allowHTTP": {map[string]any{"prometheus": map[string]any{"allowHTTP": false}}, "prometheus.allowHTTP"},
		"two CA sources": {map[string]any{"prometheus": map[string]any{"tls": map[string]any{"ca": map[string]any{
			"pem": "x", "secret": map[string]any{"name": "s"}}}}}, "prometheus.tls.ca"},
		"two tokens": {map[string]any{"prometheus": map[string]any{"token": map[string]any{
			"serviceAccount": true, "secret": map[string]any{"name": "s"}}}}, "prometheus.token"},
		"replicas without leader election": {map[string]any{"leaderElection": map[string]any{"enabled": false}}, "leaderElection.enabled"},
		// values.schema.json
		"misspelt key":        {map[string]any{"prometheus": map[string]any{"ur": "https://p:9090"}}, "additional properties 'ur' not allowed"},
		"unknown analyzer":    {map[string]any{"analyzer": "fastest"}, "at '/analyzer'"},
		"interval not a time": {map[string]any{"interval": "thirty seconds"}, "at '/interval'"},
		"zero replicas":       {map[string]any{"replicaCount": 0}, "at '/replicaCount'"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := renderChartErr("wva", "wva", tc.values)
			t.Logf("render error: %v", err)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("render error = %v, want one naming %s", err, tc.want)
			}
		})
	}
}
