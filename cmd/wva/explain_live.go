package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/explain"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	promsource "github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector/prometheus"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/controller"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/saturation"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// liveOptions selects the VariantAutoscaling to explain on a live cluster and how to reach the
// cluster and its Prometheus.
type liveOptions struct {
	// Kubeconfig and Context locate the cluster (client-go's loading rules: an empty Kubeconfig
	// means $KUBECONFIG or ~/.kube/config).
	Kubeconfig, Context string
	// Namespace and Name are the VariantAutoscaling's; its model's VariantAutoscalings in the
	// namespace are captured together.
	Namespace, Name string
	// PrometheusURL, when set, replaces the URL of the main ConfigMap and the environment; the
	// other connection settings then come from the environment only (the ConfigMap's describe
	// the connection from inside the cluster).
	PrometheusURL string
	// PrometheusAllowHTTP accepts a plain-HTTP Prometheus URL, as the manager's flag does.
	PrometheusAllowHTTP bool
	// Analyzer, MetricsWindow and the gateway metric are the manager's flags of the same names.
	Analyzer      string
	MetricsWindow time.Duration
	GatewayMetric promsource.GatewayMetric
	// ConfigMaps locates the manager's ConfigMaps (POD_NAMESPACE and the *_CONFIG_MAP_NAME
	// variables, as for the manager; --config-namespace overrides the namespace).
	ConfigMaps controller.ConfigMapNames
}

// liveRestConfig loads the cluster's client configuration from o.Kubeconfig and o.Context, and
// the context's namespace.
func liveRestConfig(o liveOptions) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.Kubeconfig != "" {
		rules.ExplicitPath = o.Kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: o.Context}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("loading the kubeconfig: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("reading the kubeconfig context's namespace: %w", err)
	}
	return cfg, ns, nil
}

// captureLive reads what the engine would see for o's VariantAutoscaling at now: the
// VariantAutoscalings of its model in its namespace, their Deployments and pods, and the
// PromQL results through the production collector, and runs one engine cycle over them to
// build the analyzer's input. It returns that input as a snapshot.
func captureLive(ctx context.Context, cfg *rest.Config, o liveOptions, getenv func(string) string, now time.Time) (explain.Snapshot, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return explain.Snapshot{}, fmt.Errorf("building the client scheme: %w", err)
	}
	if err := wvav1alpha1.AddToScheme(scheme); err != nil {
		return explain.Snapshot{}, fmt.Errorf("building the client scheme: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return explain.Snapshot{}, fmt.Errorf("connecting to the cluster: %w", err)
	}

	key := types.NamespacedName{Namespace: o.Namespace, Name: o.Name}
	va := &wvav1alpha1.VariantAutoscaling{}
	if err := c.Get(ctx, key, va); err != nil {
		if apierrors.IsNotFound(err) {
			return explain.Snapshot{}, fmt.Errorf("VariantAutoscaling %s not found", key)
		}
		return explain.Snapshot{}, fmt.Errorf("reading VariantAutoscaling %s: %w", key, err)
	}
	var list wvav1alpha1.VariantAutoscalingList
	if err := c.List(ctx, &list, client.InNamespace(o.Namespace)); err != nil {
		return explain.Snapshot{}, fmt.Errorf("listing the VariantAutoscalings of namespace %s: %w", o.Namespace, err)
	}
	var vas vaList
	for _, v := range list.Items {
		if v.Spec.ModelID == va.Spec.ModelID && v.DeletionTimestamp == nil {
			vas = append(vas, v)
		}
	}
	if len(vas) == 0 {
		return explain.Snapshot{}, fmt.Errorf("VariantAutoscaling %s is being deleted: the engine no longer decides for it", key)
	}

	// The ConfigMaps, loaded by the manager's own reconciler.
	global := common.NewGlobalConfig()
	cms := controller.NewConfigMapReconciler(c, events.NewFakeRecorder(100), global, o.ConfigMaps)
	for _, name := range []string{o.ConfigMaps.Main, o.ConfigMaps.Saturation, o.ConfigMaps.ServiceClasses} {
		if name == "" {
			continue
		}
		req := ctrl.Request{NamespacedName: types.NamespacedName{Namespace: o.ConfigMaps.Namespace, Name: name}}
		if _, err := cms.Reconcile(ctx, req); err != nil {
			return explain.Snapshot{}, fmt.Errorf("loading ConfigMap %s: %w", req.NamespacedName, err)
		}
	}

	promCfg, err := livePrometheusConfig(ctx, c, o, getenv)
	if err != nil {
		return explain.Snapshot{}, err
	}
	api, err := promsource.NewAPI(promCfg)
	if err != nil {
		return explain.Snapshot{}, fmt.Errorf("Prometheus client for %s: %w", promCfg.RedactedURL(), err)
	}
	source := promsource.New(api, c, promsource.WithQueryTimeout(promCfg.EffectiveQueryTimeout()),
		promsource.WithWindow(o.MetricsWindow), promsource.WithGatewayMetric(o.GatewayMetric))

	inner, err := analysis.New(o.Analyzer)
	if err != nil {
		return explain.Snapshot{}, fmt.Errorf("--analyzer: %w", err)
	}
	rec := &recordingAnalyzer{inner: inner}
	// One engine cycle, as the manager runs it, with its decisions kept in this process: the
	// engine builds the analyzer's input (SLO resolution, perfParms, bounds, start-up delays).
	collect := &collectOnce{source: source}
	eng, err := saturation.New(collect, vas, global, common.NewInternalDecisionCache(),
		common.NewDecisionTrigger(), saturation.WithAnalyzer(rec), saturation.WithRegisterer(prometheus.NewRegistry()),
		saturation.WithClock(clocktesting.NewFakeClock(now)))
	if err != nil {
		return explain.Snapshot{}, fmt.Errorf("building the engine: %w", err)
	}
	if err := eng.RunOnce(ctx); err != nil {
		return explain.Snapshot{}, fmt.Errorf("running an engine cycle: %w", err)
	}
	if collect.err != nil {
		return explain.Snapshot{}, fmt.Errorf("collecting the metrics: %w", collect.err)
	}
	if len(rec.models) == 0 {
		return explain.Snapshot{}, fmt.Errorf("the engine has nothing to decide for model %q in namespace %s: "+
			"no VariantAutoscaling of it has an existing scale target Deployment", va.Spec.ModelID, o.Namespace)
	}
	capturedAt := now.UTC()
	snap := explain.Snapshot{
		Analyzer:     inner.Name(),
		CapturedAt:   &capturedAt,
		CapturedFrom: fmt.Sprintf("VariantAutoscaling %s, model %q, Prometheus %s", key, va.Spec.ModelID, promCfg.RedactedURL()),
		Models:       rec.models,
	}
	if sat := global.GetSaturationConfig(); len(sat) > 0 {
		snap.SaturationConfig = sat
	}
	return snap, nil
}

