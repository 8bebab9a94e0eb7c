package saturation

import (
	"context"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/config"
)

// awaitReady waits for the readiness signal, at most readyTimeout. It returns false when ctx
// ended first.
func (e *Engine) awaitReady(ctx context.Context) bool {
	if e.ready == nil {
		return ctx.Err() == nil
	}
	logger := log.FromContext(ctx)
	timer := e.clock.NewTimer(e.readyTimeout)
	defer timer.Stop()
	select {
	case <-e.ready:
		logger.V(1).Info("Caches and configuration loaded; starting the first cycle")
		return true
	case <-timer.C():
		logger.Info("Caches or configuration not loaded in time; starting with what is loaded", "waited", e.readyTimeout,
			"interval", config.IntervalOrDefault(e.config.GetOptimizationInterval()))
		return true
	case <-ctx.Done():
		return false
	}
}

// waitNextCycle waits until one interval has passed since start, the cycle's start time. The
// interval is re-read whenever changed fires, and the wait re-armed to start+interval (or ended
// when that is already past). It returns false when ctx ended first.
func (e *Engine) waitNextCycle(ctx context.Context, start time.Time, changed <-chan struct{}) bool {
	logger := log.FromContext(ctx)
	for {
		interval := config.IntervalOrDefault(e.config.GetOptimizationInterval())
		wait := start.Add(interval).Sub(e.clock.Now())
		if wait <= 0 {
			return ctx.Err() == nil
		}
		timer := e.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return false
		case <-timer.C():
			return true
		case <-changed:
			timer.Stop()
			changed = e.config.OptimizationIntervalChanged()
			logger.V(1).Info("Optimization interval changed; re-arming the wait",
				"interval", config.IntervalOrDefault(e.config.GetOptimizationInterval()))
		}
	}
}
