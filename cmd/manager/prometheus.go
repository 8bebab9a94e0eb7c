package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	promsource "github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector/prometheus"
)

// errNoPrometheus says where the Prometheus URL is looked for.
var errNoPrometheus = errors.New("no Prometheus URL: set PROMETHEUS_BASE_URL in the environment or in the main ConfigMap")

// newPrometheusSource builds the metrics source from the environment or, when the environment
// has no PROMETHEUS_BASE_URL, from the main ConfigMap. The ConfigMap is read through apiReader,
// because the manager's cache has not started yet; cached is the reader the source uses for
// Deployments and Pods at run time. The source's self-metrics are registered on reg.
func newPrometheusSource(ctx context.Context, opts Options, getenv func(string) string, apiReader, cached client.Reader,
	reg prometheus.Registerer) (*promsource.Source, error) {
	cfg, ok := promsource.ConfigFromEnv(getenv)
	from := "the environment"
	if !ok {
		key := types.NamespacedName{Namespace: opts.ConfigMaps.Namespace, Name: opts.ConfigMaps.Main}
		cm := &corev1.ConfigMap{}
		switch err := apiReader.Get(ctx, key, cm); {
		case apierrors.IsNotFound(err):
			return nil, fmt.Errorf("%w (ConfigMap %s does not exist)", errNoPrometheus, key)
		case err != nil:
			return nil, fmt.Errorf("reading ConfigMap %s for the Prometheus settings: %w", key, err)
		}
		if cfg, ok = promsource.ConfigFromConfigMap(cm.Data); !ok {
			return nil, fmt.Errorf("%w (ConfigMap %s has none)", errNoPrometheus, key)
		}
		from = "ConfigMap " + key.String()
	}
	cfg.AllowHTTP = cfg.AllowHTTP || opts.PrometheusAllowHTTP
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("Prometheus settings from %s: %w", from, err)
	}
	api, err := promsource.NewAPI(cfg)
	if err != nil {
		return nil, fmt.Errorf("Prometheus client from %s: %w", from, err)
	}
	m, err := promsource.NewMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("registering the collector metrics: %w", err)
	}
	ctrl.Log.WithName("setup").Info("Prometheus configured", "url", cfg.BaseURL, "from", from,
		"maxResponseBytes", cfg.EffectiveMaxResponseBytes(), "maxSeries", cfg.EffectiveMaxSeries())
	return promsource.New(api, cached, promsource.WithQueryTimeout(cfg.EffectiveQueryTimeout()),
		promsource.WithWindow(opts.MetricsWindow), promsource.WithMetrics(m)), nil
}
