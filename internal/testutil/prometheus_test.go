package testutil

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

const kvCacheQuery = `vllm:kv_cache_usage_perc{namespace="ns",pod="p-0"}`

func kvCacheExposition(v string) string {
	return "# TYPE vllm:kv_cache_usage_perc gauge\n" +
		`vllm:kv_cache_usage_perc{model_name="m",namespace="ns",pod="p-0"} ` + v + "\n"
}

func TestPrometheusScrapesMetricsServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	ms := StartMetricsServer(t, kvCacheExposition("0.5"))
	prom := StartPrometheus(t, ms.Addr)

	start := time.Now()
	vec, err := prom.WaitForScrape(ctx, kvCacheQuery)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first sample visible %s after ready", time.Since(start).Round(time.Millisecond))
	if len(vec) != 1 {
		t.Fatalf("got %d series, want 1: %v", len(vec), vec)
	}
	s := vec[0]
	if s.Value != 0.5 {
		t.Errorf("value = %v, want 0.5", s.Value)
	}
	// honor_labels keeps the exposition's labels; Prometheus adds job and instance.
	for name, want := range map[model.LabelName]model.LabelValue{
		"model_name": "m",
		"namespace":  "ns",
		"pod":        "p-0",
		"job":        PrometheusJob,
		"instance":   model.LabelValue(ms.Addr),
	} {
		if got := s.Metric[name]; got != want {
			t.Errorf("label %s = %q, want %q (series %v)", name, got, want, s.Metric)
		}
	}

	ms.Set(kvCacheExposition("0.75"))
	start = time.Now()
	_, err = prom.WaitFor(ctx, kvCacheQuery, func(v model.Vector) bool {
		return len(v) == 1 && v[0].Value == 0.75
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("new value visible %s after Set (%d scrapes so far)", time.Since(start).Round(time.Millisecond), ms.Scrapes())

	prom.Stop()
	prom.Stop() // idempotent
	if _, err := prom.Query(ctx, kvCacheQuery); err == nil {
		t.Error("query after Stop succeeded, want an error")
	}
}

func TestPrometheusConfig(t *testing.T) {
	got := prometheusConfig([]string{"127.0.0.1:1", "127.0.0.1:2"})
	for _, want := range []string{
		"scrape_interval: 1s",
		"evaluation_interval: 1s",
		"job_name: vllm",
		"honor_labels: true",
		`- targets: ["127.0.0.1:1", "127.0.0.1:2"]`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %q:\n%s", want, got)
		}
	}
}