// collectOnce is the collector the engine runs in captureLive: it remembers a collection error,
// which the engine only logs before holding every decision.
type collectOnce struct {
	source *promsource.Source
	err    error
}

// Collect runs the source and keeps its error.
func (c *collectOnce) Collect(ctx context.Context, targets []collector.Target, now time.Time) (collector.Snapshot, error) {
	snap, err := c.source.Collect(ctx, targets, now)
	c.err = err
	return snap, err
}

// livePrometheusConfig builds the Prometheus connection as the manager does (environment over
// the main ConfigMap), or from --prometheus-url and the environment when the URL is given.
func livePrometheusConfig(ctx context.Context, c client.Reader, o liveOptions, getenv func(string) string) (promsource.Config, error) {
	var data map[string]string
	from := "--prometheus-url and the environment"
	if o.PrometheusURL == "" {
		key := types.NamespacedName{Namespace: o.ConfigMaps.Namespace, Name: o.ConfigMaps.Main}
		cm := &corev1.ConfigMap{}
		switch err := c.Get(ctx, key, cm); {
		case apierrors.IsNotFound(err):
			from = fmt.Sprintf("the environment (ConfigMap %s does not exist)", key)
		case err != nil:
			return promsource.Config{}, fmt.Errorf("reading ConfigMap %s for the Prometheus settings: %w", key, err)
		default:
			data, from = cm.Data, "the environment and ConfigMap "+key.String()
		}
	}
	cfg, _ := promsource.ConfigFromEnvAndConfigMap(getenv, data)
	if o.PrometheusURL != "" {
		cfg.BaseURL = o.PrometheusURL
	}
	if cfg.BaseURL == "" {
		return promsource.Config{}, fmt.Errorf("no Prometheus URL in %s: pass --prometheus-url (e.g. of a port-forward)", from)
	}
	cfg.AllowHTTP = cfg.AllowHTTP || o.PrometheusAllowHTTP
	if err := cfg.Validate(); err != nil {
		if strings.HasPrefix(cfg.BaseURL, "http:") && !cfg.AllowHTTP {
			return promsource.Config{}, fmt.Errorf("Prometheus settings from %s: %w (pass --prometheus-allow-http for a plain-HTTP URL)", from, err)
		}
		return promsource.Config{}, fmt.Errorf("Prometheus settings from %s: %w", from, err)
	}
	return cfg, nil
}

// vaList is the engine's VASource over the captured VariantAutoscalings.
type vaList []wvav1alpha1.VariantAutoscaling

// ReadyVAs returns copies of the VariantAutoscalings.
func (l vaList) ReadyVAs() []wvav1alpha1.VariantAutoscaling {
	out := make([]wvav1alpha1.VariantAutoscaling, len(l))
	for i := range l {
		l[i].DeepCopyInto(&out[i])
	}
	return out
}

// recordingAnalyzer passes the engine's calls to inner and keeps each model's input.
type recordingAnalyzer struct {
	inner analysis.Analyzer

	mu     sync.Mutex
	models []analysis.ModelState
}

// Name returns the inner analyzer's name.
func (r *recordingAnalyzer) Name() string { return r.inner.Name() }

// Analyze records m and runs the inner analyzer.
func (r *recordingAnalyzer) Analyze(m analysis.ModelState, cfg interfaces.SaturationScalingConfig, now time.Time) analysis.Result {
	r.record(m)
	return r.inner.Analyze(m, cfg, now)
}

// AnalyzeWithState records m and runs the inner analyzer with state when it keeps any.
func (r *recordingAnalyzer) AnalyzeWithState(m analysis.ModelState, cfg interfaces.SaturationScalingConfig, now time.Time, state any) (analysis.Result, any) {
	r.record(m)
	if sa, ok := r.inner.(analysis.StatefulAnalyzer); ok {
		return sa.AnalyzeWithState(m, cfg, now, state)
	}
	return r.inner.Analyze(m, cfg, now), nil
}

func (r *recordingAnalyzer) record(m analysis.ModelState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.models = append(r.models, m)
}
