package main

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	promsource "github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector/prometheus"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/controller"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/defaults"
)

// Options is everything the manager is configured with. Flags and environment variables are
// read into it in main and nowhere else.
type Options struct {
	MetricsBindAddress     string
	MetricsSecure          bool
	MetricsCertPath        string
	MetricsCertName        string
	MetricsCertKey         string
	EnableHTTP2            bool
	HealthProbeBindAddress string
	// PprofBindAddress serves net/http/pprof (controller-runtime's pprof server); "0" or empty
	// disables it. For profiling a large fleet: bind it to localhost only.
	PprofBindAddress string

	LeaderElect                 bool
	LeaderElectionID            string
	LeaderElectionLeaseDuration time.Duration
	LeaderElectionRenewDeadline time.Duration
	LeaderElectionRetryPeriod   time.Duration

	WatchNamespace    string
	RESTClientTimeout time.Duration
	// KubeAPIQPS and KubeAPIBurst are the client-side rate limit of the manager's API server
	// requests (client-go's defaults, 5 and 10, throttle a fleet of thousands of variants).
	KubeAPIQPS   float64
	KubeAPIBurst int
	// MaxConcurrentReconciles is the number of VariantAutoscalings reconciled in parallel.
	MaxConcurrentReconciles int
	// AwaitingDecisionGrace is how long a VariantAutoscaling whose target resolved waits for
	// its first decision before its status is written without one (0: at once).
	AwaitingDecisionGrace time.Duration

	// ConfigMaps locates the main, saturation and service-class ConfigMaps (env POD_NAMESPACE,
	// CONFIG_MAP_NAME, SATURATION_CONFIG_MAP_NAME, SERVICE_CLASSES_CONFIG_MAP_NAME).
	ConfigMaps controller.ConfigMapNames

	// Analyzer names the saturation analyzer: capacity (default), slo or v1.
	Analyzer string
	// PrometheusAllowHTTP permits a plain-HTTP Prometheus URL (local use only).
	PrometheusAllowHTTP bool
	// ScaleDownStabilization is how long a lower target must be recommended before scale-down.
	ScaleDownStabilization time.Duration
	// MetricsWindow is the PromQL range over which the peak of each saturation signal is taken,
	// and over which the per-model rates and latency histograms are read.
	MetricsWindow time.Duration
	// GatewayMetric is the inference gateway's (EPP's) request counter read as each model's
	// arrival rate where present; an empty metric reads none.
	GatewayMetric promsource.GatewayMetric
}

// LeaderElectionID is the Lease name the manager replicas compete for.
const LeaderElectionID = "72dd1cf1.llm-d.ai"

// DefaultKubeAPIQPS and DefaultKubeAPIBurst are sized for 10,000 VariantAutoscalings: a
// decision change writes each one's status (and in Direct mode its scale subresource), so the
// first decisions of 10,000 take 50 s at 200 writes/s (the burst absorbs the first 400). On the
// API server that is 200 small mutating requests/s, about 1-2 of the seats of the
// workload-low priority level (245 by default) at a few ms each, and 200 etcd writes/s of ~4 KB;
// a cycle whose decisions did not change sends none (docs/scale.md, "API load and latency").
const (
	DefaultKubeAPIQPS   = 200
	DefaultKubeAPIBurst = 400
)

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	shipped := defaults.Shipped()
	return Options{
		MetricsBindAddress:          "0",
		MetricsSecure:               true,
		MetricsCertName:             "tls.crt",
		MetricsCertKey:              "tls.key",
		HealthProbeBindAddress:      ":8081",
		PprofBindAddress:            "0",
		LeaderElectionID:            LeaderElectionID,
		LeaderElectionLeaseDuration: 60 * time.Second,
		LeaderElectionRenewDeadline: 50 * time.Second,
		LeaderElectionRetryPeriod:   10 * time.Second,
		RESTClientTimeout:           60 * time.Second,
		KubeAPIQPS:                  DefaultKubeAPIQPS,
		KubeAPIBurst:                DefaultKubeAPIBurst,
		MaxConcurrentReconciles:     16,
		AwaitingDecisionGrace:       2 * time.Minute,
		ConfigMaps:                  controller.DefaultConfigMapNames(),
		Analyzer:                    shipped.Analyzer,
		MetricsWindow:               shipped.MetricsWindow,
		GatewayMetric:               promsource.DefaultGatewayMetric,
		ScaleDownStabilization:      shipped.ScaleDownStabilization,
	}
}

