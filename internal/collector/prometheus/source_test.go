package promsource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// vllmPod is the exposition of one pod's vLLM series; empty values are absent series.
type vllmPod struct {
	ns, pod, model       string
	kv, waiting, running string
	legacyKV             bool   // export vllm:gpu_cache_usage_perc instead (older vLLM)
	blocks, blockSize    string // vllm:cache_config_info labels; empty = no info series
	timestamp            time.Time
}

// exposition renders pods in the Prometheus text format, one family after the other.
func exposition(pods ...vllmPod) string {
	families := map[string][]string{}
	add := func(metric string, p vllmPod, extra, value string) {
		if value == "" {
			return
		}
		line := fmt.Sprintf(`%s{namespace="%s",pod="%s"%s} %s`, metric, escapeLabel(p.ns), escapeLabel(p.pod), extra, value)
		if !p.timestamp.IsZero() {
			line += " " + strconv.FormatInt(p.timestamp.UnixMilli(), 10)
		}
		families[metric] = append(families[metric], line)
	}
	for _, p := range pods {
		m := `,model_name="` + escapeLabel(p.model) + `"`
		kvMetric := MetricKvCacheUsage
		if p.legacyKV {
			kvMetric = MetricGpuCacheUsage
		}
		add(kvMetric, p, m, p.kv)
		add(MetricRequestsWaiting, p, m, p.waiting)
		add(MetricRequestsRunning, p, m, p.running)
		if p.blocks != "" {
			add(MetricCacheConfigInfo, p, fmt.Sprintf(`,block_size="%s",num_gpu_blocks="%s",engine="0"`, p.blockSize, p.blocks), "1")
		}
	}
	var b strings.Builder
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range families {
			if !yield(k) {
				return
			}
		}
	}) {
		b.WriteString("# TYPE " + name + " gauge\n")
		for _, l := range families[name] {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// escapeLabel escapes a label value for the text exposition format.
func escapeLabel(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

// cluster writes fixtures with the direct client and waits for the informer cache to see them.
type cluster struct {
	t   *testing.T
	ctx context.Context
}

func newCluster(t *testing.T) *cluster {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return &cluster{t: t, ctx: ctx}
}

// namespace creates a namespace named base, suffixed with the run number from the second run
// on (go test -count=N reuses the control plane), and returns its name.
func (c *cluster) namespace(base string) string {
	c.t.Helper()
	name := base
	if n := runs[base].Add(1); n > 1 {
		name = fmt.Sprintf("%s-run%d", base, n)
	}
	if err := k8sClient.Create(c.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		c.t.Fatalf("creating namespace %s: %v", name, err)
	}
	return name
}

// runs counts the namespaces created from each base name.
var runs = map[string]*atomic.Int64{}

func init() {
	for _, base := range []string{"join-a", "join-b", "partial", "stopped", "stale", "hostile", "many", "down", "slow", "demand", "startup", "lister-a", "lister-b"} {
		runs[base] = &atomic.Int64{}
	}
}

// deployment creates a Deployment whose pods are labelled app=<selectorApp>.
func (c *cluster) deployment(ns, name, selectorApp string, replicas int32) *appsv1.Deployment {
	c.t.Helper()
	d := testutil.Deployment(name).Namespace(ns).Replicas(replicas).Obj()
	d.Spec.Selector.MatchLabels = map[string]string{"app": selectorApp}
	d.Spec.Template.Labels = map[string]string{"app": selectorApp}
	if err := k8sClient.Create(c.ctx, d); err != nil {
		c.t.Fatalf("creating Deployment %s/%s: %v", ns, name, err)
	}
	return d
}

// pod creates a pod controlled by ReplicaSet rs with label app=<app>, Ready as given.
func (c *cluster) pod(ns, name, rs, app string, ready bool) {
	c.t.Helper()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": app}}}
	if err := testutil.CreatePod(c.ctx, k8sClient, p, rs, ready); err != nil {
		c.t.Fatal(err)
	}
}

// synced waits until the cache holds readyPods ready pods in ns and every named Deployment.
func (c *cluster) synced(ns string, readyPods int, deployments ...string) {
	c.t.Helper()
	err := poll(c.ctx, func() bool {
		var pods corev1.PodList
		if err := podCache.List(c.ctx, &pods, client.InNamespace(ns)); err != nil {
			return false
		}
		n := 0
		for i := range pods.Items {
			if podReady(&pods.Items[i]) {
				n++
			}
		}
		if n != readyPods {
			return false
		}
		for _, d := range deployments {
			if podCache.Get(c.ctx, types.NamespacedName{Namespace: ns, Name: d}, &appsv1.Deployment{}) != nil {
				return false
			}
		}
		return true
	})
	if err != nil {
		c.t.Fatalf("cache never saw %d ready pods and Deployments %v in %s: %v", readyPods, deployments, ns, err)
	}
}

// cachedObjects returns deep copies of the pods and Deployments that l holds in namespaces.
func cachedObjects(t *testing.T, l NamespaceLister, namespaces ...string) []client.Object {
	t.Helper()
	var out []client.Object
	for _, ns := range namespaces {
		pods, err := l.Pods(context.Background(), ns)
		if err != nil {
			t.Fatal(err)
		}
		deps, err := l.Deployments(context.Background(), ns)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range byName(pods) {
			out = append(out, p.DeepCopy())
		}
		for _, d := range byName(deps) {
			out = append(out, d.DeepCopy())
		}
	}
	return out
}

func poll(ctx context.Context, done func() bool) error {
	for !done() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// scraped sets the body of a scenario's metrics server and waits until Prometheus returns
// what wantQuery's check expects.
func scraped(t *testing.T, scenario, body, query string, check func(model.Vector) bool) {
	t.Helper()
	servers[scenario].Set(body)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := prom.WaitFor(ctx, query, check); err != nil {
		t.Fatalf("waiting for the scrape of %s: %v", scenario, err)
	}
	t.Logf("%s exposition visible in Prometheus after %s", scenario, time.Since(start).Round(time.Millisecond))
}

func hasSeries(n int) func(model.Vector) bool {
	return func(v model.Vector) bool { return len(v) == n }
}

func vaKey(ns, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: ns, Name: name}
}

func collect(t *testing.T, s *Source, targets ...collector.Target) collector.Snapshot {
	t.Helper()
	start := time.Now()
	snap, err := s.Collect(context.Background(), targets, time.Now())
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	t.Logf("Collect of %d targets: %d queries in %s", len(targets), snap.Queries, time.Since(start).Round(time.Millisecond))
	return snap
}

// ignoreMessages compares observations without the free-text messages and the start-up samples
// (which depend on the wall clock; TestCollectStartupSamples checks them).
var ignoreMessages = cmp.FilterPath(func(p cmp.Path) bool {
	return p.Last().String() == ".Message" || p.Last().String() == ".StartupSamples"
}, cmp.Ignore())

func found() collector.Status {
	return collector.Status{Available: true, Reason: wvav1alpha1.ReasonMetricsFound}
}

// TestCollectJoinsSeriesToVariants reads two models in two namespaces, with overlapping
// selectors, equally named pods in both namespaces, a series of a pod that no longer exists,
// a not-ready pod, an older vLLM exposing gpu_cache_usage_perc, and targets without a usable
// Deployment.
func TestCollectJoinsSeriesToVariants(t *testing.T) {
	c := newCluster(t)
	const llama, granite = "meta-llama/Llama-3.1-8B-Instruct", "ibm-granite/granite-3.1-8b-instruct"
	nsA, nsB := c.namespace("join-a"), c.namespace("join-b")
	c.deployment(nsA, "llama", "llama", 3)
	c.pod(nsA, "llama-5d4f7-a", "llama-5d4f7", "llama", true)
	c.pod(nsA, "llama-5d4f7-b", "llama-5d4f7", "llama", true)
	c.pod(nsA, "llama-5d4f7-c", "llama-5d4f7", "llama", false) // still loading the model
	// Same selector (app=llama) as the Deployment above: only ReplicaSet ownership tells them apart.
	c.deployment(nsA, "llama-canary", "llama", 1)
	c.pod(nsA, "llama-canary-7c9d8-a", "llama-canary-7c9d8", "llama", true)
	c.deployment(nsA, "idle", "idle", 0)
	gone := c.deployment(nsA, "going", "going", 1)
	gone.Finalizers = []string{"example.com/hold"}
	if err := k8sClient.Update(c.ctx, gone); err != nil {
		t.Fatal(err)
	}
	if err := k8sClient.Delete(c.ctx, gone); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))
		_ = k8sClient.Patch(context.Background(), gone, patch)
	})
	// join-b: a Deployment named like the one in join-a, with an equally named pod.
	c.deployment(nsB, "llama", "llama", 1)
	c.pod(nsB, "llama-5d4f7-a", "llama-5d4f7", "llama", true)
	c.deployment(nsB, "granite", "granite", 1)
	c.pod(nsB, "granite-6f8b9-a", "granite-6f8b9", "granite", true)
	c.synced(nsA, 3, "llama", "llama-canary", "idle")
	c.synced(nsB, 2, "llama", "granite")
	if err := poll(c.ctx, func() bool {
		var d appsv1.Deployment
		return podCache.Get(c.ctx, vaKey(nsA, "going"), &d) == nil && d.DeletionTimestamp != nil
	}); err != nil {
		t.Fatalf("cache never saw Deployment going being deleted: %v", err)
	}

	body := exposition(
		vllmPod{ns: nsA, pod: "llama-5d4f7-a", model: llama, kv: "0.42", waiting: "3", running: "7", blocks: "2048", blockSize: "16"},
		vllmPod{ns: nsA, pod: "llama-5d4f7-b", model: llama, kv: "0.1", waiting: "0", running: "2", blocks: "2048", blockSize: "16"},
		vllmPod{ns: nsA, pod: "llama-5d4f7-c", model: llama, kv: "0", waiting: "0", running: "0"},
		vllmPod{ns: nsA, pod: "llama-5d4f7-gone", model: llama, kv: "1", waiting: "50", running: "64"}, // scaled-down pod
		vllmPod{ns: nsA, pod: "llama-canary-7c9d8-a", model: llama, kv: "0.9", waiting: "5", running: "10"},
		vllmPod{ns: nsB, pod: "llama-5d4f7-a", model: llama, kv: "0.66", waiting: "1", running: "4"},
		vllmPod{ns: nsB, pod: "granite-6f8b9-a", model: granite, kv: "0.33", waiting: "2", running: "6", legacyKV: true},
	)
	scraped(t, "join", body, `count(vllm:num_requests_waiting{namespace=~"`+nsA+"|"+nsB+`"})`, func(v model.Vector) bool {
		return len(v) == 1 && v[0].Value == 7
	})

	targets := []collector.Target{
		{VariantAutoscaling: vaKey(nsA, "llama-l4"), ModelID: llama, Deployment: "llama"},
		{VariantAutoscaling: vaKey(nsA, "llama-canary"), ModelID: llama, Deployment: "llama-canary"},
		{VariantAutoscaling: vaKey(nsA, "idle"), ModelID: llama, Deployment: "idle"},
		{VariantAutoscaling: vaKey(nsA, "going"), ModelID: llama, Deployment: "going"},
		{VariantAutoscaling: vaKey(nsA, "missing"), ModelID: llama, Deployment: "no-such-deployment"},
		{VariantAutoscaling: vaKey(nsB, "llama"), ModelID: llama, Deployment: "llama"},
		{VariantAutoscaling: vaKey(nsB, "granite"), ModelID: granite, Deployment: "granite"},
	}
	lister := newTestInformerLister(t)
	before := cachedObjects(t, lister, nsA, nsB)
	snap := collect(t, New(promAPI, podCache), targets...)
	// Through the informers' indexers, the same observations, and the cache's objects untouched.
	if diff := cmp.Diff(snap.Variants, collect(t, New(promAPI, podCache, WithNamespaceLister(lister)), targets...).Variants); diff != "" {
		t.Errorf("observations through the informer lister (-List +lister):\n%s", diff)
	}
	if diff := cmp.Diff(before, cachedObjects(t, lister, nsA, nsB)); diff != "" {
		t.Errorf("the collection modified the cached objects (-before +after):\n%s", diff)
	}
	notFound := collector.Status{Reason: wvav1alpha1.ReasonMetricsMissing}
	want := map[types.NamespacedName]collector.VariantObservation{
		vaKey(nsA, "llama-l4"): {TargetFound: true, CurrentReplicas: 3, ReadyReplicas: 2, StartingReplicas: 1, KvCacheTokens: 32768, Metrics: found(),
			Pods: []analysis.PodMetrics{
				{Name: "llama-5d4f7-a", KvCacheUsage: 0.42, QueueLength: 3, RunningRequests: 7},
				{Name: "llama-5d4f7-b", KvCacheUsage: 0.1, QueueLength: 0, RunningRequests: 2},
			}},
		vaKey(nsA, "llama-canary"): {TargetFound: true, CurrentReplicas: 1, ReadyReplicas: 1, Metrics: found(),
			Pods: []analysis.PodMetrics{{Name: "llama-canary-7c9d8-a", KvCacheUsage: 0.9, QueueLength: 5, RunningRequests: 10}}},
		vaKey(nsA, "idle"):    {TargetFound: true, Metrics: found()},
		vaKey(nsA, "going"):   {Metrics: notFound},
		vaKey(nsA, "missing"): {Metrics: notFound},
		vaKey(nsB, "llama"): {TargetFound: true, CurrentReplicas: 1, ReadyReplicas: 1, Metrics: found(),
			Pods: []analysis.PodMetrics{{Name: "llama-5d4f7-a", KvCacheUsage: 0.66, QueueLength: 1, RunningRequests: 4}}},
		vaKey(nsB, "granite"): {TargetFound: true, CurrentReplicas: 1, ReadyReplicas: 1, Metrics: found(),
			Pods: []analysis.PodMetrics{{Name: "granite-6f8b9-a", KvCacheUsage: 0.33, QueueLength: 2, RunningRequests: 6}}},
	}
	if diff := cmp.Diff(want, snap.Variants, ignoreMessages); diff != "" {
		t.Errorf("observations (-want +got):\n%s", diff)
	}
	for key, substr := range map[types.NamespacedName]string{
		vaKey(nsA, "going"):    "Scale target Deployment " + nsA + "/going is being deleted",
		vaKey(nsA, "missing"):  "Scale target Deployment " + nsA + "/no-such-deployment does not exist",
		vaKey(nsA, "idle"):     "has 0 replicas",
		vaKey(nsA, "llama-l4"): "all 2 ready pods",
	} {
		if msg := snap.Variants[key].Metrics.Message; !strings.Contains(msg, substr) {
			t.Errorf("%s: message %q does not contain %q", key, msg, substr)
		}
	}
	if snap.Queries != queriesPerCycle() {
		t.Errorf("Queries = %d, want %d", snap.Queries, queriesPerCycle())
	}

	// What Prometheus returned for one pod, next to what the Source made of it (shown with -v).
	for _, q := range BuildQueries(SelectorFor(targets), DefaultWindow) {
		vec, err := prom.Query(c.ctx, q.PromQL)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range vec {
			if s.Metric["namespace"] == model.LabelValue(nsA) && s.Metric["pod"] == "llama-5d4f7-a" {
				t.Logf("Prometheus %s: %v", q.Name, s)
			}
		}
	}
	t.Logf("observation %s/llama-l4: %+v", nsA, snap.Variants[vaKey(nsA, "llama-l4")])
}

