package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// The ServiceAccount of kube-prometheus-stack's Prometheus (release kube-prometheus-stack in
// namespace monitoring), which the shipped ServiceMonitors' bindings name.
const promSANamespace, promSAName = "monitoring", "kube-prometheus-stack-prometheus"

// TestMetricsReachPrometheus installs, on a real API server, the manager with the
// prometheus-operator objects of both installs (kustomize's config/default plus
// config/prometheus-operator; the chart with metrics.serviceMonitor.enabled) and checks that a
// Prometheus following the ServiceMonitor would get the wva_* series: the ServiceMonitor is a
// valid one, selects the metrics Service in its namespace through a port the Service has, over
// HTTPS with a bearer token, and the API server authorizes that Prometheus's ServiceAccount to
// GET /metrics, which is what the manager's endpoint asks it (SubjectAccessReview).
func TestMetricsReachPrometheus(t *testing.T) {
	env, cfg, err := testutil.StartEnv(monitoringCRDs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	kustomize := append(renderInstall(t), renderKustomize(t, filepath.Join("..", "..", "config", "prometheus-operator"))...)
	chart := renderChart(t, "wva", "wva", map[string]any{"metrics": map[string]any{"serviceMonitor": map[string]any{"enabled": true}}})
	create(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "wva"}})
	for name, objs := range map[string][]*unstructured.Unstructured{"kustomize": kustomize, "chart": chart} {
		t.Run(name, func(t *testing.T) {
			checkMonitoringObjects(t, objs)
			checkServiceMonitorSelectsService(t, objs)
			slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int { return rank(a) - rank(b) })
			for _, o := range objs {
				if o.GetKind() == "CustomResourceDefinition" {
					continue // the same CRD in both; the API server needs none for this test
				}
				if err := c.Create(ctx, o); err != nil {
					t.Fatalf("creating %s %s: %v", o.GetKind(), o.GetName(), err)
				}
			}
		})
	}
	// The bindings of both installs are there now; each must authorize the scrape on its own,
	// so check it once more after deleting the other install's binding.
	// The API server's RBAC authorizer learns of bindings through its informers, so each answer
	// is awaited (a few ms, up to the watch's latency on a loaded machine).
	scrapes := func(want bool, why string) {
		t.Helper()
		testutil.Eventually(t, 10*time.Second, func() error {
			if canScrape(t, c) != want {
				return fmt.Errorf("%s:%s: GET /metrics allowed = %v %s", promSANamespace, promSAName, !want, why)
			}
			return nil
		})
	}
	for i, binding := range []string{"workload-variant-autoscaler-metrics-reader", "wva-workload-variant-autoscaler-metrics-reader"} {
		why := "with both bindings installed"
		if i > 0 {
			why = "with the other install's binding only"
		}
		scrapes(true, why)
		crb := &unstructured.Unstructured{}
		crb.SetAPIVersion("rbac.authorization.k8s.io/v1")
		crb.SetKind("ClusterRoleBinding")
		crb.SetName(binding)
		if err := c.Delete(ctx, crb); err != nil {
			t.Fatalf("deleting %s: %v", binding, err)
		}
	}
	scrapes(false, "without either binding: the check above would prove nothing")

	// The vLLM PodMonitor sample is a valid PodMonitor that keeps the target's pod labels.
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "samples", "vllm-podmonitor.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pm := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(raw, &pm.Object); err != nil {
		t.Fatal(err)
	}
	checkMonitoringObjects(t, []*unstructured.Unstructured{pm})
	if pm.GetKind() != "PodMonitor" {
		t.Errorf("vllm-podmonitor.yaml holds a %s", pm.GetKind())
	}
	create(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: pm.GetNamespace()}})
	create(t, c, pm)
}

