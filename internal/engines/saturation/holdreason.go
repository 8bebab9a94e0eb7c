package saturation

import (
	"errors"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
)

// collectErrorReason is the MetricsAvailable reason of the decisions held because the
// collection failed with err: MetricsLimitExceeded when Prometheus answered more than the
// collector accepts, else PrometheusError.
func collectErrorReason(err error) string {
	if errors.Is(err, collector.ErrResponseTooLarge) {
		return wvav1alpha1.ReasonMetricsLimitExceeded
	}
	return wvav1alpha1.ReasonPrometheusError
}