// TestCollectInvalidAndMissingSeries: a NaN reading and a pod without series make the variant
// partially reporting; the pod that reports is still passed on.
func TestCollectInvalidAndMissingSeries(t *testing.T) {
	c := newCluster(t)
	ns := c.namespace("partial")
	c.deployment(ns, "vllm", "vllm", 3)
	for _, p := range []string{"vllm-8f7e6-a", "vllm-8f7e6-b", "vllm-8f7e6-c"} {
		c.pod(ns, p, "vllm-8f7e6", "vllm", true)
	}
	c.synced(ns, 3, "vllm")
	scraped(t, "partial", exposition(
		vllmPod{ns: ns, pod: "vllm-8f7e6-a", model: "m", kv: "0.5", waiting: "1", running: "3"},
		vllmPod{ns: ns, pod: "vllm-8f7e6-b", model: "m", kv: "NaN", waiting: "1", running: "3"},
	), `vllm:num_requests_waiting{namespace="`+ns+`"}`, hasSeries(2))

	snap := collect(t, New(promAPI, podCache), collector.Target{VariantAutoscaling: vaKey(ns, "vllm"), ModelID: "m", Deployment: "vllm"})
	want := collector.VariantObservation{TargetFound: true, CurrentReplicas: 3, ReadyReplicas: 3,
		Pods: []analysis.PodMetrics{{Name: "vllm-8f7e6-a", KvCacheUsage: 0.5, QueueLength: 1, RunningRequests: 3}},
		Metrics: collector.Status{Reason: wvav1alpha1.ReasonMetricsMissing,
			Message: "2 of 3 ready pods report no metrics (vllm-8f7e6-b: KV-cache usage is NaN; vllm-8f7e6-c: no series)"}}
	if diff := cmp.Diff(want, snap.Variants[vaKey(ns, "vllm")]); diff != "" {
		t.Errorf("observation (-want +got):\n%s", diff)
	}
}

