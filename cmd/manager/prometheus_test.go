package main

import (
	"context"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache/informertest"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	promsource "github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector/prometheus"
)

// TestPrometheusSourceRedactsPassword: the start-up log line and the errors of
// newPrometheusSource show the Prometheus URL without its password, from either source.
func TestPrometheusSourceRedactsPassword(t *testing.T) {
	const ns, name = "wva-system", "wva-config"
	cases := map[string]struct {
		env     map[string]string
		cm      map[string]string
		wantErr bool
	}{
		"environment, logged": {env: map[string]string{"PROMETHEUS_BASE_URL": "https://wva:s3cret@prometheus:9090"}},
		"ConfigMap, logged":   {cm: map[string]string{"PROMETHEUS_BASE_URL": "https://wva:s3cret@prometheus:9090"}},
		"environment, invalid": {
			env: map[string]string{"PROMETHEUS_BASE_URL": "http://wva:s3cret@prometheus:9090"}, wantErr: true,
		},
		"ConfigMap, invalid": {cm: map[string]string{"PROMETHEUS_BASE_URL": "ftp://wva:s3cret@prometheus:9090"}, wantErr: true},
	}
	for tcName, tc := range cases {
		t.Run(tcName, func(t *testing.T) {
			var logged strings.Builder
			logger := funcr.New(func(prefix, args string) { logged.WriteString(prefix + " " + args + "\n") }, funcr.Options{})
			reader := fake.NewClientBuilder().WithObjects(&corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: tc.cm}).Build()
			opts := DefaultOptions()
			opts.ConfigMaps.Namespace, opts.ConfigMaps.Main = ns, name
			_, _, err := newPrometheusSource(context.Background(), logger, opts, func(k string) string { return tc.env[k] }, reader, reader,
				&informertest.FakeInformers{}, prometheus.NewRegistry())
			if (err != nil) != tc.wantErr {
				t.Fatalf("newPrometheusSource error = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the password", err)
			}
			if strings.Contains(logged.String(), "s3cret") {
				t.Errorf("the log shows the password:\n%s", logged.String())
			}
			if !tc.wantErr && !strings.Contains(logged.String(), `"url"="https://wva:xxxxx@prometheus:9090"`) {
				t.Errorf("the log lacks the redacted URL:\n%s", logged.String())
			}
		})
	}
}

// TestPrometheusConfig: the manager merges the environment and the main ConfigMap key by key.
func TestPrometheusConfig(t *testing.T) {
	const ns, name, saToken = "wva-system", "wva-config", "/var/run/secrets/kubernetes.io/serviceaccount/token"
	cases := map[string]struct {
		env       map[string]string
		cm        map[string]string // nil: no ConfigMap
		allowHTTP bool
		want      promsource.Config
		wantErr   string
	}{
		"URL from the ConfigMap, token file from the environment": {
			env:  map[string]string{"PROMETHEUS_TOKEN_PATH": saToken},
			cm:   map[string]string{"PROMETHEUS_BASE_URL": "https://prometheus:9090"},
			want: promsource.Config{BaseURL: "https://prometheus:9090", TokenPath: saToken},
		},
		"everything from the environment, no ConfigMap": {
			env:  map[string]string{"PROMETHEUS_BASE_URL": "https://prometheus:9090", "PROMETHEUS_TOKEN_PATH": saToken},
			want: promsource.Config{BaseURL: "https://prometheus:9090", TokenPath: saToken},
		},
		"the flag allows http": {
			cm:        map[string]string{"PROMETHEUS_BASE_URL": "http://127.0.0.1:9090"},
			allowHTTP: true,
			want:      promsource.Config{BaseURL: "http://127.0.0.1:9090", AllowHTTP: true},
		},
		"no URL, no ConfigMap": {
			env:     map[string]string{"PROMETHEUS_TOKEN_PATH": saToken},
			wantErr: "the environment has none and ConfigMap wva-system/wva-config does not exist",
		},
		"no URL in either": {
			cm:      map[string]string{"GLOBAL_OPT_INTERVAL": "30s"},
			wantErr: "neither the environment nor ConfigMap wva-system/wva-config has one",
		},
		"invalid merged settings": {
			env:     map[string]string{"PROMETHEUS_CLIENT_KEY_PATH": "/k"},
			cm:      map[string]string{"PROMETHEUS_BASE_URL": "https://p"},
			wantErr: "Prometheus settings from the environment and ConfigMap wva-system/wva-config: invalid Prometheus configuration",
		},
	}
	for tcName, tc := range cases {
		t.Run(tcName, func(t *testing.T) {
			b := fake.NewClientBuilder()
			if tc.cm != nil {
				b = b.WithObjects(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: tc.cm})
			}
			opts := DefaultOptions()
			opts.ConfigMaps.Namespace, opts.ConfigMaps.Main = ns, name
			opts.PrometheusAllowHTTP = tc.allowHTTP
			got, _, err := prometheusConfig(context.Background(), opts, func(k string) string { return tc.env[k] }, b.Build())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("prometheusConfig error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}
