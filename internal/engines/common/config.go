package common

import (
	"maps"
	"sync"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// Config is the default shared configuration, written by the ConfigMap reconciler and read by
// the engines.
var Config = &GlobalConfig{}

// GlobalConfig is the autoscaler configuration shared between the ConfigMap reconciler and the
// engines: the optimization interval and the saturation thresholds per model.
type GlobalConfig struct {
	sync.RWMutex
	// OptimizationInterval is the engine period as a Go duration string (e.g. "30s").
	OptimizationInterval string
	// SaturationConfig maps a ConfigMap key ("default" or an override name) to its thresholds.
	SaturationConfig map[string]interfaces.SaturationScalingConfig
}

// NewGlobalConfig returns an empty configuration: no interval and no saturation entries.
func NewGlobalConfig() *GlobalConfig {
	return &GlobalConfig{}
}

// UpdateOptimizationConfig sets the optimization interval (a Go duration string).
func (c *GlobalConfig) UpdateOptimizationConfig(interval string) {
	c.Lock()
	defer c.Unlock()
	c.OptimizationInterval = interval
}

// UpdateSaturationConfig replaces the saturation configuration with a copy of config.
func (c *GlobalConfig) UpdateSaturationConfig(config map[string]interfaces.SaturationScalingConfig) {
	c.Lock()
	defer c.Unlock()
	c.SaturationConfig = maps.Clone(config)
}

// GetOptimizationInterval returns the optimization interval ("" when never set).
func (c *GlobalConfig) GetOptimizationInterval() string {
	c.RLock()
	defer c.RUnlock()
	return c.OptimizationInterval
}

// GetSaturationConfig returns a copy of the saturation configuration; changing it does not
// change the shared configuration.
func (c *GlobalConfig) GetSaturationConfig() map[string]interfaces.SaturationScalingConfig {
	c.RLock()
	defer c.RUnlock()
	return maps.Clone(c.SaturationConfig)
}