// TestCollectSeriesStopped: when a pod's series leave the exposition, Prometheus marks them
// stale at the next scrape; the pod stops reporting at once, although its max_over_time peak
// stays in the window, and once the window has passed nothing of it is left.
func TestCollectSeriesStopped(t *testing.T) {
	c := newCluster(t)
	ns := c.namespace("stopped")
	c.deployment(ns, "vllm", "vllm", 2)
	c.pod(ns, "vllm-4c5d6-a", "vllm-4c5d6", "vllm", true)
	c.pod(ns, "vllm-4c5d6-b", "vllm-4c5d6", "vllm", true)
	c.synced(ns, 2, "vllm")
	a := vllmPod{ns: ns, pod: "vllm-4c5d6-a", model: "m", kv: "0.2", waiting: "0", running: "1"}
	b := vllmPod{ns: ns, pod: "vllm-4c5d6-b", model: "m", kv: "0.8", waiting: "4", running: "9"}
	scraped(t, "stopped", exposition(a, b), `vllm:num_requests_waiting{namespace="`+ns+`"}`, hasSeries(2))

	const window = 3 * time.Second
	src := New(promAPI, podCache, WithWindow(window))
	tgt := collector.Target{VariantAutoscaling: vaKey(ns, "vllm"), ModelID: "m", Deployment: "vllm"}
	if got := collect(t, src, tgt).Variants[tgt.VariantAutoscaling]; !got.Metrics.Available || len(got.Pods) != 2 {
		t.Fatalf("before: %+v, want both pods reporting", got)
	}

	scraped(t, "stopped", exposition(a), `vllm:num_requests_waiting{namespace="`+ns+`"}`, hasSeries(1))
	peak, err := prom.Query(c.ctx, `max_over_time(vllm:kv_cache_usage_perc{namespace="`+ns+`",pod="vllm-4c5d6-b"}[3s])`)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("peak of the vanished series still in the window: %v", peak)
	got := collect(t, src, tgt).Variants[tgt.VariantAutoscaling]
	want := collector.VariantObservation{TargetFound: true, CurrentReplicas: 2, ReadyReplicas: 2,
		Pods: []analysis.PodMetrics{{Name: "vllm-4c5d6-a", KvCacheUsage: 0.2, RunningRequests: 1}},
		Metrics: collector.Status{Reason: wvav1alpha1.ReasonMetricsMissing,
			Message: "1 of 2 ready pods report no metrics (vllm-4c5d6-b: no current vllm:num_requests_waiting sample)"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("right after the series stopped (-want +got):\n%s", diff)
	}

	time.Sleep(window + time.Second)
	got = collect(t, src, tgt).Variants[tgt.VariantAutoscaling]
	want.Metrics.Message = "1 of 2 ready pods report no metrics (vllm-4c5d6-b: no series)"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after the window (-want +got):\n%s", diff)
	}
}

