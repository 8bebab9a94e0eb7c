package promsource

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
)

// TestWaitingDemand reads the waiting demand of idle models from the real Prometheus in one
// query: the gateway's flow-control queue summed over priorities and pools (the newer metric
// name where a gateway exports both), user queries, and no reading (not 0) for a model without
// a series. An invalid user query costs only its own models.
func TestWaitingDemand(t *testing.T) {
	const ns = "fromzero"
	var b strings.Builder
	gauge := func(metric, model string, priority int, v float64) {
		fmt.Fprintf(&b, "%s{namespace=%q,inference_pool=\"pool\",model_name=\"alias\",target_model_name=%q,fairness_id=\"x\",priority=\"%d\"} %g\n",
			metric, ns, model, priority, v)
	}
	fmt.Fprintf(&b, "# TYPE %s gauge\n", MetricFlowControlQueueSize)
	gauge(MetricFlowControlQueueSize, "m1", 0, 2)
	gauge(MetricFlowControlQueueSize, "m1", 10, 1)
	gauge(MetricFlowControlQueueSize, "m2", 0, 1)
	fmt.Fprintf(&b, "# TYPE %s gauge\n", MetricLegacyFlowControlQueueSize)
	gauge(MetricLegacyFlowControlQueueSize, "m2", 0, 1) // the deprecated mirror: not counted twice
	gauge(MetricLegacyFlowControlQueueSize, "m3", 0, 5) // an older gateway: only the old name
	fmt.Fprintf(&b, "# TYPE my_queue gauge\nmy_queue{namespace=%q,app=\"m4\"} 7\n", ns)
	servers["fromzero"].Set(b.String())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := prom.WaitFor(ctx, `count({namespace="`+ns+`"})`, func(v model.Vector) bool { return len(v) == 1 && v[0].Value == 6 }); err != nil {
		t.Fatal(err)
	}

	key := func(m string) collector.ModelKey { return collector.ModelKey{Namespace: ns, ModelID: m} }
	api := &countingAPI{QueryAPI: promAPI}
	src := New(api, nil)
	models := []collector.IdleModel{{Model: key("m1")}, {Model: key("m2")}, {Model: key("m3")}, {Model: key("quiet")},
		{Model: key("m4"), Query: `my_queue{app="m4"}`}, {Model: key("m5"), Query: `my_queue{app="none"}`}}
	got, err := src.WaitingDemand(ctx, models, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := map[collector.ModelKey]float64{key("m1"): 3, key("m2"): 1, key("m3"): 5, key("m4"): 7}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("demand (-want +got):\n%s", diff)
	}
	if api.n.Load() != 1 {
		t.Errorf("%d queries, want 1", api.n.Load())
	}

	// An invalid demandQuery: the batch fails, the parts are read one by one.
	models = append(models, collector.IdleModel{Model: key("broken"), Query: `my_queue{`})
	got, err = src.WaitingDemand(ctx, models, time.Now())
	if err == nil || !strings.Contains(err.Error(), "my_queue{") {
		t.Errorf("error %v, want one naming the invalid query", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("demand with an invalid query (-want +got):\n%s", diff)
	}
}