// TestKustomizeMonitoringMatchesChart: config/prometheus-operator's PrometheusRule and
// dashboard ConfigMap carry the same alerts and dashboards as the chart (make monitoring copies
// them).
func TestKustomizeMonitoringMatchesChart(t *testing.T) {
	pick := func(objs []*unstructured.Unstructured) (rules, dashboards any) {
		for _, o := range objs {
			switch {
			case o.GetKind() == "PrometheusRule":
				rules = o.Object["spec"]
			case o.GetKind() == "ConfigMap" && o.GetLabels()["grafana_dashboard"] == "1":
				// Compared as JSON: Helm's block scalar and kustomize's generator differ in
				// trailing newlines.
				data, _, _ := unstructured.NestedStringMap(o.Object, "data")
				decoded := map[string]any{}
				for k, v := range data {
					var d any
					if err := json.Unmarshal([]byte(v), &d); err != nil {
						t.Fatalf("dashboard %s: %v", k, err)
					}
					decoded[k] = d
				}
				dashboards = decoded
			}
		}
		return rules, dashboards
	}
	kRules, kDash := pick(renderKustomize(t, filepath.Join("..", "..", "config", "prometheus-operator")))
	cRules, cDash := pick(renderChart(t, "wva", "wva", map[string]any{
		"dashboards": map[string]any{"enabled": true}, "prometheusRule": map[string]any{"enabled": true}}))
	if kRules == nil || kDash == nil {
		t.Fatalf("config/prometheus-operator lacks the PrometheusRule (%v) or the dashboards ConfigMap (%v)", kRules != nil, kDash != nil)
	}
	if diff := cmp.Diff(cRules, kRules); diff != "" {
		t.Errorf("config/prometheus-operator's alerts differ from the chart's (-chart +kustomize); run make monitoring:\n%s", diff)
	}
	if diff := cmp.Diff(cDash, kDash); diff != "" {
		t.Errorf("config/prometheus-operator's dashboards differ from the chart's; run make monitoring:\n%.2000s", diff)
	}
}

// canScrape asks the API server, as the manager's metrics endpoint does, whether the
// Prometheus ServiceAccount may GET /metrics.
func canScrape(t *testing.T, c client.Client) bool {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:                  "system:serviceaccount:" + promSANamespace + ":" + promSAName,
		Groups:                []string{"system:serviceaccounts", "system:serviceaccounts:" + promSANamespace, "system:authenticated"},
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"},
	}}
	if err := c.Create(context.Background(), sar); err != nil {
		t.Fatalf("SubjectAccessReview: %v", err)
	}
	return sar.Status.Allowed
}

// checkServiceMonitorSelectsService checks that each ServiceMonitor selects a Service of the
// same objects, in a namespace it names, through a named port of that Service, over HTTPS
// with a bearer token.
func checkServiceMonitorSelectsService(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	found := false
	for _, sm := range objs {
		if sm.GetKind() != "ServiceMonitor" {
			continue
		}
		found = true
		sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
		namespaces, _, _ := unstructured.NestedStringSlice(sm.Object, "spec", "namespaceSelector", "matchNames")
		endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
		if len(endpoints) != 1 {
			t.Fatalf("ServiceMonitor %s has %d endpoints, want 1", sm.GetName(), len(endpoints))
		}
		ep := endpoints[0].(map[string]any)
		if ep["scheme"] != "https" || ep["bearerTokenFile"] == nil {
			t.Errorf("ServiceMonitor %s scrapes with scheme %v and token file %v; the endpoint needs https and a token", sm.GetName(), ep["scheme"], ep["bearerTokenFile"])
		}
		matched := false
		for _, svc := range objs {
			if svc.GetKind() != "Service" || !slices.Contains(namespaces, svc.GetNamespace()) ||
				!labels.SelectorFromSet(sel).Matches(labels.Set(svc.GetLabels())) {
				continue
			}
			ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
			for _, p := range ports {
				if p.(map[string]any)["name"] == ep["port"] {
					matched = true
				}
			}
		}
		if !matched {
			t.Errorf("ServiceMonitor %s (selector %v in %v, port %v) selects no port of a rendered Service", sm.GetName(), sel, namespaces, ep["port"])
		}
	}
	if !found {
		t.Error("no ServiceMonitor rendered")
	}
}

// renderKustomize renders a kustomization as `kubectl apply -k` would.
func renderKustomize(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var objs []*unstructured.Unstructured
	for _, r := range resources.Resources() {
		raw, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, u)
	}
	return objs
}
