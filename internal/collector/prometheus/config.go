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
	"k8s.io/utils/clock"
)

// Keys of the Prometheus connection settings, used both as environment variables and as keys of
// the main ConfigMap (SPEC §5.1, §7.1).
const (
	// EnvBaseURL is the Prometheus URL. Like every key here but EnvTokenPath, it is read from
	// the environment and, when unset there, from the main ConfigMap (ConfigFromEnvAndConfigMap).
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

// EnvQueryTimeout bounds each PromQL query (a Go duration such as 5s), environment or main
// ConfigMap.
const EnvQueryTimeout = "PROMETHEUS_QUERY_TIMEOUT"

// DefaultQueryTimeout bounds each PromQL query when Config.QueryTimeout is zero.
const DefaultQueryTimeout = 5 * time.Second

// The range of Config.QueryTimeout: shorter fails every query over a network, longer holds a
// cycle (every query of a cycle runs in parallel) beyond the longest optimization interval.
const (
	MinQueryTimeout = 100 * time.Millisecond
	MaxQueryTimeout = 5 * time.Minute
)

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
	// QueryTimeout bounds each query (EnvQueryTimeout); 0 means DefaultQueryTimeout.
	QueryTimeout time.Duration
	// MaxResponseBytes bounds each query's response body; 0 means DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// MaxSeries bounds the series of each query's result; 0 means DefaultMaxSeries.
	MaxSeries int
}

// Validate checks the settings without touching the filesystem (NewAPI reads the files). Its
// errors show BaseURL redacted (RedactedURL), never with its password.
func (c Config) Validate() error {
	var errs []error
	shown := c.RedactedURL()
	if strings.TrimSpace(c.BaseURL) == "" {
		errs = append(errs, fmt.Errorf("%s is empty", EnvBaseURL))
	} else if u, err := c.parseBaseURL(); err != nil {
		errs = append(errs, err)
	} else {
		switch {
		case u.Scheme == "https":
		case u.Scheme == "http" && c.AllowHTTP:
		case u.Scheme == "http":
			errs = append(errs, fmt.Errorf("%s %q uses plain http, which would send queries and the bearer token unencrypted: "+
				"use https, or for a local Prometheus without TLS set %s=true (environment or main ConfigMap)",
				EnvBaseURL, shown, EnvAllowHTTP))
		default:
			errs = append(errs, fmt.Errorf("%s %q must be an https URL such as https://prometheus.monitoring.svc:9090", EnvBaseURL, shown))
		}
		if u.Host == "" {
			errs = append(errs, fmt.Errorf("%s %q has no host", EnvBaseURL, shown))
		}
	}
	if (c.ClientCertPath == "") != (c.ClientKeyPath == "") {
		errs = append(errs, fmt.Errorf("%s and %s must be set together (client certificate %q, key %q)",
			EnvClientCertPath, EnvClientKeyPath, c.ClientCertPath, c.ClientKeyPath))
	}
	if c.QueryTimeout != 0 && (c.QueryTimeout < MinQueryTimeout || c.QueryTimeout > MaxQueryTimeout) {
		errs = append(errs, fmt.Errorf("%s must be a duration from %s to %s such as 10s (unset means %s)",
			EnvQueryTimeout, MinQueryTimeout, MaxQueryTimeout, DefaultQueryTimeout))
	}
	errs = append(errs, c.validateLimits()...)
	if len(errs) > 0 {
		return fmt.Errorf("invalid Prometheus configuration: %w", errors.Join(errs...))
	}
	return nil
}

// RedactedURL returns BaseURL for logs and error messages: the password of its user info, if
// any, replaced by "xxxxx" (url.URL.Redacted). A URL that does not parse, or parses without user
// info but has an "@" where the user info would be (no scheme: "user:pw@host"), has everything
// before that "@" replaced, so nothing of a password shows whatever the typo.
func (c Config) RedactedURL() string {
	raw := c.BaseURL
	u, err := url.Parse(raw)
	if err == nil && u.User != nil {
		return u.Redacted()
	}
	prefix, rest := "", raw
	if i := strings.Index(raw, "://"); i >= 0 {
		prefix, rest = raw[:i+3], raw[i+3:]
	}
	search := rest
	if err == nil { // a valid URL: an "@" in its path or query is not user info
		if j := strings.IndexAny(rest, "/?#"); j >= 0 {
			search = rest[:j]
		}
	}
	if at := strings.LastIndex(search, "@"); at >= 0 {
		return prefix + "xxxxx" + rest[at:]
	}
	return raw
}

