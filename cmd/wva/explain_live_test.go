package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/explain"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/config"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// TestExplainLive runs `wva explain va/NAME` against a real API server (envtest) and a real
// Prometheus scraping a fake vLLM exposition, and checks that the explained numbers are the
// live ones: the Deployment's replicas, the pods' KV-cache usage and queue from PromQL, the
// VariantAutoscaling's bounds and cost, and the saturation ConfigMap's thresholds. The saved
// snapshot explains the same decisions when read back.
func TestExplainLive(t *testing.T) {
	if _, err := testutil.BinDir(); err != nil {
		t.Skipf("envtest binaries: %v (run hack/envtest-binaries.sh)", err)
	}
	cfg, c := testutil.StartEnvClient(t, filepath.Join("..", ".."))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const ns, sysNS = "serving", "wva-system"
	for _, n := range []string{ns, sysNS} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}); err != nil {
			t.Fatal(err)
		}
	}
	// A saturation threshold that differs from the default, to see that the ConfigMap is read.
	satCM := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: config.DefaultSaturationConfigMapName, Namespace: sysNS},
		Data: map[string]string{"default": "kvCacheThreshold: 0.9\nqueueLengthThreshold: 6\nkvSpareTrigger: 0.15\nqueueSpareTrigger: 2\n"}}
	if err := c.Create(ctx, satCM); err != nil {
		t.Fatal(err)
	}
	// Two variants of one model, and a VariantAutoscaling of another model that must not appear.
	for _, v := range []struct {
		name, model, cost string
		replicas          int32
	}{{"llama-l4", "llama", "5", 2}, {"llama-h100", "llama", "20", 1}, {"granite", "granite", "3", 1}} {
		va := testutil.VariantAutoscaling(v.name).Namespace(ns).Model(v.model).Cost(v.cost).Bounds(1, 6).Obj()
		if err := c.Create(ctx, va); err != nil {
			t.Fatal(err)
		}
		dep := testutil.Deployment(v.name).Namespace(ns).Replicas(v.replicas).Obj()
		if err := c.Create(ctx, dep); err != nil {
			t.Fatal(err)
		}
		if _, err := testutil.ServingPods(ctx, c, dep, int(v.replicas)); err != nil {
			t.Fatal(err)
		}
	}
	pod := func(dep string, i int) string { return dep + "-" + testutil.ReplicaSetHash + "-" + string(rune('0'+i)) }
	metrics := testutil.StartMetricsServer(t, testutil.VLLMExposition(
		testutil.VLLMSample{Model: "llama", Namespace: ns, Pod: pod("llama-l4", 0), KvUsage: 0.87, Waiting: 4, Running: 9},
		testutil.VLLMSample{Model: "llama", Namespace: ns, Pod: pod("llama-l4", 1), KvUsage: 0.81, Waiting: 1, Running: 7},
		testutil.VLLMSample{Model: "llama", Namespace: ns, Pod: pod("llama-h100", 0), KvUsage: 0.42, Waiting: 0, Running: 3},
		testutil.VLLMSample{Model: "granite", Namespace: ns, Pod: pod("granite", 0), KvUsage: 0.1},
	))
	prom := testutil.StartPrometheus(t, metrics.Addr)
	if _, err := prom.WaitFor(ctx, `count(vllm:kv_cache_usage_perc{namespace="serving"})`, func(v model.Vector) bool {
		return len(v) == 1 && v[0].Value == 4
	}); err != nil {
		t.Fatal(err)
	}

	kubeconfig := writeAdminKubeconfig(t, cfg)
	saved := filepath.Join(t.TempDir(), "snapshot.json")
	getenv := func(k string) string { return map[string]string{"POD_NAMESPACE": sysNS}[k] }
	now := time.Now()
	var stdout, stderr bytes.Buffer
	args := []string{"--json", "--kubeconfig", kubeconfig, "--prometheus-url", prom.URL, "--prometheus-allow-http",
		"--save", saved, "va/llama-l4", "-n", ns}
	if code := runExplainEnv(args, nil, &stdout, &stderr, now, getenv); code != exitOK {
		t.Fatalf("wva explain %v = %d, stderr:\n%s", args, code, stderr.String())
	}
	var rep explain.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout.String())
	}

	type row struct {
		Variant         string
		Current, Target int
	}
	var got []row
	for _, d := range rep.Decisions {
		got = append(got, row{d.VariantName, d.CurrentReplicas, d.TargetReplicas})
	}
	// The capacity analyzer with the ConfigMap's thresholds: KV demand 0.87+0.81+0.42 on 3
	// replicas is above its scale-up utilisation, so one replica more, on the cheapest variant
	// (llama-l4, cost 5).
	want := []row{{"llama-h100", 1, 1}, {"llama-l4", 2, 3}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decisions (-want +got):\n%s\nreport:\n%s", diff, stdout.String())
	}
	if len(rep.Models) != 1 || rep.Models[0].ModelID != "llama" || rep.Models[0].Config.KvCacheThreshold != 0.9 {
		t.Errorf("models = %+v, want llama analysed with the ConfigMap's kvCacheThreshold 0.9", rep.Models)
	}

	// The saved snapshot holds the live objects' numbers.
	f, err := os.Open(saved)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	snap, err := explain.Decode(f)
	if err != nil {
		t.Fatalf("decoding the saved snapshot: %v", err)
	}
	if len(snap.Models) != 1 {
		t.Fatalf("saved models = %d, want 1 (llama only)", len(snap.Models))
	}
	pods := map[string]analysis.PodMetrics{}
	variants := map[string]analysis.VariantState{}
	for _, v := range snap.Models[0].Variants {
		variants[v.Name] = v
		for _, p := range v.Pods {
			pods[p.Name] = p
		}
	}
	wantPods := map[string]analysis.PodMetrics{
		pod("llama-l4", 0):   {Name: pod("llama-l4", 0), KvCacheUsage: 0.87, QueueLength: 4, RunningRequests: 9},
		pod("llama-l4", 1):   {Name: pod("llama-l4", 1), KvCacheUsage: 0.81, QueueLength: 1, RunningRequests: 7},
		pod("llama-h100", 0): {Name: pod("llama-h100", 0), KvCacheUsage: 0.42, QueueLength: 0, RunningRequests: 3},
	}
	if diff := cmp.Diff(wantPods, pods); diff != "" {
		t.Errorf("saved pod metrics (-want +got):\n%s", diff)
	}
	if v := variants["llama-l4"]; v.CurrentReplicas != 2 || v.Cost != 5 || v.MaxReplicas != 6 || v.Accelerator != "L4" {
		t.Errorf("saved llama-l4 = %+v, want 2 replicas, cost 5, maxReplicas 6, accelerator L4", v)
	}
	if snap.CapturedAt == nil || !snap.CapturedAt.Equal(now) || !strings.Contains(snap.CapturedFrom, "serving/llama-l4") {
		t.Errorf("capturedAt, capturedFrom = %v, %q", snap.CapturedAt, snap.CapturedFrom)
	}

	// Explaining the saved file gives the same report.
	var again bytes.Buffer
	if code := run([]string{"explain", "--json", saved}, nil, &again, &stderr, now.Add(time.Hour)); code != exitOK {
		t.Fatalf("wva explain %s = %d, stderr:\n%s", saved, code, stderr.String())
	}
	if diff := cmp.Diff(stdout.String(), again.String()); diff != "" {
		t.Errorf("explaining the saved snapshot (-live +saved):\n%s", diff)
	}

	// A VariantAutoscaling that does not exist is named.
	stderr.Reset()
	if code := runExplainEnv([]string{"--kubeconfig", kubeconfig, "--prometheus-url", prom.URL, "--prometheus-allow-http", "va/nope", "-n", ns},
		nil, &stdout, &stderr, now, getenv); code != exitError || !strings.Contains(stderr.String(), "VariantAutoscaling serving/nope not found") {
		t.Errorf("missing VA: code %d, stderr %q", code, stderr.String())
	}
	// A plain-HTTP URL without --prometheus-allow-http says how to allow it.
	stderr.Reset()
	if code := runExplainEnv([]string{"--kubeconfig", kubeconfig, "--prometheus-url", prom.URL, "va/llama-l4", "-n", ns},
		nil, &stdout, &stderr, now, getenv); code != exitError || !strings.Contains(stderr.String(), "--prometheus-allow-http") {
		t.Errorf("http URL: code %d, stderr %q", code, stderr.String())
	}
}

// writeAdminKubeconfig writes a kubeconfig for envtest's admin user.
func writeAdminKubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin"}
	kc.CurrentContext = "envtest"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}
