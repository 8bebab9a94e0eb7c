package promsource

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"k8s.io/utils/clock"
)

// Keys of the Prometheus connection settings, used both as environment variables and as keys of
// the main ConfigMap (SPEC §5.1, §7.1).
const (
	// EnvBaseURL is the Prometheus URL; its presence in the environment selects the environment
	// over the ConfigMap.
	EnvBaseURL = "PROMETHEUS_BASE_URL"
	// EnvInsecureSkipVerify ("true") disables server certificate verification.
	EnvInsecureSkipVerify = "PROMETHEUS_TLS_INSECURE_SKIP_VERIFY"
	// EnvCACertPath is a PEM CA bundle for the server certificate.
	EnvCACertPath = "PROMETHEUS_CA_CERT_PATH"
	// EnvClientCertPath is a PEM client certificate for mutual TLS.
	EnvClientCertPath = "PROMETHEUS_CLIENT_CERT_PATH"
	// EnvClientKeyPath is the PEM key of EnvClientCertPath.
	EnvClientKeyPath = "PROMETHEUS_CLIENT_KEY_PATH"
	// EnvServerName is the name the server certificate is verified against (and SNI).
	EnvServerName = "PROMETHEUS_SERVER_NAME"
	// EnvBearerToken is a literal bearer token; it wins over EnvTokenPath.
	EnvBearerToken = "PROMETHEUS_BEARER_TOKEN"
	// EnvTokenPath is read from the environment only, never from the ConfigMap: a ConfigMap
	// editor could otherwise have any file the controller can read sent as a bearer token.
	EnvTokenPath = "PROMETHEUS_TOKEN_PATH"
	// EnvAllowHTTP ("true") lets BaseURL use plain http; WVA only, for local development.
	EnvAllowHTTP = "PROMETHEUS_ALLOW_HTTP"
)

// DefaultQueryTimeout bounds each PromQL query when Config.QueryTimeout is zero.
const DefaultQueryTimeout = 5 * time.Second

// tokenRefreshPeriod is how long a token read from TokenPath is used before the file is read
// again. Kubelet rotates projected service-account tokens well before they expire (at 80% of
// their lifetime, at least an hour), so a minute is ample; client-go uses the same period.
const tokenRefreshPeriod = time.Minute

// Config is how to reach Prometheus.
type Config struct {
	// BaseURL is the Prometheus (or Thanos querier) URL, e.g. https://prometheus.monitoring:9090.
	// A path prefix is kept.
	BaseURL string
	// CACertPath is a PEM bundle of the CAs trusted for the server certificate; empty means the
	// system roots.
	CACertPath string
	// ClientCertPath is a PEM client certificate for mutual TLS; set with ClientKeyPath.
	ClientCertPath string
	// ClientKeyPath is the PEM private key of ClientCertPath.
	ClientKeyPath string
	// ServerName overrides the name the server certificate is verified against (and SNI).
	ServerName string
	// BearerToken is sent as "Authorization: Bearer <token>"; it wins over TokenPath.
	BearerToken string
	// TokenPath is a file holding the bearer token (e.g. the service-account token); it is read
	// again at most every minute, so rotated tokens are picked up.
	TokenPath string
	// InsecureSkipVerify disables verification of the server certificate.
	InsecureSkipVerify bool
	// AllowHTTP accepts a plain http BaseURL. Only for a local Prometheus: queries and the
	// bearer token then travel unencrypted.
	AllowHTTP bool
	// QueryTimeout bounds each query; 0 means DefaultQueryTimeout.
	QueryTimeout time.Duration
	// MaxResponseBytes bounds each query's response body; 0 means DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// MaxSeries bounds the series of each query's result; 0 means DefaultMaxSeries.
	MaxSeries int
}

// Validate checks the settings without touching the filesystem (NewAPI reads the files).
func (c Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.BaseURL) == "" {
		errs = append(errs, fmt.Errorf("%s is empty", EnvBaseURL))
	} else if u, err := url.Parse(c.BaseURL); err != nil {
		errs = append(errs, fmt.Errorf("parsing %s %q: %w", EnvBaseURL, c.BaseURL, err))
	} else {
		switch {
		case u.Scheme == "https":
		case u.Scheme == "http" && c.AllowHTTP:
		case u.Scheme == "http":
			errs = append(errs, fmt.Errorf("%s %q uses plain http, which would send queries and the bearer token unencrypted: "+
				"use https, or for a local Prometheus without TLS set %s=true (environment or main ConfigMap)",
				EnvBaseURL, c.BaseURL, EnvAllowHTTP))
		default:
			errs = append(errs, fmt.Errorf("%s %q must be an https URL such as https://prometheus.monitoring.svc:9090", EnvBaseURL, c.BaseURL))
		}
		if u.Host == "" {
			errs = append(errs, fmt.Errorf("%s %q has no host", EnvBaseURL, c.BaseURL))
		}
	}
	if (c.ClientCertPath == "") != (c.ClientKeyPath == "") {
		errs = append(errs, fmt.Errorf("%s and %s must be set together (client certificate %q, key %q)",
			EnvClientCertPath, EnvClientKeyPath, c.ClientCertPath, c.ClientKeyPath))
	}
	if c.QueryTimeout < 0 {
		errs = append(errs, fmt.Errorf("query timeout %s is negative", c.QueryTimeout))
	}
	errs = append(errs, c.validateLimits()...)
	if len(errs) > 0 {
		return fmt.Errorf("invalid Prometheus configuration: %w", errors.Join(errs...))
	}
	return nil
}

