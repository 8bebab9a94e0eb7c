package interfaces

import (
	"errors"
	"fmt"
)

// DefaultSaturationConfigKey is the saturation ConfigMap key whose entry applies to every model
// that has no override.
const DefaultSaturationConfigKey = "default"

// SaturationScalingConfig holds the thresholds of the saturation analysis for one model (or the
// default for all models). The JSON keys are the YAML keys of the saturation ConfigMap.
type SaturationScalingConfig struct {
	// ModelID selects the model an override entry applies to. Empty in the default entry.
	ModelID string `json:"model_id,omitempty"`
	// Namespace restricts an override entry to one namespace. Empty matches every namespace.
	Namespace string `json:"namespace,omitempty"`

	// KvCacheThreshold is the KV-cache usage (0..1) at or above which a replica is saturated.
	KvCacheThreshold float64 `json:"kvCacheThreshold"`
	// QueueLengthThreshold is the waiting-queue length at or above which a replica is saturated.
	QueueLengthThreshold float64 `json:"queueLengthThreshold"`
	// KvSpareTrigger: scale up when the mean spare KV capacity of non-saturated replicas falls
	// below this (0..1).
	KvSpareTrigger float64 `json:"kvSpareTrigger"`
	// QueueSpareTrigger: scale up when the mean spare queue capacity of non-saturated replicas
	// falls below this.
	QueueSpareTrigger float64 `json:"queueSpareTrigger"`

	// ScaleDownUtilization is the lower edge of the capacity analyzer's hysteresis band (0..1):
	// it removes replicas only while the smaller fleet stays at or below this KV utilisation.
	// Optional; 0 selects the default, max(u_up-0.2, u_up/2) with
	// u_up = kvCacheThreshold - kvSpareTrigger. When set it must be below u_up. The v1 analyzer
	// ignores it.
	ScaleDownUtilization float64 `json:"scaleDownUtilization,omitempty"`

	// ITLTargetMs is the inter-token latency the model should keep, in milliseconds. Optional;
	// when set, the capacity analyzer also limits each replica's running batch to what keeps
	// the decode step (alpha + beta * batch, from the VariantAutoscaling's perfParms) within it.
	// The v1 analyzer ignores it.
	ITLTargetMs float64 `json:"itlTargetMs,omitempty"`
}

// DefaultSaturationScalingConfig returns the documented defaults: KV 0.80, queue 5, KV spare
// 0.10, queue spare 3.
func DefaultSaturationScalingConfig() SaturationScalingConfig {
	return SaturationScalingConfig{
		KvCacheThreshold:     0.80,
		QueueLengthThreshold: 5,
		KvSpareTrigger:       0.10,
		QueueSpareTrigger:    3,
	}
}

// Validate reports every rule the thresholds break, joined into one error.
func (c SaturationScalingConfig) Validate() error {
	var errs []error
	if c.KvCacheThreshold < 0 || c.KvCacheThreshold > 1 {
		errs = append(errs, fmt.Errorf("kvCacheThreshold must be between 0 and 1, got %g", c.KvCacheThreshold))
	}
	if c.QueueLengthThreshold < 0 {
		errs = append(errs, fmt.Errorf("queueLengthThreshold must be >= 0, got %g", c.QueueLengthThreshold))
	}
	if c.KvSpareTrigger < 0 || c.KvSpareTrigger > 1 {
		errs = append(errs, fmt.Errorf("kvSpareTrigger must be between 0 and 1, got %g", c.KvSpareTrigger))
	}
	if c.QueueSpareTrigger < 0 {
		errs = append(errs, fmt.Errorf("queueSpareTrigger must be >= 0, got %g", c.QueueSpareTrigger))
	}
	if c.KvCacheThreshold < c.KvSpareTrigger {
		errs = append(errs, fmt.Errorf("kvCacheThreshold (%g) must be >= kvSpareTrigger (%g)", c.KvCacheThreshold, c.KvSpareTrigger))
	}
	if c.ITLTargetMs < 0 {
		errs = append(errs, fmt.Errorf("itlTargetMs must be >= 0, got %g", c.ITLTargetMs))
	}
	if c.ScaleDownUtilization < 0 || c.ScaleDownUtilization >= 1 {
		errs = append(errs, fmt.Errorf("scaleDownUtilization must be >= 0 and < 1, got %g", c.ScaleDownUtilization))
	} else if up := c.KvCacheThreshold - c.KvSpareTrigger; c.ScaleDownUtilization > 0 && c.ScaleDownUtilization >= up-1e-9 {
		errs = append(errs, fmt.Errorf("scaleDownUtilization (%g) must be below kvCacheThreshold - kvSpareTrigger (%g)", c.ScaleDownUtilization, up))
	}
	return errors.Join(errs...)
}

// ConfigFor returns the saturation config that applies to a model in a namespace: an override
// entry whose model_id matches (and whose namespace matches, or is empty) wins over the default
// entry; an override in the same namespace wins over a namespace-less one. The second result is
// false when neither an override nor a default exists.
func ConfigFor(configs map[string]SaturationScalingConfig, modelID, namespace string) (SaturationScalingConfig, bool) {
	var best SaturationScalingConfig
	bestScore := 0
	for key, c := range configs {
		if key == DefaultSaturationConfigKey || c.ModelID == "" || c.ModelID != modelID {
			continue
		}
		score := 0
		switch c.Namespace {
		case namespace:
			score = 2
		case "":
			score = 1
		}
		if score > bestScore {
			best, bestScore = c, score
		}
	}
	if bestScore > 0 {
		return best, true
	}
	def, ok := configs[DefaultSaturationConfigKey]
	return def, ok
}