// TestCollectStale: samples carrying explicit timestamps 150 s in the past (as a lagging remote
// store would serve them) are older than the 2 minute staleness limit.
func TestCollectStale(t *testing.T) {
	c := newCluster(t)
	ns := c.namespace("stale")
	c.deployment(ns, "vllm", "vllm", 2)
	c.pod(ns, "vllm-9a8b7-a", "vllm-9a8b7", "vllm", true)
	c.pod(ns, "vllm-9a8b7-b", "vllm-9a8b7", "vllm", true)
	c.synced(ns, 2, "vllm")
	old := time.Now().Add(-150 * time.Second)
	scraped(t, "stale", exposition(
		vllmPod{ns: ns, pod: "vllm-9a8b7-a", model: "m", kv: "0.7", waiting: "2", running: "5", timestamp: old},
		vllmPod{ns: ns, pod: "vllm-9a8b7-b", model: "m", kv: "0.6", waiting: "1", running: "4", timestamp: old},
	), `timestamp(vllm:num_requests_waiting{namespace="`+ns+`"})`, hasSeries(2))

	tgt := collector.Target{VariantAutoscaling: vaKey(ns, "vllm"), ModelID: "m", Deployment: "vllm"}
	got := collect(t, New(promAPI, podCache), tgt).Variants[tgt.VariantAutoscaling]
	t.Logf("status: %+v", got.Metrics)
	if got.Metrics.Available || got.Metrics.Reason != wvav1alpha1.ReasonMetricsStale || len(got.Pods) != 0 {
		t.Errorf("observation %+v, want MetricsStale without pods", got)
	}
	for _, want := range []string{"all 2 ready pods", "staleness limit of 2m0s",
		"vllm-9a8b7-a: newest sample at " + sampleTime(old) + ", older than 2m0s"} {
		if !strings.Contains(got.Metrics.Message, want) {
			t.Errorf("message %q does not contain %q", got.Metrics.Message, want)
		}
	}

	// A limit beyond the samples' age accepts the timestamps, but the 1m peaks are empty.
	got = collect(t, New(promAPI, podCache, WithStalenessLimit(4*time.Minute)), tgt).Variants[tgt.VariantAutoscaling]
	if got.Metrics.Reason != wvav1alpha1.ReasonMetricsStale || !strings.Contains(got.Metrics.Message, "before the 1m0s query window") {
		t.Errorf("with a 4m limit: %+v, want MetricsStale before the query window", got.Metrics)
	}
}

