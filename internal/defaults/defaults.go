package defaults

import (
	"fmt"
	"time"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/config"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/saturation"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// Settings are the autoscaler settings that an installation can change.
type Settings struct {
	// Analyzer names the saturation analyzer (the manager's --analyzer).
	Analyzer string
	// Interval is the engine's cycle period (GLOBAL_OPT_INTERVAL of the main ConfigMap).
	Interval time.Duration
	// ActuationMode is how a VariantAutoscaling's decisions reach its Deployment when its
	// spec.actuation.mode is not set (the CRD's default).
	ActuationMode wvav1alpha1.ActuationMode
	// Saturation is the default entry of the saturation ConfigMap.
	Saturation interfaces.SaturationScalingConfig
	// ScaleDownStabilization and ScaleDownStepFraction damp scale-down in the engine (the
	// manager's --scale-down-stabilization; the step has no flag).
	ScaleDownStabilization time.Duration
	ScaleDownStepFraction  float64
	// MetricsWindow is the range over which the peak of each saturation signal is read (the
	// manager's --metrics-window).
	MetricsWindow time.Duration
}

// Shipped returns what WVA ships: the manager's flag defaults, the CRD's default actuation mode
// and the values of config/default's ConfigMaps.
func Shipped() Settings {
	return Settings{
		Analyzer:               analysis.DefaultAnalyzer,
		Interval:               config.DefaultOptimizationInterval,
		ActuationMode:          wvav1alpha1.ActuationMetrics,
		Saturation:             interfaces.DefaultSaturationScalingConfig(),
		ScaleDownStabilization: saturation.DefaultScaleDownStabilization,
		ScaleDownStepFraction:  saturation.DefaultScaleDownStepFraction,
		MetricsWindow:          time.Minute,
	}
}

// String summarises s in one line, e.g. "capacity analyzer every 30s, Metrics mode, kv 0.80/0.10,
// queue 5/3, scale-down after 3m0s by at most 25%".
func (s Settings) String() string {
	c := s.Saturation
	return fmt.Sprintf("%s analyzer every %s, %s mode, kv %.2f/%.2f, queue %g/%g, scale-down after %s by at most %.0f%%",
		s.Analyzer, s.Interval, s.ActuationMode, c.KvCacheThreshold, c.KvSpareTrigger, c.QueueLengthThreshold, c.QueueSpareTrigger,
		s.ScaleDownStabilization, 100*s.ScaleDownStepFraction)
}
