package main

import (
	"context"
	"crypto/tls"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/actuator"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/controller"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/defaults"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/saturation"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/inventory"
)

// eventSource is the name events are recorded under.
const eventSource = "workload-variant-autoscaler"

// run builds every component from opts and runs the manager until ctx ends.
func run(ctx context.Context, opts Options, restCfg *rest.Config, getenv func(string) string) error {
	logger := ctrl.Log.WithName("setup")
	restCfg = rest.CopyConfig(restCfg)
	restCfg.Timeout = opts.RESTClientTimeout
	restCfg.QPS, restCfg.Burst = float32(opts.KubeAPIQPS), opts.KubeAPIBurst

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := wvav1alpha1.AddToScheme(scheme); err != nil {
		return err
	}

	mgr, err := ctrl.NewManager(restCfg, managerOptions(opts, scheme))
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}

	// The Prometheus settings are read before the manager's cache starts, so through the
	// API reader: a cached read here would fail and silently fall back to defaults.
	source, prometheusURL, err := newPrometheusSource(ctx, logger, opts, getenv, mgr.GetAPIReader(), mgr.GetClient(), mgr.GetCache(),
		metrics.Registry)
	if err != nil {
		return err
	}

	a, err := analysis.New(opts.Analyzer)
	if err != nil {
		return err
	}
	clk := clock.RealClock{}
	recorder := mgr.GetEventRecorder(eventSource)
	configMaps := controller.NewConfigMapReconciler(mgr.GetClient(), recorder, common.Config, opts.ConfigMaps)
	// The engine's first cycle waits for the caches and the first ConfigMap pass.
	ready := &engineReadiness{cache: mgr.GetCache(), configLoaded: configMaps.Loaded(), vas: common.DefaultVACache,
		clock: clk, ready: make(chan struct{})}
	if err := mgr.Add(ready); err != nil {
		return fmt.Errorf("adding the engine readiness gate: %w", err)
	}
	engine, err := saturation.New(source, common.DefaultVACache, common.Config, common.DecisionCache, common.DecisionTrigger,
		saturation.WithAnalyzer(a), saturation.WithClock(clk), saturation.WithRegisterer(metrics.Registry),
		saturation.WithScaleDownStabilization(opts.ScaleDownStabilization, defaults.Shipped().ScaleDownStepFraction),
		saturation.WithReadiness(ready.ready, saturation.DefaultReadinessTimeout),
		// Read only while WVA_LIMITED_MODE is on; the first read starts the Node informer (the
		// Pod informer is created with the collector's lister, above).
		saturation.WithGPUInventory(inventory.NewReader(mgr.GetClient())))
	if err != nil {
		return err
	}
	if err := mgr.Add(engine); err != nil {
		return fmt.Errorf("adding the saturation engine: %w", err)
	}

	// Direct mode reads the cache first and, only when a write is needed, past it (see
	// actuator.DirectClient and actuator.WithCache); it writes through the client.
	act, err := actuator.New(metrics.Registry, directClient{Reader: mgr.GetAPIReader(), SubResourceClientConstructor: mgr.GetClient()},
		actuator.WithCache(mgr.GetClient()), actuator.WithClock(clk))
	if err != nil {
		return fmt.Errorf("creating the actuator: %w", err)
	}
	// Scale from zero: the demand of the models the engine holds at zero, every second.
	if err := mgr.Add(engine.FromZero(source, act, saturation.DefaultFromZeroPeriod)); err != nil {
		return fmt.Errorf("adding the scale-from-zero loop: %w", err)
	}
	if err := controller.NewVariantAutoscalingReconciler(mgr.GetClient(), recorder, common.DecisionCache, common.DefaultVACache,
		common.DecisionTrigger, controller.WithActuator(act), controller.WithClock(clk),
		controller.WithMaxConcurrentReconciles(opts.MaxConcurrentReconciles),
		controller.WithScalerPrometheusAddress(prometheusURL),
		controller.WithAwaitingDecisionGrace(opts.AwaitingDecisionGrace)).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the VariantAutoscaling controller: %w", err)
	}
	if err := configMaps.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the ConfigMap controller: %w", err)
	}

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	logger.Info("Starting manager", "analyzer", a.Name(), "leaderElection", opts.LeaderElect,
		"watchNamespace", opts.WatchNamespace, "configNamespace", opts.ConfigMaps.Namespace)
	return mgr.Start(ctx)
}

// directClient is the actuator's client: uncached reads, and the manager's client for writes
// of the scale subresource.
type directClient struct {
	client.Reader
	client.SubResourceClientConstructor
}

// managerOptions maps Options onto the controller-runtime manager's options.
func managerOptions(opts Options, scheme *runtime.Scheme) ctrl.Options {
	var tlsOpts []func(*tls.Config)
	if !opts.EnableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	ms := metricsserver.Options{BindAddress: opts.MetricsBindAddress, SecureServing: opts.MetricsSecure, TLSOpts: tlsOpts}
	if opts.MetricsSecure {
		ms.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	if opts.MetricsCertPath != "" {
		ms.CertDir, ms.CertName, ms.KeyName = opts.MetricsCertPath, opts.MetricsCertName, opts.MetricsCertKey
	}

	cacheOpts := cache.Options{
		// Only the fields the manager reads are kept (see trimForCache).
		DefaultTransform: trimForCache,
		// The ConfigMaps WVA reads live in its own namespace; cache no others.
		ByObject: map[client.Object]cache.ByObject{
			&corev1.ConfigMap{}: {Namespaces: map[string]cache.Config{opts.ConfigMaps.Namespace: {}}},
		},
	}
	if opts.WatchNamespace != "" {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{opts.WatchNamespace: {}}
	}
	return ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       ms,
		HealthProbeBindAddress:        opts.HealthProbeBindAddress,
		PprofBindAddress:              opts.PprofBindAddress,
		LeaderElection:                opts.LeaderElect,
		LeaderElectionID:              opts.LeaderElectionID,
		LeaderElectionNamespace:       opts.ConfigMaps.Namespace,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &opts.LeaderElectionLeaseDuration,
		RenewDeadline:                 &opts.LeaderElectionRenewDeadline,
		RetryPeriod:                   &opts.LeaderElectionRetryPeriod,
		Cache:                         cacheOpts,
	}
}
