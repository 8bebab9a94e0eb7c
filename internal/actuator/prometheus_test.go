package actuator

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// TestSeriesAsPrometheusSeesThem scrapes the Actuator's registry with a real Prometheus and runs
// the KEDA sample's query on it: a relabelled variant must leave one series (an HPA would sum
// two), and a forgotten one none.
func TestSeriesAsPrometheusSeesThem(t *testing.T) {
	a, reg := newTestActuator(t)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	prom := testutil.StartPrometheus(t, strings.TrimPrefix(srv.URL, "http://"))

	// The test Prometheus honours the exposition's labels, so namespace keeps its name; a
	// default scrape renames it to exported_namespace, which the samples use.
	const dep, ns = "vllme-deployment", "llm-d-sim"
	query := strings.ReplaceAll(kedaQuery(dep, ns), ScrapedNamespaceLabel, LabelNamespace)
	all := DesiredReplicasMetric + `{` + LabelVariantName + `="` + dep + `"}`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	va := testutil.VariantAutoscaling("va").Namespace(ns).Target(dep).Accelerator("A100").Obj()
	mustActuate(t, a, va, decision("", 2, 3))
	if _, err := prom.WaitFor(ctx, query, valueIs(3)); err != nil {
		t.Fatal(err)
	}

	// The accelerator changes: the A100 series must go stale, leaving one series worth 4.
	va = testutil.VariantAutoscaling("va").Namespace(ns).Target(dep).Accelerator("H100").Obj()
	mustActuate(t, a, va, decision("", 3, 4))
	if _, err := prom.WaitFor(ctx, "sum("+all+")", valueIs(4)); err != nil {
		t.Fatalf("the sum an HPA computes: %v", err)
	}
	got, err := prom.Query(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Metric[LabelAcceleratorType] != "H100" {
		t.Errorf("%s = %v, want one H100 series", all, got)
	}

	a.Forget(client.ObjectKeyFromObject(va))
	if _, err := prom.WaitFor(ctx, all, func(v model.Vector) bool { return len(v) == 0 }); err != nil {
		t.Fatalf("after Forget: %v", err)
	}
}

func valueIs(want float64) func(model.Vector) bool {
	return func(v model.Vector) bool { return len(v) == 1 && float64(v[0].Value) == want }
}
