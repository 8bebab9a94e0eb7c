package saturation

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// TestCollectionErrorReason: a collection refused for its size holds the decision with the
// reason MetricsLimitExceeded; any other collection error with PrometheusError.
func TestCollectionErrorReason(t *testing.T) {
	cases := map[string]struct {
		err  error
		want string
	}{
		"response too large": {err: fmt.Errorf("querying num_requests_waiting: %w (and 4 more of 5 queries failed)",
			fmt.Errorf("more than 50000 series: %w", collector.ErrResponseTooLarge)), want: wvav1alpha1.ReasonMetricsLimitExceeded},
		"unreachable": {err: errors.New("dial tcp 127.0.0.1:9090: connection refused"), want: wvav1alpha1.ReasonPrometheusError},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			va := testutil.VariantAutoscaling("a").Model("m").Obj()
			h := newHarness(t, analysis.AnalyzerCapacity, va)
			h.observe(va, observed(4, 0.9, 10))
			if err := h.engine.RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			before := h.decision(t, va)
			h.source.err = tc.err
			h.clock.Step(30 * time.Second)
			if err := h.engine.RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			d := h.decision(t, va)
			if d.TargetReplicas != before.TargetReplicas || d.MetricsAvailable || d.MetricsReason != tc.want {
				t.Errorf("held decision: target %d, available %v, reason %q; want %d, false, %q",
					d.TargetReplicas, d.MetricsAvailable, d.MetricsReason, before.TargetReplicas, tc.want)
			}
		})
	}
}
