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

	// serviceClasses maps a service-class ConfigMap key to its class (SLO targets per model).
	serviceClasses map[string]interfaces.ServiceClass

	// gpuLimits configures the GPU limiter (see gpulimits.go).
	gpuLimits interfaces.GPULimits

	// intervalChanged is closed, and cleared, when UpdateOptimizationConfig changes the interval.
	intervalChanged chan struct{}
}

// NewGlobalConfig returns an empty configuration: no interval and no saturation entries.
func NewGlobalConfig() *GlobalConfig {
	return &GlobalConfig{}
}

// UpdateOptimizationConfig sets the optimization interval (a Go duration string). When the value
// differs from the current one, the channels returned by OptimizationIntervalChanged are closed.
func (c *GlobalConfig) UpdateOptimizationConfig(interval string) {
	c.Lock()
	defer c.Unlock()
	if interval == c.OptimizationInterval {
		return
	}
	c.OptimizationInterval = interval
	if c.intervalChanged != nil {
		close(c.intervalChanged)
		c.intervalChanged = nil
	}
}

// OptimizationIntervalChanged returns a channel that is closed the next time
// UpdateOptimizationConfig changes the interval. Take the channel before reading the interval,
// then no change can slip between the two; after it fires, take a new one. Writes to the
// OptimizationInterval field that bypass UpdateOptimizationConfig are not noticed.
func (c *GlobalConfig) OptimizationIntervalChanged() <-chan struct{} {
	c.Lock()
	defer c.Unlock()
	if c.intervalChanged == nil {
		c.intervalChanged = make(chan struct{})
	}
	return c.intervalChanged
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

// UpdateServiceClasses replaces the service classes (the SLO targets per model) with a copy of
// classes, keyed by their ConfigMap key.
func (c *GlobalConfig) UpdateServiceClasses(classes map[string]interfaces.ServiceClass) {
	c.Lock()
	defer c.Unlock()
	c.serviceClasses = maps.Clone(classes)
}

// GetServiceClasses returns a copy of the service classes (nil when never loaded). The classes'
// model lists are shared: do not change them.
func (c *GlobalConfig) GetServiceClasses() map[string]interfaces.ServiceClass {
	c.RLock()
	defer c.RUnlock()
	return maps.Clone(c.serviceClasses)
}

// SLOFor returns the latency targets the service classes give modelID in namespace (see
// interfaces.SLOForModel), and false when no class lists the model. A VariantAutoscaling's
// spec.slo overrides them; the engine applies that.
func (c *GlobalConfig) SLOFor(modelID, namespace string) (interfaces.SLOTargets, bool) {
	c.RLock()
	defer c.RUnlock()
	return interfaces.SLOForModel(c.serviceClasses, modelID, namespace)
}
