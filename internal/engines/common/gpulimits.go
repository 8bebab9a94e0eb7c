package common

import (
	"slices"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// UpdateGPULimits replaces the GPU limiter's configuration with a copy of l.
func (c *GlobalConfig) UpdateGPULimits(l interfaces.GPULimits) {
	c.Lock()
	defer c.Unlock()
	l.Quotas = slices.Clone(l.Quotas)
	c.gpuLimits = l
}

// GetGPULimits returns a copy of the GPU limiter's configuration (off when never loaded).
func (c *GlobalConfig) GetGPULimits() interfaces.GPULimits {
	c.RLock()
	defer c.RUnlock()
	l := c.gpuLimits
	l.Quotas = slices.Clone(l.Quotas)
	return l
}