// TestCollectHostileModelName runs the generated queries for model names built to break out of
// a matcher against the real Prometheus: they must parse, select the series of the namespace
// (the queries name no model), and the join must keep only the target's model, also where the
// same pod exports another model's series.
func TestCollectHostileModelName(t *testing.T) {
	c := newCluster(t)
	ns := c.namespace("hostile")
	var pods []vllmPod
	for i, m := range hostileModels {
		pods = append(pods, vllmPod{ns: ns, pod: fmt.Sprintf("evil-1a2b3-%d", i), model: m, kv: "0.3", waiting: "1", running: "1"})
	}
	decoys := []string{"a", "b", "anything", "evil", "new", "back", "x", `back\\slash\\`}
	for i, m := range decoys {
		pods = append(pods, vllmPod{ns: ns, pod: fmt.Sprintf("decoy-%d", i), model: m, kv: "0.99", waiting: "1", running: "1"})
	}
	// The target's pod also serves a decoy model (as an adapter would).
	pods = append(pods, vllmPod{ns: ns, pod: "evil-1a2b3-0", model: "evil", kv: "0.99", waiting: "7", running: "7"})
	decoys = append(decoys, "evil")
	scraped(t, "hostile", exposition(pods...), `vllm:num_requests_waiting{namespace="`+ns+`"}`, hasSeries(len(pods)))

	var targets []collector.Target
	for i, m := range hostileModels {
		targets = append(targets, collector.Target{VariantAutoscaling: vaKey(ns, "v"+strconv.Itoa(i)), ModelID: m, Deployment: "evil"})
	}
	for _, q := range BuildQueries(SelectorFor(targets), DefaultWindow) {
		// The hostile exposition has no ITL or prefill histogram to take a median or mean of.
		if q.Name == QueryKvCacheBlocks || q.Name == QueryITLMedian || q.Name == QueryPrefillMean || q.Name == QueryPodPromptMean || q.Name == QueryPodFinishRate {
			continue
		}
		vec, err := prom.Query(c.ctx, q.PromQL)
		if err != nil {
			t.Fatalf("%s does not parse: %v", q.Name, err)
		}
		var got []string
		for _, s := range vec {
			got = append(got, string(s.Metric["model_name"]))
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(append(slices.Clone(hostileModels), decoys...)))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s selected other series (-want +got):\n%s\nquery: %s", q.Name, diff, q.PromQL)
		}
	}

	// The per-model queries parse too, and select only the namespace's models.
	for _, q := range BuildModelQueries(SelectorFor(targets), DefaultWindow, DefaultGatewayMetric) {
		vec, err := prom.Query(c.ctx, q.PromQL)
		if err != nil {
			t.Fatalf("%s does not parse: %v", q.Name, err)
		}
		for _, s := range vec {
			if m := string(s.Metric["model_name"]); s.Metric["namespace"] != model.LabelValue(ns) ||
				(!slices.Contains(hostileModels, m) && !slices.Contains(decoys, m)) {
				t.Errorf("%s selected %v", q.Name, s.Metric)
			}
		}
	}

	// Through Collect: one Deployment serving the first hostile name.
	c.deployment(ns, "evil", "evil", 1)
	c.pod(ns, "evil-1a2b3-0", "evil-1a2b3", "evil", true)
	c.synced(ns, 1, "evil")
	snap := collect(t, New(promAPI, podCache), targets[0])
	want := collector.VariantObservation{TargetFound: true, CurrentReplicas: 1, ReadyReplicas: 1, Metrics: found(),
		Pods: []analysis.PodMetrics{{Name: "evil-1a2b3-0", KvCacheUsage: 0.3, QueueLength: 1, RunningRequests: 1}}}
	if diff := cmp.Diff(want, snap.Variants[targets[0].VariantAutoscaling], ignoreMessages); diff != "" {
		t.Errorf("observation (-want +got):\n%s", diff)
	}
}

