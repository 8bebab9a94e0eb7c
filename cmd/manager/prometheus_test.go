package main

import (
	"context"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
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
			_, err := newPrometheusSource(context.Background(), logger, opts, func(k string) string { return tc.env[k] }, reader, reader)
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
