package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/explain"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// histogramPod renders, at elapsed seconds since the start, the vLLM counters and histograms of
// one pod serving rate requests/s of 500 prompt and 100 output tokens. slowTTFT is the share of
// requests whose TTFT lies above 1 s (the others below 0.25 s); every request's mean ITL is
// 20 ms, every token gap 20 ms.
func histogramPod(b *strings.Builder, modelName, ns, pod string, rate, slowTTFT, elapsed float64) {
	l := fmt.Sprintf("model_name=%q,namespace=%q,pod=%q", modelName, ns, pod)
	n := rate * elapsed // requests so far
	counter := func(name string, v float64) {
		fmt.Fprintf(b, "# TYPE %s counter\n%s{%s} %g\n", name, name, l, v)
	}
	hist := func(name string, bounds []float64, cum []float64, sum float64) {
		fmt.Fprintf(b, "# TYPE %s histogram\n", name)
		for i, ub := range bounds {
			fmt.Fprintf(b, "%s_bucket{%s,le=\"%g\"} %g\n", name, l, ub, cum[i])
		}
		fmt.Fprintf(b, "%s_bucket{%s,le=\"+Inf\"} %g\n%s_sum{%s} %g\n%s_count{%s} %g\n", name, l, cum[len(cum)-1], name, l, sum, name, l, cum[len(cum)-1])
	}
	for _, g := range []struct {
		name string
		v    float64
	}{{"vllm:kv_cache_usage_perc", 0.3}, {"vllm:num_requests_waiting", 0}, {"vllm:num_requests_running", 8}} {
		fmt.Fprintf(b, "# TYPE %s gauge\n%s{%s} %g\n", g.name, g.name, l, g.v)
	}
	counter("vllm:request_success_total", n)
	counter("vllm:prompt_tokens_total", 500*n)
	counter("vllm:generation_tokens_total", 100*n)
	hist("vllm:request_prompt_tokens", []float64{1000}, []float64{n}, 500*n)
	hist("vllm:request_generation_tokens", []float64{1000}, []float64{n}, 100*n)
	fast := (1 - slowTTFT) * n
	hist("vllm:time_to_first_token_seconds", []float64{0.25, 1, 2.5}, []float64{fast, fast, n}, 0.1*fast+2*(n-fast))
	hist("vllm:inter_token_latency_seconds", []float64{0.025, 0.05}, []float64{99 * n, 99 * n}, 0.02*99*n)
	hist("vllm:request_time_per_output_token_seconds", []float64{0.025, 0.05}, []float64{n, n}, 0.02*n)
}

