package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// TestKustomizeInstall renders config/default as `kubectl apply -k` would and creates every
// object on a real API server, then creates the sample VariantAutoscaling: the install the
// README describes works, and what it installs is what the code expects.
func TestKustomizeInstall(t *testing.T) {
	objs := renderInstall(t)
	byKind := map[string][]string{}
	for _, u := range objs {
		byKind[u.GetKind()] = append(byKind[u.GetKind()], u.GetName())
	}

	const ns, prefix = "workload-variant-autoscaler-system", "workload-variant-autoscaler-"
	for kind, name := range map[string]string{
		"Namespace": ns, "Deployment": prefix + "controller-manager", "ServiceAccount": prefix + "controller-manager",
		"ClusterRole": prefix + "manager-role", "Role": prefix + "manager-role", "Service": prefix + "controller-manager-metrics-service",
		"ConfigMap": prefix + "variantautoscaling-config",
	} {
		if !slices.Contains(byKind[kind], name) {
			t.Errorf("%s %s not rendered; %ss: %v", kind, name, kind, byKind[kind])
		}
	}

	// What the manager starts with: its options after the manifest's args and env, and its env.
	var managerOpts Options
	managerEnv := map[string]string{"POD_NAMESPACE": ns} // from the downward API
	var mainConfigMapURL string
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" && o.GetName() == prefix+"variantautoscaling-config" {
			mainConfigMapURL, _, _ = unstructured.NestedString(o.Object, "data", "PROMETHEUS_BASE_URL")
		}
		if o.GetKind() != "Deployment" {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
		for _, want := range []string{"--leader-elect=true", "--metrics-secure=true", "--metrics-bind-address=:8443"} {
			if !slices.Contains(args, want) {
				t.Errorf("manager args %v lack %s", args, want)
			}
		}
		// Every flag in the manifest must be one the manager defines, and the ConfigMap names
		// it ends up with must be those rendered.
		fs := flag.NewFlagSet("manager", flag.ContinueOnError)
		o := DefaultOptions()
		o.BindFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Errorf("manager rejects the manifest's args: %v", err)
		}
		env, _, _ := unstructured.NestedSlice(containers[0].(map[string]any), "env")
		for _, e := range env {
			if v, ok := e.(map[string]any)["value"].(string); ok {
				managerEnv[e.(map[string]any)["name"].(string)] = v
			}
		}
		o.ApplyEnv(func(k string) string { return managerEnv[k] })
		for _, name := range []string{o.ConfigMaps.Main, o.ConfigMaps.Saturation, o.ConfigMaps.ServiceClasses} {
			if !slices.Contains(byKind["ConfigMap"], name) {
				t.Errorf("the manager reads ConfigMap %s, which is not rendered (rendered: %v)", name, byKind["ConfigMap"])
			}
		}
		managerOpts = o
	}

	env, cfg, err := testutil.StartEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Namespaces and CRDs first, as kubectl orders them.
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int { return rank(a) - rank(b) })
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			t.Fatalf("creating %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}

	// The installed manager's Prometheus settings, read as it reads them (its environment plus
	// the installed ConfigMap): the URL of the ConfigMap and a bearer token, the service-account
	// token the manifest names in the environment.
	promCfg, from, err := prometheusConfig(ctx, managerOpts, func(k string) string { return managerEnv[k] }, c)
	if err != nil {
		t.Fatalf("the installed manager's Prometheus settings: %v", err)
	}
	if mainConfigMapURL == "" || promCfg.BaseURL != mainConfigMapURL {
		t.Errorf("Prometheus URL = %q (from %s), want the main ConfigMap's %q", promCfg.BaseURL, from, mainConfigMapURL)
	}
	if promCfg.TokenPath != "/var/run/secrets/kubernetes.io/serviceaccount/token" {
		t.Errorf("Prometheus token file = %q (from %s), want the service-account token: the install would query without a token", promCfg.TokenPath, from)
	}

	testutil.Eventually(t, 30*time.Second, func() error {
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion("llmd.ai/v1alpha1")
		list.SetKind("VariantAutoscalingList")
		return c.List(ctx, list)
	})

	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "samples", "llmd_v1alpha1_variantautoscaling.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sample := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(raw, &sample.Object); err != nil {
		t.Fatal(err)
	}
	create(t, c, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": sample.GetNamespace()}}})
	create(t, c, sample)
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(sample.GroupVersionKind())
	if err := c.Get(ctx, types.NamespacedName{Namespace: sample.GetNamespace(), Name: sample.GetName()}, got); err != nil {
		t.Fatal(err)
	}
	if mode, _, _ := unstructured.NestedString(got.Object, "spec", "actuation", "mode"); !strings.EqualFold(mode, "Metrics") {
		t.Errorf("sample actuation mode = %q", mode)
	}
}

// rank orders objects for creation: namespaces, then CRDs, then the rest.
func rank(o *unstructured.Unstructured) int {
	switch o.GetKind() {
	case "Namespace":
		return 0
	case "CustomResourceDefinition":
		return 1
	}
	return 2
}
