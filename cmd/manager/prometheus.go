package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	promsource "github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector/prometheus"
)

// errNoPrometheus says where the Prometheus URL is looked for.
var errNoPrometheus = errors.New("no Prometheus URL: set PROMETHEUS_BASE_URL in the environment or in the main ConfigMap")

// newPrometheusSource builds the metrics source from the Prometheus settings of
// prometheusConfig. At run time the source reads Deployments and Pods from the indexers of the
// informers of informers (the manager's cache; see collectorLister), or else lists them
// through cached, the cache's client. The source's self-metrics are registered on reg. It also
// returns the Prometheus URL, the default address of the ScaledObjects WVA writes for
// spec.scaler.
func newPrometheusSource(ctx context.Context, logger logr.Logger, opts Options, getenv func(string) string, apiReader, cached client.Reader,
	informers cache.Informers, reg prometheus.Registerer) (*promsource.Source, string, error) {
	cfg, from, err := prometheusConfig(ctx, opts, getenv, apiReader)
	if err != nil {
		return nil, "", err
	}
	api, err := promsource.NewAPI(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("Prometheus client from %s: %w", from, err)
	}
	m, err := promsource.NewMetrics(reg)
	if err != nil {
		return nil, "", fmt.Errorf("registering the collector metrics: %w", err)
	}
	logger.Info("Prometheus configured", "url", cfg.RedactedURL(), "from", from, "bearerToken", tokenSource(cfg),
		"maxResponseBytes", cfg.EffectiveMaxResponseBytes(), "maxSeries", cfg.EffectiveMaxSeries(),
		"queryTimeout", cfg.EffectiveQueryTimeout())
	return promsource.New(api, cached, promsource.WithQueryTimeout(cfg.EffectiveQueryTimeout()),
		promsource.WithWindow(opts.MetricsWindow), promsource.WithMetrics(m), promsource.WithGatewayMetric(opts.GatewayMetric),
		promsource.WithNamespaceLister(collectorLister(ctx, logger, informers)),
		// Each pod's decode and prefill points feed the slo analyzer's estimator only, the
		// models' histograms its feedback and output-length shape.
		promsource.WithPodPoints(opts.Analyzer == analysis.AnalyzerSLO),
		promsource.WithModelHistograms(opts.Analyzer == analysis.AnalyzerSLO)), cfg.BaseURL, nil
}

// collectorLister returns the lister that hands the collector the cached Pods and Deployments
// by pointer, so that a cycle copies none of them (docs/scale.md, "Memory"). It returns nil, and
// logs why, when the cache cannot give its informers' indexers (with --watch-namespace its
// informers are one per namespace): the collector then lists through the cached client, which
// reads the same objects but copies each of them every cycle. Called before the manager starts, it creates
// the Pod and Deployment informers, which start with the cache.
func collectorLister(ctx context.Context, logger logr.Logger, informers cache.Informers) promsource.NamespaceLister {
	l, err := promsource.NewInformerLister(ctx, informers)
	if err != nil {
		logger.Info("The collector lists Pods and Deployments through the cached client, copying each one every cycle",
			"reason", err.Error())
		return nil
	}
	return l
}

// prometheusConfig reads the Prometheus settings, validated, and says where they came from.
// Each key comes from the environment when set there, else from the main ConfigMap, else its
// default (promsource.ConfigFromEnvAndConfigMap); PROMETHEUS_TOKEN_PATH only from the
// environment; --prometheus-allow-http also allows http. A missing ConfigMap is no error when
// the environment has the URL. The ConfigMap is read through apiReader, because the manager's
// cache has not started yet.
func prometheusConfig(ctx context.Context, opts Options, getenv func(string) string, apiReader client.Reader) (promsource.Config, string, error) {
	key := types.NamespacedName{Namespace: opts.ConfigMaps.Namespace, Name: opts.ConfigMaps.Main}
	cm := &corev1.ConfigMap{}
	from, none := "the environment and ConfigMap "+key.String(), fmt.Sprintf("neither the environment nor ConfigMap %s has one", key)
	switch err := apiReader.Get(ctx, key, cm); {
	case apierrors.IsNotFound(err):
		from = fmt.Sprintf("the environment (ConfigMap %s does not exist)", key)
		none = fmt.Sprintf("the environment has none and ConfigMap %s does not exist", key)
	case err != nil:
		return promsource.Config{}, "", fmt.Errorf("reading ConfigMap %s for the Prometheus settings: %w", key, err)
	}
	cfg, ok := promsource.ConfigFromEnvAndConfigMap(getenv, cm.Data)
	if !ok {
		return promsource.Config{}, "", fmt.Errorf("%w (%s)", errNoPrometheus, none)
	}
	cfg.AllowHTTP = cfg.AllowHTTP || opts.PrometheusAllowHTTP
	if err := cfg.Validate(); err != nil {
		return promsource.Config{}, "", fmt.Errorf("Prometheus settings from %s: %w", from, err)
	}
	return cfg, from, nil
}

// tokenSource says, for the start-up log, which bearer token the client sends.
func tokenSource(cfg promsource.Config) string {
	switch {
	case cfg.BearerToken != "":
		return promsource.EnvBearerToken
	case cfg.TokenPath != "":
		return "file " + cfg.TokenPath
	default:
		return "none"
	}
}
