package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/config"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// ConfigMapNames locates the autoscaler's ConfigMaps.
type ConfigMapNames struct {
	// Namespace is the controller's namespace, where both ConfigMaps live.
	Namespace string
	// Main is the main ConfigMap (GLOBAL_OPT_INTERVAL, Prometheus connection).
	Main string
	// Saturation is the saturation thresholds ConfigMap.
	Saturation string
	// ServiceClasses is the service-class ConfigMap (SLO targets per model).
	ServiceClasses string
}

// DefaultConfigMapNames returns the default names in the default namespace.
func DefaultConfigMapNames() ConfigMapNames {
	return ConfigMapNames{Namespace: config.DefaultNamespace, Main: config.DefaultMainConfigMapName, Saturation: config.DefaultSaturationConfigMapName,
		ServiceClasses: config.DefaultServiceClassesConfigMapName}
}

// all returns the names of the ConfigMaps, without empty ones.
func (n ConfigMapNames) all() []string {
	var out []string
	for _, name := range []string{n.Main, n.Saturation, n.ServiceClasses} {
		if name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// ConfigMapReconciler loads the autoscaler's ConfigMaps into the shared configuration whenever
// they change. A rejected value is reported (event and log) and the last good value stays.
type ConfigMapReconciler struct {
	client   client.Client
	recorder events.EventRecorder
	config   *common.GlobalConfig
	names    ConfigMapNames

	mu       sync.Mutex
	unpassed map[string]bool // ConfigMaps not yet through a first pass
	loaded   chan struct{}   // closed when unpassed becomes empty
}

// NewConfigMapReconciler returns a reconciler that writes the ConfigMaps named by names into cfg.
func NewConfigMapReconciler(c client.Client, recorder events.EventRecorder, cfg *common.GlobalConfig, names ConfigMapNames) *ConfigMapReconciler {
	unpassed := map[string]bool{}
	for _, name := range names.all() {
		unpassed[name] = true
	}
	return &ConfigMapReconciler{client: c, recorder: recorder, config: cfg, names: names, unpassed: unpassed, loaded: make(chan struct{})}
}

// Loaded returns a channel that is closed once every ConfigMap have been through a first pass:
// loaded, rejected, found missing or failed to read (a failed read is retried; the loop is not
// held up by it). The controller makes that pass when it starts, whether the ConfigMaps exist
// or not.
func (r *ConfigMapReconciler) Loaded() <-chan struct{} { return r.loaded }

func (r *ConfigMapReconciler) passed(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.unpassed[name] {
		return
	}
	delete(r.unpassed, name)
	if len(r.unpassed) == 0 {
		close(r.loaded)
	}
}

// SetupWithManager watches the ConfigMaps, and no others, and queues each once at start so
// that a missing ConfigMap, which sends no event, is still passed over (see Loaded).
func (r *ConfigMapReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("configmap").
		For(&corev1.ConfigMap{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			return o.GetNamespace() == r.names.Namespace && slices.Contains(r.names.all(), o.GetName())
		}))).
		WatchesRawSource(source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
			for _, name := range r.names.all() {
				q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: r.names.Namespace, Name: name}})
			}
			return nil
		})).
		Complete(r)
}

// Reconcile loads one ConfigMap into the shared configuration.
func (r *ConfigMapReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	logger := log.FromContext(ctx)
	defer r.passed(req.Name)
	cm := &corev1.ConfigMap{}
	if err := r.client.Get(ctx, req.NamespacedName, cm); err != nil {
		if apierrors.IsNotFound(err) {
			logger.Info("ConfigMap is gone; the last loaded configuration stays in force", "configMap", req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("getting ConfigMap %s: %w", req.NamespacedName, err)
	}
	switch req.Name {
	case r.names.Main:
		r.loadMain(ctx, cm)
	case r.names.Saturation:
		r.loadSaturation(ctx, cm)
	case r.names.ServiceClasses:
		r.loadServiceClasses(ctx, cm)
	}
	return ctrl.Result{}, nil
}

func (r *ConfigMapReconciler) loadMain(ctx context.Context, cm *corev1.ConfigMap) {
	logger := log.FromContext(ctx)
	r.loadGPULimits(ctx, cm)
	raw, ok := cm.Data[config.OptimizationIntervalKey]
	interval := ""
	if ok {
		d, err := config.ParseOptimizationInterval(raw)
		if err != nil {
			err = keyErr(config.OptimizationIntervalKey, err)
			invalidConfigurationEvent(r.recorder, cm, err)
			logger.Error(err, "Rejected configuration value", "configMap", klog.KObj(cm), "key", config.OptimizationIntervalKey,
				"keeping", r.config.GetOptimizationInterval())
			return
		}
		interval = d.String()
	}
	if interval == r.config.GetOptimizationInterval() {
		return
	}
	r.config.UpdateOptimizationConfig(interval)
	shown := interval
	if shown == "" {
		shown = config.DefaultOptimizationInterval.String() + " (default)"
	}
	configurationAppliedEvent(r.recorder, cm, "optimization interval "+shown)
	logger.Info("Loaded optimization interval", "configMap", klog.KObj(cm), "interval", shown)
}

func (r *ConfigMapReconciler) loadSaturation(ctx context.Context, cm *corev1.ConfigMap) {
	logger := log.FromContext(ctx)
	previous := r.config.GetSaturationConfig()
	parsed, errs := config.ParseSaturationConfig(cm.Data, previous)
	for _, e := range errs {
		invalidConfigurationEvent(r.recorder, cm, e)
		logger.Error(e.Err, "Rejected saturation config entry", "configMap", klog.KObj(cm), "key", e.Key, "keptPrevious", previous != nil && hasKey(previous, e.Key))
	}
	if previous != nil && maps.Equal(parsed, previous) {
		return
	}
	r.config.UpdateSaturationConfig(parsed)
	keys := slices.Sorted(maps.Keys(parsed))
	configurationAppliedEvent(r.recorder, cm, "saturation config entries ["+strings.Join(keys, ", ")+"]")
	logger.Info("Loaded saturation config", "configMap", klog.KObj(cm), "entries", keys, "rejected", len(errs))
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

func (r *ConfigMapReconciler) loadServiceClasses(ctx context.Context, cm *corev1.ConfigMap) {
	logger := log.FromContext(ctx)
	previous := r.config.GetServiceClasses()
	parsed, errs := config.ParseServiceClasses(cm.Data, previous)
	for _, e := range errs {
		invalidConfigurationEvent(r.recorder, cm, e)
		logger.Error(e.Err, "Rejected service class entry", "configMap", klog.KObj(cm), "key", e.Key, "keptPrevious", previous != nil && hasKey(previous, e.Key))
	}
	if previous != nil && maps.EqualFunc(parsed, previous, func(a, b interfaces.ServiceClass) bool {
		return a.Name == b.Name && a.Priority == b.Priority && slices.Equal(a.Data, b.Data)
	}) {
		return
	}
	r.config.UpdateServiceClasses(parsed)
	keys := slices.Sorted(maps.Keys(parsed))
	configurationAppliedEvent(r.recorder, cm, "service classes ["+strings.Join(keys, ", ")+"]")
	logger.Info("Loaded service classes", "configMap", klog.KObj(cm), "entries", keys, "rejected", len(errs))
}