// queriesPerCycle is the number of queries of one collection: 5 per-pod and 13 per-model ones.
func queriesPerCycle() int {
	return len(BuildQueries(Selector{}, DefaultWindow)) + len(BuildModelQueries(Selector{}, DefaultWindow, DefaultGatewayMetric))
}

// countingAPI counts the queries sent to the wrapped API.
type countingAPI struct {
	QueryAPI
	n atomic.Int64
}

func (c *countingAPI) Query(ctx context.Context, q string, ts time.Time, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error) {
	c.n.Add(1)
	return c.QueryAPI.Query(ctx, q, ts, opts...)
}

// TestCollectQueriesPerCycle: the number of queries does not depend on the number of targets.
func TestCollectQueriesPerCycle(t *testing.T) {
	c := newCluster(t)
	ns := c.namespace("many")
	var targets []collector.Target
	var names []string
	for i := range 50 {
		name := fmt.Sprintf("variant-%02d", i)
		c.deployment(ns, name, name, 0)
		names = append(names, name)
		targets = append(targets, collector.Target{VariantAutoscaling: vaKey(ns, name), ModelID: fmt.Sprintf("model-%d", i%5), Deployment: name})
	}
	c.synced(ns, 0, names...)
	for _, n := range []int{1, 50} {
		api := &countingAPI{QueryAPI: promAPI}
		snap := collect(t, New(api, podCache), targets[:n]...)
		if len(snap.Variants) != n {
			t.Errorf("%d targets: %d observations", n, len(snap.Variants))
		}
		if want := int64(queriesPerCycle()); int64(snap.Queries) != want || api.n.Load() != want {
			t.Errorf("%d targets: Snapshot.Queries = %d, queries sent = %d, want %d and %d", n, snap.Queries, api.n.Load(), want, want)
		}
	}
	api := &countingAPI{QueryAPI: promAPI}
	if snap := collect(t, New(api, podCache), collector.Target{VariantAutoscaling: vaKey(ns, "x"), Deployment: "nope"}); snap.Queries != 0 || api.n.Load() != 0 {
		t.Errorf("no Deployment found: %d queries, want none", api.n.Load())
	}
}

