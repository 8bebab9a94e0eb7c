package promsource

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestConfigValidate(t *testing.T) {
	cases := map[string]struct {
		cfg     Config
		wantErr []string // substrings; none means valid
	}{
		"https":                    {cfg: Config{BaseURL: "https://prometheus.monitoring.svc:9090"}},
		"https with path prefix":   {cfg: Config{BaseURL: "https://thanos-querier.openshift-monitoring.svc.cluster.local:9091/prom"}},
		"http allowed":             {cfg: Config{BaseURL: "http://127.0.0.1:9090", AllowHTTP: true}},
		"mTLS pair":                {cfg: Config{BaseURL: "https://p:9090", ClientCertPath: "/c.crt", ClientKeyPath: "/c.key"}},
		"empty":                    {cfg: Config{}, wantErr: []string{"PROMETHEUS_BASE_URL is empty"}},
		"blank":                    {cfg: Config{BaseURL: "  "}, wantErr: []string{"PROMETHEUS_BASE_URL is empty"}},
		"http refused with a hint": {cfg: Config{BaseURL: "http://prometheus:9090"}, wantErr: []string{"plain http", "PROMETHEUS_ALLOW_HTTP=true"}},
		"other scheme":             {cfg: Config{BaseURL: "ftp://p"}, wantErr: []string{"must be an https URL"}},
		"no scheme":                {cfg: Config{BaseURL: "prometheus:9090"}, wantErr: []string{"must be an https URL"}},
		"no host":                  {cfg: Config{BaseURL: "https:///api"}, wantErr: []string{"has no host"}},
		"unparsable":               {cfg: Config{BaseURL: "https://p:9090/%zz"}, wantErr: []string{"parsing PROMETHEUS_BASE_URL"}},
		"cert without key":         {cfg: Config{BaseURL: "https://p", ClientCertPath: "/c.crt"}, wantErr: []string{"must be set together"}},
		"key without cert":         {cfg: Config{BaseURL: "https://p", ClientKeyPath: "/c.key"}, wantErr: []string{"must be set together"}},
		"negative timeout":         {cfg: Config{BaseURL: "https://p", QueryTimeout: -time.Second}, wantErr: []string{EnvQueryTimeout}},
		"several problems at once": {
			cfg:     Config{BaseURL: "http://p", ClientKeyPath: "/k", QueryTimeout: -1},
			wantErr: []string{"plain http", "must be set together", EnvQueryTimeout},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error containing %q", tc.wantErr)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate() = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestEffectiveQueryTimeout(t *testing.T) {
	if got := (Config{}).EffectiveQueryTimeout(); got != DefaultQueryTimeout {
		t.Errorf("zero: %s, want %s", got, DefaultQueryTimeout)
	}
	if got := (Config{QueryTimeout: time.Second}).EffectiveQueryTimeout(); got != time.Second {
		t.Errorf("1s: %s", got)
	}
}

// TestQueryTimeoutFromEnvAndConfigMap: PROMETHEUS_QUERY_TIMEOUT is read like the other keys
// and validated; a bad value is an error naming the key, never a silent default.
func TestQueryTimeoutFromEnvAndConfigMap(t *testing.T) {
	cases := map[string]struct {
		value   string
		want    time.Duration
		wantErr bool
	}{
		"unset: default":   {value: "", want: DefaultQueryTimeout},
		"ten seconds":      {value: " 10s ", want: 10 * time.Second},
		"sub-second":       {value: "500ms", want: 500 * time.Millisecond},
		"not a duration":   {value: "ten", wantErr: true},
		"no unit":          {value: "10", wantErr: true},
		"zero":             {value: "0s", wantErr: true},
		"too short":        {value: "10ms", wantErr: true},
		"beyond the range": {value: "6m", wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			data := map[string]string{EnvBaseURL: "https://p:9090", EnvQueryTimeout: tc.value}
			fromEnv, _ := ConfigFromEnvAndConfigMap(func(k string) string { return data[k] }, nil)
			fromCM, _ := ConfigFromEnvAndConfigMap(func(string) string { return "" }, data)
			for src, cfg := range map[string]Config{"env": fromEnv, "ConfigMap": fromCM} {
				err := cfg.Validate()
				if tc.wantErr {
					if err == nil || !strings.Contains(err.Error(), EnvQueryTimeout) {
						t.Errorf("%s: Validate() = %v, want an error naming %s", src, err, EnvQueryTimeout)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: Validate() = %v", src, err)
				}
				if got := cfg.EffectiveQueryTimeout(); got != tc.want {
					t.Errorf("%s: query timeout %s, want %s", src, got, tc.want)
				}
			}
		})
	}
}

// TestConfigFromEnv: the environment alone (no ConfigMap).
func TestConfigFromEnv(t *testing.T) {
	all := map[string]string{
		"PROMETHEUS_BASE_URL":                 " https://prometheus:9090 ",
		"PROMETHEUS_TLS_INSECURE_SKIP_VERIFY": "true",
		"PROMETHEUS_CA_CERT_PATH":             "/etc/ca/ca.crt",
		"PROMETHEUS_CLIENT_CERT_PATH":         "/etc/tls/tls.crt",
		"PROMETHEUS_CLIENT_KEY_PATH":          "/etc/tls/tls.key",
		"PROMETHEUS_SERVER_NAME":              "prometheus.monitoring.svc",
		"PROMETHEUS_BEARER_TOKEN":             "literal",
		"PROMETHEUS_TOKEN_PATH":               "/var/run/secrets/kubernetes.io/serviceaccount/token",
		"PROMETHEUS_ALLOW_HTTP":               "1",
	}
	cases := map[string]struct {
		env    map[string]string
		want   Config
		wantOK bool
	}{
		"every key": {
			env: all,
			want: Config{BaseURL: "https://prometheus:9090", CACertPath: "/etc/ca/ca.crt", ClientCertPath: "/etc/tls/tls.crt",
				ClientKeyPath: "/etc/tls/tls.key", ServerName: "prometheus.monitoring.svc", BearerToken: "literal",
				TokenPath: "/var/run/secrets/kubernetes.io/serviceaccount/token", InsecureSkipVerify: true, AllowHTTP: true},
			wantOK: true,
		},
		"no base URL means not configured": {
			env:  map[string]string{"PROMETHEUS_TLS_INSECURE_SKIP_VERIFY": "true", "PROMETHEUS_TOKEN_PATH": "/t"},
			want: Config{InsecureSkipVerify: true, TokenPath: "/t"},
		},
		"booleans: unparsable is false": {
			env:    map[string]string{"PROMETHEUS_BASE_URL": "https://p", "PROMETHEUS_TLS_INSECURE_SKIP_VERIFY": "yes please", "PROMETHEUS_ALLOW_HTTP": "TRUE"},
			want:   Config{BaseURL: "https://p", AllowHTTP: true},
			wantOK: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, ok := ConfigFromEnvAndConfigMap(func(k string) string { return tc.env[k] }, nil)
			if ok != tc.wantOK {
				t.Errorf("ok = %v, want %v", ok, tc.wantOK)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConfigFromConfigMap: the ConfigMap alone (empty environment).
func TestConfigFromConfigMap(t *testing.T) {
	noEnv := func(string) string { return "" }
	// SPEC §5.1 vectors: an empty base URL is "not configured"; the kind sample reads as insecure.
	if _, ok := ConfigFromEnvAndConfigMap(noEnv, map[string]string{"PROMETHEUS_BASE_URL": ""}); ok {
		t.Error("empty PROMETHEUS_BASE_URL: ok = true, want false")
	}
	if _, ok := ConfigFromEnvAndConfigMap(noEnv, nil); ok {
		t.Error("nil data: ok = true, want false")
	}
	const kindURL = "https://kube-prometheus-stack-prometheus.workload-variant-autoscaler-monitoring.svc.cluster.local:9090"
	got, ok := ConfigFromEnvAndConfigMap(noEnv, map[string]string{
		"PROMETHEUS_BASE_URL":                 kindURL,
		"PROMETHEUS_TLS_INSECURE_SKIP_VERIFY": "true",
		"PROMETHEUS_TOKEN_PATH":               "/etc/shadow", // never honoured from the ConfigMap
		"GLOBAL_OPT_INTERVAL":                 "60s",
	})
	if !ok {
		t.Fatal("ok = false")
	}
	if diff := cmp.Diff(Config{BaseURL: kindURL, InsecureSkipVerify: true}, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("kind sample does not validate: %v", err)
	}
}

// TestConfigValidateRedactsPassword: a password in PROMETHEUS_BASE_URL never appears in a
// validation error, whatever is wrong with the URL.
func TestConfigValidateRedactsPassword(t *testing.T) {
	cases := map[string]struct {
		url     string
		wantErr string
	}{
		"plain http":          {url: "http://wva:s3cret@prometheus:9090", wantErr: "plain http"},
		"other scheme":        {url: "ftp://wva:s3cret@prometheus:9090", wantErr: "must be an https URL"},
		"no scheme":           {url: "wva:s3cret@prometheus:9090", wantErr: "must be an https URL"},
		"no host":             {url: "https://wva:s3cret@/api", wantErr: "has no host"},
		"bad escape":          {url: "https://wva:s3cret@prometheus:9090/%zz", wantErr: "parsing PROMETHEUS_BASE_URL"},
		"bad user info":       {url: "https://wva:s3 cret@prometheus:9090", wantErr: "parsing PROMETHEUS_BASE_URL"},
		"bad port":            {url: "https://wva:s3cret@prometheus:port", wantErr: "parsing PROMETHEUS_BASE_URL"},
		"with other problems": {url: "http://wva:s3cret@p", wantErr: "must be set together"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := Config{BaseURL: tc.url, ClientCertPath: "/c.crt"}.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "s3") {
				t.Errorf("Validate() = %q shows the password", err)
			}
		})
	}
}

func TestRedactedURL(t *testing.T) {
	cases := map[string]string{
		"https://prometheus:9090/prefix":         "https://prometheus:9090/prefix",
		"https://wva:s3cret@prometheus:9090/p":   "https://wva:xxxxx@prometheus:9090/p",
		"https://wva@prometheus:9090":            "https://wva@prometheus:9090",
		"https://wva:s3 cret@prometheus:9090/p?": "https://xxxxx@prometheus:9090/p?",
		"wva:s3cret@prometheus:9090":             "xxxxx@prometheus:9090",
		"https://prometheus:9090/a@b":            "https://prometheus:9090/a@b",
		"":                                       "",
	}
	for raw, want := range cases {
		if got := (Config{BaseURL: raw}).RedactedURL(); got != want {
			t.Errorf("RedactedURL(%q) = %q, want %q", raw, got, want)
		}
	}
}

// TestConfigFromEnvAndConfigMap: each key comes from the environment when set there, else from
// the ConfigMap, else the default; PROMETHEUS_TOKEN_PATH only from the environment.
func TestConfigFromEnvAndConfigMap(t *testing.T) {
	const saToken = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	cases := map[string]struct {
		env, cm map[string]string
		want    Config
		wantOK  bool
	}{
		"the default install: URL from the ConfigMap, token file from the environment": {
			env:    map[string]string{"PROMETHEUS_TOKEN_PATH": saToken},
			cm:     map[string]string{"PROMETHEUS_BASE_URL": "https://prometheus:9090", "PROMETHEUS_TLS_INSECURE_SKIP_VERIFY": "false"},
			want:   Config{BaseURL: "https://prometheus:9090", TokenPath: saToken},
			wantOK: true,
		},
		"the environment wins key by key": {
			env: map[string]string{"PROMETHEUS_BASE_URL": "https://from-env:9090", "PROMETHEUS_SERVER_NAME": "env.svc"},
			cm: map[string]string{"PROMETHEUS_BASE_URL": "https://from-cm:9090", "PROMETHEUS_SERVER_NAME": "cm.svc",
				"PROMETHEUS_CA_CERT_PATH": "/etc/ca/ca.crt"},
			want:   Config{BaseURL: "https://from-env:9090", ServerName: "env.svc", CACertPath: "/etc/ca/ca.crt"},
			wantOK: true,
		},
		"an explicit false in the environment beats true in the ConfigMap": {
			env:    map[string]string{"PROMETHEUS_TLS_INSECURE_SKIP_VERIFY": "false", "PROMETHEUS_ALLOW_HTTP": "0"},
			cm:     map[string]string{"PROMETHEUS_BASE_URL": "https://p", "PROMETHEUS_TLS_INSECURE_SKIP_VERIFY": "true", "PROMETHEUS_ALLOW_HTTP": "true"},
			want:   Config{BaseURL: "https://p"},
			wantOK: true,
		},
		"a blank environment value is unset": {
			env:    map[string]string{"PROMETHEUS_BASE_URL": "  ", "PROMETHEUS_CA_CERT_PATH": ""},
			cm:     map[string]string{"PROMETHEUS_BASE_URL": "https://p", "PROMETHEUS_CA_CERT_PATH": "/ca.crt"},
			want:   Config{BaseURL: "https://p", CACertPath: "/ca.crt"},
			wantOK: true,
		},
		"the token path is never read from the ConfigMap": {
			cm:     map[string]string{"PROMETHEUS_BASE_URL": "https://p", "PROMETHEUS_TOKEN_PATH": "/etc/shadow"},
			want:   Config{BaseURL: "https://p"},
			wantOK: true,
		},
		"a literal token from the ConfigMap and a token file from the environment are both kept": {
			env:    map[string]string{"PROMETHEUS_TOKEN_PATH": saToken},
			cm:     map[string]string{"PROMETHEUS_BASE_URL": "https://p", "PROMETHEUS_BEARER_TOKEN": "literal"},
			want:   Config{BaseURL: "https://p", BearerToken: "literal", TokenPath: saToken},
			wantOK: true,
		},
		"no URL anywhere": {
			env:  map[string]string{"PROMETHEUS_TOKEN_PATH": saToken},
			cm:   map[string]string{"PROMETHEUS_CA_CERT_PATH": "/ca.crt"},
			want: Config{TokenPath: saToken, CACertPath: "/ca.crt"},
		},
		"nil ConfigMap data": {
			env:    map[string]string{"PROMETHEUS_BASE_URL": "https://p"},
			want:   Config{BaseURL: "https://p"},
			wantOK: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, ok := ConfigFromEnvAndConfigMap(func(k string) string { return tc.env[k] }, tc.cm)
			if ok != tc.wantOK {
				t.Errorf("ok = %v, want %v", ok, tc.wantOK)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}
