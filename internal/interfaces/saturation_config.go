package interfaces

import (
	"errors"
	"fmt"
	"math"
	"slices"
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

// Sane ranges of the thresholds. Values outside them pass no meaningful configuration but make
// the capacity analyzer divide by almost nothing: kvCacheThreshold - kvSpareTrigger = 1e-12 asked
// for a trillion times the demand.
const (
	// MinUtilizationBand is the smallest positive kvCacheThreshold - kvSpareTrigger (the capacity
	// analyzer's scale-up utilisation) and the smallest positive scaleDownUtilization; 0 switches
	// the KV signal off (the default scale-down utilisation is then used).
	MinUtilizationBand = 0.01
	// MinQueueThreshold is the smallest positive queueLengthThreshold and the smallest positive
	// queueLengthThreshold - queueSpareTrigger; 0 (or a difference <= 0) switches the queue
	// signal off.
	MinQueueThreshold = 0.1
	// MaxQueueThreshold bounds queueLengthThreshold and queueSpareTrigger.
	MaxQueueThreshold = 1e6
	// MaxITLTargetMs bounds itlTargetMs (1000 s).
	MaxITLTargetMs = 1e6
	// validationTolerance absorbs floating-point noise in the band rules (0.3 - 0.29 < 0.01).
	validationTolerance = 1e-9
)

// Validate reports every rule the thresholds break, joined into one error. Each message starts
// with the key it is about.
func (c SaturationScalingConfig) Validate() error {
	_, errs := c.validate()
	return errors.Join(errs...)
}

// InvalidKeys returns the keys whose values break a rule of Validate, in a fixed order without
// repetition; empty when the config is valid.
func (c SaturationScalingConfig) InvalidKeys() []string {
	keys, _ := c.validate()
	return keys
}

func (c SaturationScalingConfig) validate() ([]string, []error) {
	var keys []string
	var errs []error
	bad := func(key, format string, args ...any) {
		if !slices.Contains(keys, key) {
			keys = append(keys, key)
		}
		errs = append(errs, fmt.Errorf(key+" "+format, args...))
	}
	fields := []struct {
		key string
		v   float64
	}{
		{"kvCacheThreshold", c.KvCacheThreshold}, {"queueLengthThreshold", c.QueueLengthThreshold},
		{"kvSpareTrigger", c.KvSpareTrigger}, {"queueSpareTrigger", c.QueueSpareTrigger},
		{"scaleDownUtilization", c.ScaleDownUtilization}, {"itlTargetMs", c.ITLTargetMs},
	}
	finite := true
	for _, f := range fields {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			bad(f.key, "must be a finite number, got %g", f.v)
			finite = false
		}
	}
	if !finite {
		return keys, errs
	}

	if c.KvCacheThreshold < 0 || c.KvCacheThreshold > 1 {
		bad("kvCacheThreshold", "must be between 0 and 1, got %g", c.KvCacheThreshold)
	}
	if c.KvSpareTrigger < 0 || c.KvSpareTrigger > 1 {
		bad("kvSpareTrigger", "must be between 0 and 1, got %g", c.KvSpareTrigger)
	}
	up := c.KvCacheThreshold - c.KvSpareTrigger
	switch {
	case c.KvCacheThreshold < c.KvSpareTrigger:
		bad("kvCacheThreshold", "(%g) must be >= kvSpareTrigger (%g)", c.KvCacheThreshold, c.KvSpareTrigger)
	case up > 0 && up < MinUtilizationBand-validationTolerance:
		bad("kvSpareTrigger", "leaves kvCacheThreshold - kvSpareTrigger = %.3g; it must be 0 (KV signal off) or at least %g",
			up, MinUtilizationBand)
	}

	queueOK := c.QueueLengthThreshold == 0 ||
		(c.QueueLengthThreshold >= MinQueueThreshold && c.QueueLengthThreshold <= MaxQueueThreshold)
	if !queueOK {
		bad("queueLengthThreshold", "must be 0 (queue signal off) or between %g and %g, got %g",
			MinQueueThreshold, float64(MaxQueueThreshold), c.QueueLengthThreshold)
	}
	if c.QueueSpareTrigger < 0 || c.QueueSpareTrigger > MaxQueueThreshold {
		bad("queueSpareTrigger", "must be between 0 and %g, got %g", float64(MaxQueueThreshold), c.QueueSpareTrigger)
	}
	if q := c.QueueLengthThreshold - c.QueueSpareTrigger; queueOK && q > 0 && q < MinQueueThreshold-validationTolerance {
		bad("queueSpareTrigger", "leaves queueLengthThreshold - queueSpareTrigger = %.3g; it must be <= 0 (queue signal off) or at least %g",
			q, MinQueueThreshold)
	}

	if c.ITLTargetMs < 0 || c.ITLTargetMs > MaxITLTargetMs {
		bad("itlTargetMs", "must be between 0 and %g, got %g", float64(MaxITLTargetMs), c.ITLTargetMs)
	}
	switch {
	case c.ScaleDownUtilization < 0 || c.ScaleDownUtilization >= 1:
		bad("scaleDownUtilization", "must be >= 0 and < 1, got %g", c.ScaleDownUtilization)
	case c.ScaleDownUtilization > 0 && c.ScaleDownUtilization < MinUtilizationBand-validationTolerance:
		bad("scaleDownUtilization", "must be 0 (default) or at least %g, got %g", MinUtilizationBand, c.ScaleDownUtilization)
	case c.ScaleDownUtilization > 0 && c.ScaleDownUtilization >= up-validationTolerance:
		bad("scaleDownUtilization", "(%g) must be below kvCacheThreshold - kvSpareTrigger (%g)", c.ScaleDownUtilization, up)
	}
	return keys, errs
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
