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

// MaxCycleDuty is the largest share of wall time the engine spends in cycles: after a cycle of
// duration d the next starts no sooner than d / MaxCycleDuty after it started, whatever the
// interval. A short interval then costs little where cycles are fast (one model: milliseconds)
// and cannot make a large fleet (10,000 variants: seconds per cycle) cycle back to back, taking
// the manager's CPU from its reconciles and the API server's write budget from the decisions.
const MaxCycleDuty = 0.25

// waitNextCycle waits until one period has passed since start, the cycle's start time: the
// interval, or four times the cycle's duration when that is longer (MaxCycleDuty). The
// interval is re-read whenever changed fires, and the wait re-armed (or ended when the new end
// is already past). It returns false when ctx ended first.
func (e *Engine) waitNextCycle(ctx context.Context, start time.Time, changed <-chan struct{}) bool {
	logger := log.FromContext(ctx)
	busy := time.Duration(float64(e.clock.Since(start)) / MaxCycleDuty)
	for {
		interval := config.IntervalOrDefault(e.config.GetOptimizationInterval())
		if busy > interval {
			logger.V(1).Info("Cycle took a large share of the interval; waiting longer", "interval", interval, "period", busy)
			interval = busy
		}
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