// BindFlags registers the manager's flags on fs, with o's values as defaults.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.MetricsBindAddress, "metrics-bind-address", o.MetricsBindAddress,
		"Address of the metrics endpoint (:8443 for HTTPS, :8080 for HTTP, 0 to disable).")
	fs.BoolVar(&o.MetricsSecure, "metrics-secure", o.MetricsSecure,
		"Serve metrics over HTTPS with authentication and authorization.")
	fs.StringVar(&o.MetricsCertPath, "metrics-cert-path", o.MetricsCertPath,
		"Directory of the metrics server certificate; empty generates a self-signed one.")
	fs.StringVar(&o.MetricsCertName, "metrics-cert-name", o.MetricsCertName, "Metrics server certificate file name.")
	fs.StringVar(&o.MetricsCertKey, "metrics-cert-key", o.MetricsCertKey, "Metrics server key file name.")
	fs.BoolVar(&o.EnableHTTP2, "enable-http2", o.EnableHTTP2,
		"Allow HTTP/2 on the metrics server (off by default against HTTP/2 rapid-reset attacks).")
	fs.StringVar(&o.HealthProbeBindAddress, "health-probe-bind-address", o.HealthProbeBindAddress,
		"Address of the /healthz and /readyz probes.")
	fs.StringVar(&o.PprofBindAddress, "pprof-bind-address", o.PprofBindAddress,
		"Address of the net/http/pprof endpoints, e.g. 127.0.0.1:6060 (0 to disable; unauthenticated: keep it off a shared network).")
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect,
		"Elect a leader so that only one replica decides and actuates.")
	fs.DurationVar(&o.LeaderElectionLeaseDuration, "leader-election-lease-duration", o.LeaderElectionLeaseDuration, "Leader election lease duration.")
	fs.DurationVar(&o.LeaderElectionRenewDeadline, "leader-election-renew-deadline", o.LeaderElectionRenewDeadline, "Leader election renew deadline.")
	fs.DurationVar(&o.LeaderElectionRetryPeriod, "leader-election-retry-period", o.LeaderElectionRetryPeriod, "Leader election retry period.")
	fs.StringVar(&o.WatchNamespace, "watch-namespace", o.WatchNamespace,
		"Only watch VariantAutoscalings, Deployments and Pods in this namespace (empty: all namespaces).")
	fs.DurationVar(&o.RESTClientTimeout, "rest-client-timeout", o.RESTClientTimeout, "Timeout of API server requests.")
	fs.Float64Var(&o.KubeAPIQPS, "kube-api-qps", o.KubeAPIQPS, "Steady rate of API server requests per second the manager may send.")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", o.KubeAPIBurst, "Burst of API server requests above --kube-api-qps.")
	fs.IntVar(&o.MaxConcurrentReconciles, "max-concurrent-reconciles", o.MaxConcurrentReconciles,
		"Number of VariantAutoscalings reconciled in parallel.")
	fs.DurationVar(&o.AwaitingDecisionGrace, "awaiting-decision-grace", o.AwaitingDecisionGrace,
		"How long a VariantAutoscaling whose target exists waits for the engine's first decision before its status says AwaitingDecision; "+
			"within it the first decision is its first status write (0 writes AwaitingDecision at once).")
	fs.StringVar(&o.Analyzer, "analyzer", o.Analyzer, fmt.Sprintf("Saturation analyzer, one of %v.", analysis.Names()))
	fs.BoolVar(&o.PrometheusAllowHTTP, "prometheus-allow-http", o.PrometheusAllowHTTP,
		"Allow a plain-HTTP Prometheus URL (local development only).")
	fs.DurationVar(&o.ScaleDownStabilization, "scale-down-stabilization", o.ScaleDownStabilization,
		"Scale down only to the highest target recommended within this window (0 disables).")
	fs.DurationVar(&o.MetricsWindow, "metrics-window", o.MetricsWindow,
		"Range over which the peak of each vLLM saturation signal is read: longer resists spikes, shorter reacts faster.")
	fs.StringVar(&o.GatewayMetric.Metric, "gateway-request-metric", o.GatewayMetric.Metric,
		"Inference gateway (EPP) request counter read as each model's arrival rate where present; empty reads none.")
	fs.StringVar(&o.GatewayMetric.ModelLabel, "gateway-model-label", o.GatewayMetric.ModelLabel,
		"Label of --gateway-request-metric holding the served model name (spec.modelID).")
}

// ApplyEnv reads the environment variables the manager honours.
func (o *Options) ApplyEnv(getenv func(string) string) {
	if v := getenv("POD_NAMESPACE"); v != "" {
		o.ConfigMaps.Namespace = v
	}
	if v := getenv("CONFIG_MAP_NAME"); v != "" {
		o.ConfigMaps.Main = v
	}
	if v := getenv("SATURATION_CONFIG_MAP_NAME"); v != "" {
		o.ConfigMaps.Saturation = v
	}
	if v := getenv("SERVICE_CLASSES_CONFIG_MAP_NAME"); v != "" {
		o.ConfigMaps.ServiceClasses = v
	}
}

// Validate reports every option that cannot work.
func (o *Options) Validate() error {
	var errs []error
	if _, err := analysis.New(o.Analyzer); err != nil {
		errs = append(errs, fmt.Errorf("--analyzer: %w", err))
	}
	if o.LeaderElectionRenewDeadline >= o.LeaderElectionLeaseDuration {
		errs = append(errs, fmt.Errorf("--leader-election-renew-deadline (%s) must be shorter than --leader-election-lease-duration (%s)",
			o.LeaderElectionRenewDeadline, o.LeaderElectionLeaseDuration))
	}
	if o.ConfigMaps.Namespace == "" {
		errs = append(errs, errors.New("the controller namespace (POD_NAMESPACE) must not be empty"))
	}
	if o.GatewayMetric.Metric != "" {
		if err := o.GatewayMetric.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("--gateway-request-metric/--gateway-model-label: %w", err))
		}
	}
	if o.MetricsWindow < time.Second {
		errs = append(errs, fmt.Errorf("--metrics-window (%s) must be at least 1s", o.MetricsWindow))
	}
	if o.ScaleDownStabilization < 0 {
		errs = append(errs, errors.New("--scale-down-stabilization must not be negative"))
	}
	if o.KubeAPIQPS <= 0 {
		errs = append(errs, errors.New("--kube-api-qps must be positive"))
	}
	if o.KubeAPIBurst < 1 {
		errs = append(errs, errors.New("--kube-api-burst must be at least 1"))
	}
	if o.MaxConcurrentReconciles < 1 {
		errs = append(errs, errors.New("--max-concurrent-reconciles must be at least 1"))
	}
	if o.AwaitingDecisionGrace < 0 {
		errs = append(errs, errors.New("--awaiting-decision-grace must not be negative"))
	}
	if o.RESTClientTimeout <= 0 {
		errs = append(errs, errors.New("--rest-client-timeout must be positive"))
	}
	return errors.Join(errs...)
}