// EffectiveQueryTimeout returns QueryTimeout, or DefaultQueryTimeout when it is zero.
func (c Config) EffectiveQueryTimeout() time.Duration {
	if c.QueryTimeout > 0 {
		return c.QueryTimeout
	}
	return DefaultQueryTimeout
}

// ConfigFromEnv builds a Config from the environment (getenv is os.Getenv outside tests). ok is
// false when PROMETHEUS_BASE_URL is empty: the caller then falls back to the ConfigMap. Boolean
// variables accept strconv.ParseBool spellings; anything else counts as false, the safe value
// for both (an http URL then fails Validate with a hint).
func ConfigFromEnv(getenv func(string) string) (Config, bool) {
	return configFrom(getenv, true)
}

// ConfigFromConfigMap builds a Config from the data of the main ConfigMap, with the same keys as
// ConfigFromEnv except PROMETHEUS_TOKEN_PATH, which is honoured only from the environment. ok is
// false when PROMETHEUS_BASE_URL is missing or empty.
func ConfigFromConfigMap(data map[string]string) (Config, bool) {
	return configFrom(func(k string) string { return data[k] }, false)
}

func configFrom(get func(string) string, tokenPath bool) (Config, bool) {
	val := func(k string) string { return strings.TrimSpace(get(k)) }
	flag := func(k string) bool {
		b, err := strconv.ParseBool(val(k))
		return err == nil && b
	}
	c := Config{
		BaseURL:            val(EnvBaseURL),
		CACertPath:         val(EnvCACertPath),
		ClientCertPath:     val(EnvClientCertPath),
		ClientKeyPath:      val(EnvClientKeyPath),
		ServerName:         val(EnvServerName),
		BearerToken:        val(EnvBearerToken),
		InsecureSkipVerify: flag(EnvInsecureSkipVerify),
		AllowHTTP:          flag(EnvAllowHTTP),
	}
	if tokenPath {
		c.TokenPath = val(EnvTokenPath)
	}
	parseLimits(&c, val)
	return c, c.BaseURL != ""
}

// NewAPI validates cfg, loads its CA bundle, client certificate and token file, and returns a
// Prometheus query client. Errors name the file that could not be used.
func NewAPI(cfg Config) (promv1.API, error) {
	return newAPI(cfg, clock.RealClock{})
}

func newAPI(cfg Config, clk clock.PassiveClock) (promv1.API, error) {
	rt, err := newRoundTripper(cfg, clk)
	if err != nil {
		return nil, err
	}
	rt = limitResponses(rt, cfg.EffectiveMaxResponseBytes(), cfg.EffectiveMaxSeries())
	c, err := api.NewClient(api.Config{Address: cfg.BaseURL, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("creating Prometheus client for %s: %w", cfg.BaseURL, err)
	}
	return promv1.NewAPI(c), nil
}

// newRoundTripper returns the HTTP transport for cfg: TLS settings, then bearer auth if a token
// is configured.
func newRoundTripper(cfg Config, clk clock.PassiveClock) (http.RoundTripper, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tlsCfg, err := tlsConfig(cfg)
	if err != nil {
		return nil, err
	}
	base, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("http.DefaultTransport is a %T, not an *http.Transport", http.DefaultTransport)
	}
	transport := base.Clone()
	transport.TLSClientConfig = tlsCfg

	switch {
	case cfg.BearerToken != "":
		return &bearerRoundTripper{next: transport, token: staticToken(cfg.BearerToken)}, nil
	case cfg.TokenPath != "":
		ft := &fileToken{path: cfg.TokenPath, period: tokenRefreshPeriod, clock: clk}
		if _, err := ft.Token(); err != nil {
			return nil, err
		}
		return &bearerRoundTripper{next: transport, token: ft}, nil
	default:
		return transport, nil
	}
}

// tlsConfig builds the client TLS configuration of cfg.
func tlsConfig(cfg Config) (*tls.Config, error) {
	t := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         cfg.ServerName,
		InsecureSkipVerify: cfg.InsecureSkipVerify, //nolint:gosec // explicit operator choice, documented
	}
	if cfg.CACertPath != "" && !cfg.InsecureSkipVerify {
		pem, err := os.ReadFile(cfg.CACertPath)
		if err != nil {
			return nil, fmt.Errorf("reading Prometheus CA bundle %s: %w", cfg.CACertPath, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("reading Prometheus CA bundle %s: no PEM certificate found", cfg.CACertPath)
		}
		t.RootCAs = pool
	}
	if cfg.ClientCertPath != "" {
		pair, err := tls.LoadX509KeyPair(cfg.ClientCertPath, cfg.ClientKeyPath)
		if err != nil {
			return nil, fmt.Errorf("loading Prometheus client certificate %s and key %s: %w", cfg.ClientCertPath, cfg.ClientKeyPath, err)
		}
		t.Certificates = []tls.Certificate{pair}
	}
	return t, nil
}
