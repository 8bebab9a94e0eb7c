package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// TestEndToEnd runs the manager's composition root against a real kube-apiserver + etcd and a
// real Prometheus scraping vLLM-format metrics: load on a model's pods must become a scale-up
// in status.optimizedAlloc, in the wva_* gauges on the secure metrics endpoint (HTTPS; 401
// without a token, 403 without the metrics-reader role), and (Direct mode) in
// the Deployment's replicas; idle pods must scale down; a stopped Prometheus must hold the
// decision and turn MetricsAvailable False.
func TestEndToEnd(t *testing.T) {
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.Level(zapLevelFromEnv())))
	cfg, c := testutil.StartEnvClient(t, filepath.Join("..", ".."))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	// Two variants of one model: L4 (cheap, Direct mode) and H100 (Metrics mode).
	const model, ns = "meta-llama/Llama-3.1-8B-Instruct", "llm"
	create(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	create(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "wva-system"}})
	l4 := testutil.Deployment("llama-l4").Namespace(ns).Replicas(2).Obj()
	h100 := testutil.Deployment("llama-h100").Namespace(ns).Replicas(1).Obj()
	create(t, c, l4)
	create(t, c, h100)
	l4Pods, err := testutil.ServingPods(ctx, c, l4, 2)
	if err != nil {
		t.Fatal(err)
	}
	h100Pods, err := testutil.ServingPods(ctx, c, h100, 1)
	if err != nil {
		t.Fatal(err)
	}
	sample := func(p *corev1.Pod, kv, waiting, running float64) testutil.VLLMSample {
		return testutil.VLLMSample{Model: model, Namespace: ns, Pod: p.Name, KvUsage: kv, Waiting: waiting, Running: running}
	}
	idle := testutil.VLLMExposition(sample(l4Pods[0], 0.3, 0, 4), sample(l4Pods[1], 0.3, 0, 4), sample(h100Pods[0], 0.3, 0, 4))
	vllm := testutil.StartMetricsServer(t, idle)
	prom := testutil.StartPrometheus(t, vllm.Addr)
	if _, err := prom.WaitForScrape(ctx, `vllm:kv_cache_usage_perc`); err != nil {
		t.Fatal(err)
	}

	create(t, c, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "wva-config", Namespace: "wva-system"},
		Data: map[string]string{"GLOBAL_OPT_INTERVAL": "1s", "PROMETHEUS_BASE_URL": prom.URL}})
	create(t, c, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "saturation-scaling-config", Namespace: "wva-system"},
		Data: map[string]string{"default": "kvCacheThreshold: 0.8\nqueueLengthThreshold: 5\nkvSpareTrigger: 0.1\nqueueSpareTrigger: 3\n"}})
	vaL4 := testutil.VariantAutoscaling("llama-l4").Namespace(ns).Model(model).Accelerator("L4").Cost("5").Direct().Obj()
	vaH100 := testutil.VariantAutoscaling("llama-h100").Namespace(ns).Model(model).Accelerator("H100").Cost("40").Obj()
	create(t, c, vaL4)
	create(t, c, vaH100)

	scraperToken := metricsReaderToken(t, c)
	metricsAddr := freeAddr(t)
	opts := DefaultOptions()
	// Secure metrics, as deployed: HTTPS (self-signed) with authentication and authorization.
	opts.MetricsBindAddress, opts.HealthProbeBindAddress = metricsAddr, "0"
	opts.ConfigMaps.Namespace, opts.ConfigMaps.Main = "wva-system", "wva-config"
	opts.PrometheusAllowHTTP = true
	opts.MetricsWindow = 3 * time.Second // react within seconds, not the production minute
	opts.ScaleDownStabilization = 0      // let the idle phase scale down at once
	done := make(chan error, 1)
	started := time.Now()
	go func() { done <- run(ctx, opts, cfg, func(string) string { return "" }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})

	// Moderate load: decisions exist, metrics are available.
	testutil.Eventually(t, 60*time.Second, func() error {
		for _, va := range []*wvav1alpha1.VariantAutoscaling{vaL4, vaH100} {
			got := &wvav1alpha1.VariantAutoscaling{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(va), got); err != nil {
				return err
			}
			if !meta.IsStatusConditionTrue(got.Status.Conditions, wvav1alpha1.ConditionMetricsAvailable) || got.Status.OptimizedAlloc.LastUpdateTime.IsZero() {
				return fmt.Errorf("%s: no decision from fresh metrics yet: %+v", va.Name, got.Status)
			}
		}
		return nil
	})
	// Measured, not asserted: with leader election off the manager leads at once, so this is
	// an upper bound on the time from leadership to the first decision (1 s interval).
	t.Logf("first decisions from fresh metrics %s after the manager started", time.Since(started).Round(10*time.Millisecond))
	// The whole manager (real engine, collector and actuator) makes the variants Ready, the
	// condition `kubectl wait --for=condition=Ready` waits for.
	testutil.Eventually(t, 60*time.Second, func() error {
		for _, va := range []*wvav1alpha1.VariantAutoscaling{vaL4, vaH100} {
			got := &wvav1alpha1.VariantAutoscaling{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(va), got); err != nil {
				return err
			}
			if cond := meta.FindStatusCondition(got.Status.Conditions, wvav1alpha1.ConditionReady); cond == nil ||
				cond.Status != metav1.ConditionTrue || cond.Reason != wvav1alpha1.ReasonAutoscaling {
				return fmt.Errorf("%s: Ready = %+v", va.Name, cond)
			}
		}
		return nil
	})

	var scaledTo int
	var reason string
	// The metrics endpoint serves only authenticated, authorized scrapers.
	// The first decisions come within about a second of the start, which may be before the
	// metrics server listens: wait for it to answer.
	testutil.Eventually(t, 30*time.Second, func() error {
		if _, err := scrape(metricsAddr, ""); err == nil || !strings.Contains(err.Error(), "401") {
			return fmt.Errorf("anonymous scrape: %v, want 401 Unauthorized", err)
		}
		return nil
	})
	stranger := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "stranger", Namespace: "wva-system"}}
	create(t, c, stranger)
	tr := &authenticationv1.TokenRequest{}
	if err := c.SubResource("token").Create(ctx, stranger, tr); err != nil {
		t.Fatal(err)
	}
	if _, err := scrape(metricsAddr, tr.Status.Token); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("scrape by a service account without metrics-reader: %v, want 403 Forbidden", err)
	}

	// Pods go idle: the fleet shrinks again, most expensive capacity first.
	vllm.Set(testutil.VLLMExposition(sample(l4Pods[0], 0.02, 0, 1), sample(l4Pods[1], 0.02, 0, 1), sample(h100Pods[0], 0.02, 0, 1)))
	testutil.Eventually(t, 60*time.Second, func() error {
		got := &wvav1alpha1.VariantAutoscaling{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(vaL4), got); err != nil {
			return err
		}
		if got.Status.OptimizedAlloc.Replicas >= 2 {
			return fmt.Errorf("L4 desired %d, want below 2: %v", got.Status.OptimizedAlloc.Replicas,
				meta.FindStatusCondition(got.Status.Conditions, wvav1alpha1.ConditionOptimizationReady))
		}
		return nil
	})
	t.Logf("pods idle: L4 scaled down from 2 to 1")

	// Load rises: KV full and a queue on every pod. The cheap L4 variant grows, in Direct
	// mode its Deployment follows, and the gauges say so.
	vllm.Set(testutil.VLLMExposition(sample(l4Pods[0], 0.98, 12, 16), sample(l4Pods[1], 0.97, 10, 16), sample(h100Pods[0], 0.95, 14, 16)))
	testutil.Eventually(t, 60*time.Second, func() error {
		got := &wvav1alpha1.VariantAutoscaling{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(vaL4), got); err != nil {
			return err
		}
		if got.Status.OptimizedAlloc.Replicas <= 2 {
			return fmt.Errorf("L4 desired %d, want > 2", got.Status.OptimizedAlloc.Replicas)
		}
		scaledTo = got.Status.OptimizedAlloc.Replicas
		reason = meta.FindStatusCondition(got.Status.Conditions, wvav1alpha1.ConditionOptimizationReady).Message
		dep := &appsv1.Deployment{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(l4), dep); err != nil {
			return err
		}
		if int(*dep.Spec.Replicas) != scaledTo {
			return fmt.Errorf("Direct mode: deployment replicas %d, desired %d", *dep.Spec.Replicas, scaledTo)
		}
		body, err := scrape(metricsAddr, scraperToken)
		if err != nil {
			return err
		}
		want := fmt.Sprintf(`wva_desired_replicas{accelerator_type="L4",namespace="%s",variant_name="llama-l4"} %d`, ns, scaledTo)
		if !strings.Contains(body, want) {
			return fmt.Errorf("metrics endpoint lacks %q", want)
		}
		return nil
	})
	t.Logf("load rose: L4 scaled 1 -> %d: %s", scaledTo, reason)

	// Prometheus goes away: MetricsAvailable turns False and the decision stands, cycle after cycle.
	prom.Stop()
	var held int
	testutil.Eventually(t, 60*time.Second, func() error {
		got := &wvav1alpha1.VariantAutoscaling{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(vaL4), got); err != nil {
			return err
		}
		cond := meta.FindStatusCondition(got.Status.Conditions, wvav1alpha1.ConditionMetricsAvailable)
		if cond == nil || cond.Status != metav1.ConditionFalse || cond.Reason != wvav1alpha1.ReasonPrometheusError {
			return fmt.Errorf("MetricsAvailable = %+v", cond)
		}
		held = got.Status.OptimizedAlloc.Replicas
		if held < scaledTo {
			return fmt.Errorf("scaled down to %d without metrics", held)
		}
		return nil
	})
	time.Sleep(3 * time.Second) // three more engine cycles without Prometheus
	got := &wvav1alpha1.VariantAutoscaling{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(vaL4), got); err != nil {
		t.Fatal(err)
	}
	if got.Status.OptimizedAlloc.Replicas != held || held != scaledTo {
		t.Errorf("desired %d after Prometheus stopped, want %d held", got.Status.OptimizedAlloc.Replicas, held)
	}
	t.Logf("Prometheus stopped: L4 held at %d, MetricsAvailable=False/PrometheusError", held)
}

func create(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// scrape reads the manager's HTTPS metrics endpoint with a bearer token ("" for none).
func scrape(addr, token string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, "https://"+addr+"/metrics", nil)
	if err != nil {
		return "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	// The test server's certificate is self-signed.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, b)
	}
	return string(b), err
}

// metricsReaderToken returns a token of a service account that is bound to a ClusterRole
// allowing GET /metrics, like config/rbac/metrics_reader_role.yaml grants Prometheus.
func metricsReaderToken(t *testing.T, c client.Client) string {
	t.Helper()
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "scraper", Namespace: "wva-system"}}
	create(t, c, sa)
	create(t, c, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "metrics-reader"},
		Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}})
	create(t, c, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "scraper-metrics-reader"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "metrics-reader"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa.Name, Namespace: sa.Namespace}}})
	tr := &authenticationv1.TokenRequest{}
	if err := c.SubResource("token").Create(ctx, sa, tr); err != nil {
		t.Fatalf("requesting a token for %s: %v", sa.Name, err)
	}
	return tr.Status.Token
}

func zapLevelFromEnv() zapcore.Level {
	if os.Getenv("WVA_TEST_VERBOSE") != "" {
		return -5
	}
	return 1
}
