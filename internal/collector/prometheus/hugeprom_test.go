package promsource

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// vectorServer answers /api/v1/query on 127.0.0.1 like Prometheus does for the collector's
// queries: for every query, one series per real pod (fresh, KV 0.9, 10 waiting requests) and,
// for the queries named in extra, that many more series of pods that do not exist. It is the
// fault injection the real Prometheus cannot easily be made to do: answer with 100,000 series
// per query without scraping them first.
type vectorServer struct {
	srv   *httptest.Server
	model string
	pods  []types.NamespacedName

	mu    sync.Mutex
	extra map[string]int // Query.Name → filler series
	cache map[string][]byte
}

func startVectorServer(tb testing.TB, modelID string, pods ...types.NamespacedName) *vectorServer {
	tb.Helper()
	f := &vectorServer{model: modelID, pods: pods, extra: map[string]int{}, cache: map[string][]byte{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.srv.Close)
	return f
}

// setExtra makes every query named in extra answer that many additional series.
func (f *vectorServer) setExtra(extra map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.extra = extra
	clear(f.cache)
}

// source returns a Source reading this server through NewAPI, as the manager builds it, with
// cfg's limits.
func (f *vectorServer) source(tb testing.TB, cfg Config, opts ...Option) *Source {
	tb.Helper()
	cfg.BaseURL, cfg.AllowHTTP = f.srv.URL, true
	api, err := NewAPI(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return New(api, podCache, opts...)
}

// modelQuery stands for every query of BuildModelQueries, which the server answers with an
// empty vector: the limits are about the per-pod queries.
const modelQuery = "model"

// queryName tells which of BuildQueries' queries promql is.
func queryName(promql string) string {
	switch {
	case strings.Contains(promql, MetricRequestPrefillTime):
		return QueryPrefillMean
	case strings.HasPrefix(promql, "sum by ("+seriesGrouping+")") && strings.Contains(promql, " / "):
		return QueryPodPromptMean
	case strings.HasPrefix(promql, "sum by ("+seriesGrouping+")"):
		return QueryPodFinishRate
	case strings.HasPrefix(promql, "sum by ("):
		return modelQuery
	case strings.Contains(promql, MetricCacheConfigInfo):
		return QueryKvCacheBlocks
	case strings.HasPrefix(promql, "max by ("+seriesGrouping+") (timestamp("):
		return QueryLastSample
	case strings.HasPrefix(promql, "histogram_quantile("):
		return QueryITLMedian
	case strings.Contains(promql, "avg_over_time("):
		return QueryRunningMean
	case strings.Contains(promql, MetricKvCacheUsage):
		return QueryKvCacheUsage
	case strings.Contains(promql, MetricRequestsRunning):
		return QueryRequestsRunning
	default:
		return QueryRequestsWaiting
	}
}

func (f *vectorServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query" {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	name := queryName(r.Form.Get("query"))
	if name == modelQuery {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]}}`))
		return
	}
	value := "0.9"
	switch name {
	case QueryRequestsWaiting:
		value = "10"
	case QueryRequestsRunning:
		value = "8"
	case QueryRunningMean:
		value = "6"
	case QueryITLMedian:
		value = "0.02"
	case QueryPrefillMean:
		value = "0.05"
	case QueryPodPromptMean:
		value = "1000"
	case QueryPodFinishRate:
		value = "2"
	case QueryKvCacheBlocks:
		value = "1"
	case QueryLastSample:
		value = r.Form.Get("time") // the newest sample is as old as the evaluation time
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(f.body(name, r.Form.Get("time"), value))
}

// body renders the response to query name, evaluated at ts, as Prometheus does (compact JSON,
// labels in order). Bodies are cached until setExtra, so serving costs the benchmarks little.
func (f *vectorServer) body(name, ts, value string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.extra[name]
	key := name + "|" + ts
	if b, ok := f.cache[key]; ok {
		return b
	}
	b := []byte(`{"status":"success","data":{"resultType":"vector","result":[`)
	sample := func(ns, pod string) {
		if name == QueryKvCacheBlocks {
			b = append(b, `{"metric":{"block_size":"16","engine":"0","namespace":`...)
			b = strconv.AppendQuote(b, ns)
			b = append(b, `,"num_gpu_blocks":"2048","pod":`...)
		} else {
			b = append(b, `{"metric":{"model_name":`...)
			b = strconv.AppendQuote(b, f.model)
			b = append(b, `,"namespace":`...)
			b = strconv.AppendQuote(b, ns)
			b = append(b, `,"pod":`...)
		}
		b = strconv.AppendQuote(b, pod)
		b = append(b, `},"value":[`...)
		b = append(b, ts...)
		b = append(b, ',')
		b = strconv.AppendQuote(b, value)
		b = append(b, "]}"...)
	}
	for i, p := range f.pods {
		if i > 0 {
			b = append(b, ',')
		}
		sample(p.Namespace, p.Name)
	}
	for i := range n {
		if i > 0 || len(f.pods) > 0 {
			b = append(b, ',')
		}
		// A fleet of other pods: 100 namespaces, ReplicaSet-style pod names.
		sample(fmt.Sprintf("team-%03d", i%100), fmt.Sprintf("vllm-%06d-5d4f7c9b8-x2k4q", i))
	}
	b = append(b, "]}}"...)
	f.cache[key] = b
	return b
}

// servingFixture is a Deployment with two ready pods in a fresh namespace, seen by podCache.
type servingFixture struct {
	target collector.Target
	pods   []types.NamespacedName
}

func newServingFixture(tb testing.TB, modelID string) servingFixture {
	tb.Helper()
	if k8sClient == nil {
		tb.Skip("envtest is not running (see TestMain)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "limits-"}}
	if err := k8sClient.Create(ctx, ns); err != nil {
		tb.Fatal(err)
	}
	dep := testutil.Deployment("vllm").Namespace(ns.Name).Replicas(2).Obj()
	if err := k8sClient.Create(ctx, dep); err != nil {
		tb.Fatal(err)
	}
	pods, err := testutil.ServingPods(ctx, k8sClient, dep, 2)
	if err != nil {
		tb.Fatal(err)
	}
	fx := servingFixture{target: collector.Target{VariantAutoscaling: vaKey(ns.Name, "vllm"), ModelID: modelID, Deployment: dep.Name}}
	for _, p := range pods {
		fx.pods = append(fx.pods, types.NamespacedName{Namespace: p.Namespace, Name: p.Name})
	}
	if err := poll(ctx, func() bool {
		var list corev1.PodList
		if podCache.List(ctx, &list, client.InNamespace(ns.Name)) != nil {
			return false
		}
		ready := 0
		for i := range list.Items {
			if podReady(&list.Items[i]) {
				ready++
			}
		}
		return ready == 2 && podCache.Get(ctx, client.ObjectKeyFromObject(dep), &appsv1.Deployment{}) == nil
	}); err != nil {
		tb.Fatalf("cache never saw Deployment %s/vllm with 2 ready pods: %v", ns.Name, err)
	}
	return fx
}

// allQueries maps every query name to n.
func allQueries(n int) map[string]int {
	out := map[string]int{}
	for _, q := range BuildQueries(Selector{}, DefaultWindow) {
		out[q.Name] = n
	}
	return out
}
