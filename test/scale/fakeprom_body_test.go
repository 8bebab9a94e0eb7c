package scale

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	promsource "github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector/prometheus"
)

// TestFakePromBody reads the fake's hand-written responses with the Prometheus API client the
// collector uses: every pod's series with its join labels and the model's current load, the
// cache geometry with its own labels, and an empty vector for the other queries. It runs in
// make test (the scale run itself is gated).
func TestFakePromBody(t *testing.T) {
	pods := []benchPod{{"ns-a", "p-0", "org/m-0"}, {"ns-b", "p-\"1\"", "org/m-1"}}
	p := newFakeProm(pods, 0)
	defer p.close()
	p.setLoad("org/m-1", highLoad)
	api, err := promsource.NewAPI(promsource.Config{BaseURL: p.srv.URL, AllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	query := func(q string) model.Vector {
		t.Helper()
		v, _, _, err := api.Query(context.Background(), q, time.Now())
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		vec, ok := v.(model.Vector)
		if !ok {
			t.Fatalf("%s: %T, want a vector", q, v)
		}
		return vec
	}

	waiting := query(`max by (namespace, pod, model_name) (max_over_time(vllm:num_requests_waiting[1m]))`)
	if len(waiting) != len(pods) {
		t.Fatalf("waiting: %d series, want %d", len(waiting), len(pods))
	}
	for i, s := range waiting {
		if got := string(s.Metric["pod"]); got != pods[i].name {
			t.Errorf("series %d: pod %q, want %q", i, got, pods[i].name)
		}
		if got := string(s.Metric["model_name"]); got != pods[i].model {
			t.Errorf("series %d: model_name %q, want %q", i, got, pods[i].model)
		}
		if got := string(s.Metric["namespace"]); got != pods[i].namespace {
			t.Errorf("series %d: namespace %q, want %q", i, got, pods[i].namespace)
		}
	}
	if waiting[0].Value != model.SampleValue(idleLoad.waiting) || waiting[1].Value != model.SampleValue(highLoad.waiting) {
		t.Errorf("waiting values %v, %v; want %v, %v", waiting[0].Value, waiting[1].Value, idleLoad.waiting, highLoad.waiting)
	}
	if kv := query(`max_over_time(vllm:kv_cache_usage_perc[1m])`); kv[1].Value != model.SampleValue(highLoad.kv) {
		t.Errorf("kv of the stepped model %v, want %v", kv[1].Value, highLoad.kv)
	}
	blocks := query(`vllm:cache_config_info`)
	if got := blocks[0].Metric["num_gpu_blocks"]; got != "8192" || blocks[0].Metric["model_name"] != "" {
		t.Errorf("cache geometry labels %v", blocks[0].Metric)
	}
	// The collector's own queries: every per-pod one answers per pod, every per-model one per
	// model (per model and bound for the histograms), the gateway's none.
	sel := promsource.Selector{Namespaces: []string{"ns-a", "ns-b"}, Models: []string{"org/m-0", "org/m-1"}}
	for _, q := range promsource.BuildQueries(sel, time.Minute) {
		if got := len(query(q.PromQL)); got != len(pods) {
			t.Errorf("%s: %d series, want one per pod (%d)", q.Name, got, len(pods))
		}
	}
	for _, q := range promsource.BuildModelQueries(sel, time.Minute, promsource.DefaultGatewayMetric) {
		want := len(pods) // one model per pod here
		switch {
		case q.Name == promsource.QueryGatewayRequestRate:
			want = 0
		case strings.Contains(q.PromQL, ", le)"):
			want *= len(bucketBounds)
		}
		if got := len(query(q.PromQL)); got != want {
			t.Errorf("%s: %d series, want %d", q.Name, got, want)
		}
	}
}

// TestFakePromVisibleAt: a load change shows at the first scrape after it, which is at most one
// scrape interval later, and not at the scrape before.
func TestFakePromVisibleAt(t *testing.T) {
	pods := []benchPod{{"ns-a", "p-0", "org/m-0"}, {"ns-a", "p-1", "org/m-1"}}
	p := newFakeProm(pods, 15*time.Second)
	defer p.close()
	for i, pod := range pods {
		for k := range 200 {
			at := p.origin.Add(p.phase(pod.model) + time.Duration(k)*377*time.Millisecond) // after the first scrape
			vis := p.visibleAt(pod.model, at)
			if !vis.After(at) || vis.Sub(at) > p.scrape {
				t.Fatalf("%s: a change at +%s shows at +%s", pod.model, at.Sub(p.origin), vis.Sub(p.origin))
			}
			if got := p.lastScrape(i, vis); !got.Equal(vis) {
				t.Fatalf("%s: +%s is not a scrape (last scrape then +%s)", pod.model, vis.Sub(p.origin), got.Sub(p.origin))
			}
			if before := p.lastScrape(i, vis.Add(-time.Millisecond)); before.After(at) {
				t.Fatalf("%s: a scrape at +%s, between the change at +%s and +%s", pod.model, before.Sub(p.origin), at.Sub(p.origin), vis.Sub(p.origin))
			}
		}
	}
	// Before a model's first scrape, a change shows at that scrape.
	if got, first := p.visibleAt("org/m-0", p.origin), p.origin.Add(p.phase("org/m-0")); !got.Equal(first) && first.After(p.origin) {
		t.Errorf("a change at the origin shows at +%s, want the first scrape +%s", got.Sub(p.origin), first.Sub(p.origin))
	}
}