// TestExplainLiveSLOFromHistograms is a decision driven by histogram data, end to end: two models
// with the same load, replicas and SLO on a real API server, scraped by a real Prometheus; one
// model's TTFT histogram shows 10 % of requests above the 500 ms target. The slo analyzer, run by
// `wva explain` through the production collector, raises that model's headroom and plans more
// capacity for it, and leaves the other's alone.
func TestExplainLiveSLOFromHistograms(t *testing.T) {
	if _, err := testutil.BinDir(); err != nil {
		t.Skipf("envtest binaries: %v (run hack/envtest-binaries.sh)", err)
	}
	cfg, c := testutil.StartEnvClient(t, filepath.Join("..", ".."))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const ns = "slo"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	ttft, itl := int32(500), int32(50)
	for _, name := range []string{"fast", "slow"} {
		va := testutil.VariantAutoscaling(name).Namespace(ns).Model(name).Accelerator("H100").Cost("10").Bounds(1, 20).Obj()
		va.Spec.SLO = &wvav1alpha1.SLOSpec{TTFTMilliseconds: &ttft, ITLMilliseconds: &itl, Attainment: "0.99"}
		va.Spec.ModelProfile = &wvav1alpha1.ModelProfile{Accelerators: []wvav1alpha1.AcceleratorProfile{{Acc: "H100", AccCount: 1, MaxBatchSize: 256,
			PerfParms: &wvav1alpha1.PerfParms{DecodeParms: wvav1alpha1.DecodeParms{Alpha: 6, Beta: 0.07},
				PrefillParms: wvav1alpha1.PrefillParms{Gamma: 20, Delta: 0.05}}}}}
		if err := c.Create(ctx, va); err != nil {
			t.Fatal(err)
		}
		dep := testutil.Deployment(name).Namespace(ns).Replicas(2).Obj()
		if err := c.Create(ctx, dep); err != nil {
			t.Fatal(err)
		}
		if _, err := testutil.ServingPods(ctx, c, dep, 2); err != nil {
			t.Fatal(err)
		}
	}
	pod := func(dep string, i int) string { return dep + "-" + testutil.ReplicaSetHash + "-" + string(rune('0'+i)) }
	start := time.Now()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		elapsed := time.Since(start).Seconds()
		var b strings.Builder
		for i := range 2 {
			// 23 req/s in all: within what two replicas sustain (about 24), not with 10 % more.
			histogramPod(&b, "fast", ns, pod("fast", i), 11.5, 0, elapsed)
			histogramPod(&b, "slow", ns, pod("slow", i), 11.5, 0.1, elapsed)
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write([]byte(b.String()))
	}))
	t.Cleanup(srv.Close)
	prom := testutil.StartPrometheus(t, srv.Listener.Addr().String())
	const window = 5 * time.Second
	// Wait until both models' rates cover the window.
	if _, err := prom.WaitFor(ctx, `count(rate(vllm:time_to_first_token_seconds_count{namespace="slo"}[5s]) > 0)`, func(v model.Vector) bool {
		return len(v) == 1 && v[0].Value == 4
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(window)

	kubeconfig := writeAdminKubeconfig(t, cfg)
	getenv := func(string) string { return "" }
	explainVA := func(name string) explain.Report {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args := []string{"--json", "--analyzer", "slo", "--metrics-window", window.String(), "--kubeconfig", kubeconfig,
			"--prometheus-url", prom.URL, "--prometheus-allow-http", "va/" + name, "-n", ns}
		if code := runExplainEnv(args, nil, &stdout, &stderr, time.Now(), getenv); code != exitOK {
			t.Fatalf("wva explain %v = %d, stderr:\n%s", args, code, stderr.String())
		}
		var rep explain.Report
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatalf("report: %v\n%s", err, stdout.String())
		}
		if len(rep.Models) != 1 || rep.Models[0].Breakdown == nil || len(rep.Decisions) != 1 {
			t.Fatalf("%s: want one model sized by the slo analyzer itself, got\n%s", name, stdout.String())
		}
		return rep
	}
	fast, slow := explainVA("fast"), explainVA("slow")
	fb, sb := fast.Models[0].Breakdown, slow.Models[0].Breakdown
	t.Logf("fast: %s\nslow: %s", fast.Models[0].Summary, slow.Models[0].Summary)
	if fb.Headroom != 1 || !strings.Contains(fb.Feedback, "meets") {
		t.Errorf("fast: headroom %g (%s), want 1 and the targets met", fb.Headroom, fb.Feedback)
	}
	if sb.Headroom <= 1 || !strings.Contains(sb.Feedback, "TTFT 0.9") || !strings.Contains(sb.Feedback, "misses") {
		t.Errorf("slow: headroom %g (%s), want it raised on a TTFT attainment of 0.9", sb.Headroom, sb.Feedback)
	}
	// Same load and capacity per replica: the slow model needs the headroom's share more, and
	// gets a replica more.
	if !(sb.Needed > fb.Needed*1.05) || fast.Decisions[0].TargetReplicas != 2 || slow.Decisions[0].TargetReplicas <= 2 {
		t.Errorf("needed %g (slow) vs %g (fast), targets %d vs %d: the miss did not raise the plan",
			sb.Needed, fb.Needed, slow.Decisions[0].TargetReplicas, fast.Decisions[0].TargetReplicas)
	}
	if fb.ArrivalRate < 20 || fb.ArrivalRate > 26 {
		t.Errorf("fast: arrival %g req/s, want about 23 (two pods at 11.5)", fb.ArrivalRate)
	}
}
