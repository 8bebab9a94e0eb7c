package controller

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/config"
)

// loadGPULimits loads the GPU limiter's keys of the main ConfigMap; a rejected key keeps its
// last good value and is reported by an InvalidConfiguration event.
func (r *ConfigMapReconciler) loadGPULimits(ctx context.Context, cm *corev1.ConfigMap) {
	logger := log.FromContext(ctx)
	previous := r.config.GetGPULimits()
	parsed, errs := config.ParseGPULimits(cm.Data, previous)
	for _, e := range errs {
		invalidConfigurationEvent(r.recorder, cm, e)
		logger.Error(e.Err, "Rejected GPU limiter value", "configMap", klog.KObj(cm), "key", e.Key)
	}
	if parsed.Enabled == previous.Enabled && parsed.NodeSelector == previous.NodeSelector && slices.Equal(parsed.Quotas, previous.Quotas) {
		return
	}
	r.config.UpdateGPULimits(parsed)
	configurationAppliedEvent(r.recorder, cm, fmt.Sprintf("GPU limiter enabled=%t, node selector %q, %d quotas",
		parsed.Enabled, parsed.NodeSelector, len(parsed.Quotas)))
	logger.Info("Loaded GPU limiter configuration", "configMap", klog.KObj(cm), "enabled", parsed.Enabled,
		"nodeSelector", parsed.NodeSelector, "quotas", len(parsed.Quotas), "rejected", len(errs))
}