// parseBaseURL parses BaseURL; its error shows the URL redacted.
func (c Config) parseBaseURL() (*url.URL, error) {
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		shown := c.RedactedURL()
		return nil, fmt.Errorf("parsing %s %q: %s", EnvBaseURL, shown, parseProblem(shown))
	}
	return u, nil
}

// parseProblem says why url.Parse rejects a URL, from its redacted form shown (url.Parse's own
// error quotes the whole URL, password included). When shown parses, the problem was in the
// user info that redaction removed.
func parseProblem(shown string) string {
	_, err := url.Parse(shown)
	var uerr *url.Error
	switch {
	case err == nil:
		return "invalid user info (not shown)"
	case errors.As(err, &uerr):
		return uerr.Err.Error()
	default:
		return err.Error()
	}
}

// EffectiveQueryTimeout returns QueryTimeout, or DefaultQueryTimeout when it is zero.
func (c Config) EffectiveQueryTimeout() time.Duration {
	if c.QueryTimeout > 0 {
		return c.QueryTimeout
	}
	return DefaultQueryTimeout
}

// ConfigFromEnvAndConfigMap builds a Config from the environment (getenv is os.Getenv outside
// tests) and the data of the main ConfigMap, key by key: a key set in the environment (not
// blank) wins, else the ConfigMap's value counts, else the default (empty, false).
// PROMETHEUS_TOKEN_PATH is read from the environment only: whoever can edit the ConfigMap must
// not choose a file the controller sends as a bearer token. So the default install, with the URL
// in the ConfigMap and the service-account token path in the Deployment's environment, gets
// both. ok is false when neither has a PROMETHEUS_BASE_URL. Values are trimmed; booleans accept
// strconv.ParseBool spellings and anything else counts as false, the safe value for both (an
// http URL then fails Validate with a hint).
func ConfigFromEnvAndConfigMap(getenv func(string) string, data map[string]string) (Config, bool) {
	val := func(k string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		if k == EnvTokenPath {
			return ""
		}
		return strings.TrimSpace(data[k])
	}
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
		TokenPath:          val(EnvTokenPath),
		InsecureSkipVerify: flag(EnvInsecureSkipVerify),
		AllowHTTP:          flag(EnvAllowHTTP),
	}
	if v := val(EnvQueryTimeout); v != "" {
		c.QueryTimeout = -1 // rejected by Validate unless it parses
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			c.QueryTimeout = d
		}
	}
	parseLimits(&c, val)
	return c, c.BaseURL != ""
}

// NewAPI validates cfg, loads its CA bundle, client certificate and token file, and returns a
// Prometheus query client, which sends cfg's query timeout with every query. Errors name the
// file that could not be used.
func NewAPI(cfg Config) (QueryAPI, error) {
	return newAPI(cfg, clock.RealClock{})
}

func newAPI(cfg Config, clk clock.PassiveClock) (*queryClient, error) {
	rt, err := newRoundTripper(cfg, clk)
	if err != nil {
		return nil, err
	}
	rt = limitResponses(rt, cfg.EffectiveMaxResponseBytes(), cfg.EffectiveMaxSeries())
	u, err := cfg.parseBaseURL() // cannot fail: newRoundTripper validated cfg
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Transport: rt, CheckRedirect: sameOriginRedirects(originOf(u))}
	c, err := api.NewClient(api.Config{Address: cfg.BaseURL, Client: hc})
	if err != nil {
		return nil, fmt.Errorf("creating Prometheus client for %s: %w", cfg.RedactedURL(), err)
	}
	return &queryClient{client: c, timeout: cfg.EffectiveQueryTimeout()}, nil
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

	// The token goes only to the origin of BaseURL (see bearerRoundTripper).
	u, err := cfg.parseBaseURL()
	if err != nil {
		return nil, err
	}
	bearer := func(ts tokenSource) http.RoundTripper {
		return &bearerRoundTripper{next: transport, token: ts, origin: originOf(u), allowHTTP: cfg.AllowHTTP}
	}

	switch {
	case cfg.BearerToken != "":
		return bearer(staticToken(cfg.BearerToken)), nil
	case cfg.TokenPath != "":
		ft := &fileToken{path: cfg.TokenPath, period: tokenRefreshPeriod, clock: clk}
		if _, err := ft.Token(); err != nil {
			return nil, err
		}
		return bearer(ft), nil
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
