package actuator_test

import (
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/actuator"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/controller"
)

// The controller applies decisions through this package. The check lives in the external test
// package: the controller imports this package (for the metric names of the scalers it owns).
var _ controller.Actuator = (*actuator.Actuator)(nil)