// TestCollectPrometheusDown: a stopped Prometheus fails the whole collection.
func TestCollectPrometheusDown(t *testing.T) {
	c := newCluster(t)
	ns := c.namespace("down")
	c.deployment(ns, "vllm", "vllm", 0)
	c.synced(ns, 0, "vllm")
	p := testutil.StartPrometheus(t)
	p.Stop()
	tgt := collector.Target{VariantAutoscaling: vaKey(ns, "vllm"), ModelID: "m", Deployment: "vllm"}
	start := time.Now()
	api, err := NewAPI(Config{BaseURL: p.URL, AllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := New(api, podCache).Collect(context.Background(), []collector.Target{tgt}, time.Now())
	t.Logf("Collect against a stopped Prometheus: %v after %s", err, time.Since(start).Round(time.Millisecond))
	if err == nil || !strings.Contains(err.Error(), "querying ") {
		t.Fatalf("Collect error = %v, want a query error", err)
	}
	if snap.Variants != nil || snap.Queries != queriesPerCycle() {
		t.Errorf("snapshot %+v, want no observations and %d queries", snap, queriesPerCycle())
	}
}

// blockingAPI never answers before the context ends.
type blockingAPI struct{ promv1.API }

func (blockingAPI) Query(ctx context.Context, _ string, _ time.Time, _ ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error) {
	<-ctx.Done()
	return nil, nil, nil, ctx.Err()
}

func TestCollectQueryTimeout(t *testing.T) {
	c := newCluster(t)
	ns := c.namespace("slow")
	c.deployment(ns, "vllm", "vllm", 0)
	c.synced(ns, 0, "vllm")
	tgt := collector.Target{VariantAutoscaling: vaKey(ns, "vllm"), ModelID: "m", Deployment: "vllm"}
	start := time.Now()
	_, err := New(blockingAPI{}, podCache, WithQueryTimeout(200*time.Millisecond)).Collect(context.Background(), []collector.Target{tgt}, time.Now())
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "and 9 more of 10 queries failed") {
		t.Errorf("Collect error = %v, want the deadline of all 10 queries", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("Collect took %s with a 200ms query timeout (queries not parallel or not bounded?)", elapsed)
	}
}
