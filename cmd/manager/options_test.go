package main

import (
	"flag"
	"strings"
	"testing"
	"time"

	promsource "github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector/prometheus"
)

func TestOptions(t *testing.T) {
	tests := map[string]struct {
		args    []string
		env     map[string]string
		check   func(Options) bool
		wantErr string
	}{
		"defaults are valid": {check: func(o Options) bool {
			return o.Analyzer == "capacity" && o.MetricsWindow == time.Minute && o.ConfigMaps.Namespace == "workload-variant-autoscaler-system" && !o.LeaderElect
		}},
		"env names the ConfigMaps": {env: map[string]string{"POD_NAMESPACE": "wva", "SATURATION_CONFIG_MAP_NAME": "sat", "SERVICE_CLASSES_CONFIG_MAP_NAME": "slo"},
			check: func(o Options) bool {
				return o.ConfigMaps.Namespace == "wva" && o.ConfigMaps.Saturation == "sat" && o.ConfigMaps.ServiceClasses == "slo"
			}},
		"flags": {args: []string{"--leader-elect", "--analyzer=v1", "--watch-namespace=llm", "--scale-down-stabilization=0s"},
			check: func(o Options) bool {
				return o.LeaderElect && o.Analyzer == "v1" && o.WatchNamespace == "llm" && o.ScaleDownStabilization == 0
			}},
		"unknown analyzer":    {args: []string{"--analyzer=magic"}, wantErr: "valid names are capacity, slo, v1"},
		"renew after lease":   {args: []string{"--leader-election-renew-deadline=2m"}, wantErr: "must be shorter"},
		"window too short":    {args: []string{"--metrics-window=10ms"}, wantErr: "--metrics-window"},
		"negative stabilizer": {args: []string{"--scale-down-stabilization=-1s"}, wantErr: "must not be negative"},
		"gateway metric off":  {args: []string{"--gateway-request-metric="}, check: func(o Options) bool { return o.GatewayMetric.Metric == "" }},
		"older gateway metric": {args: []string{"--gateway-request-metric=inference_model_request_total", "--gateway-model-label=model_name"},
			check: func(o Options) bool {
				return o.GatewayMetric == promsource.GatewayMetric{Metric: "inference_model_request_total", ModelLabel: "model_name"}
			}},
		"sized for 10k by default": {check: func(o Options) bool {
			return o.KubeAPIQPS == 200 && o.KubeAPIBurst == 400 && o.MaxConcurrentReconciles == 16 && o.AwaitingDecisionGrace == 2*time.Minute
		}},
		"api load flags": {args: []string{"--kube-api-qps=500", "--kube-api-burst=1000", "--max-concurrent-reconciles=32", "--awaiting-decision-grace=0"},
			check: func(o Options) bool {
				return o.KubeAPIQPS == 500 && o.KubeAPIBurst == 1000 && o.MaxConcurrentReconciles == 32 && o.AwaitingDecisionGrace == 0
			}},
		"pprof off by default":      {check: func(o Options) bool { return o.PprofBindAddress == "0" }},
		"pprof on localhost":        {args: []string{"--pprof-bind-address=127.0.0.1:6060"}, check: func(o Options) bool { return o.PprofBindAddress == "127.0.0.1:6060" }},
		"negative grace":            {args: []string{"--awaiting-decision-grace=-1s"}, wantErr: "--awaiting-decision-grace"},
		"no workers":                {args: []string{"--max-concurrent-reconciles=0"}, wantErr: "--max-concurrent-reconciles"},
		"no qps":                    {args: []string{"--kube-api-qps=0"}, wantErr: "--kube-api-qps"},
		"no burst":                  {args: []string{"--kube-api-burst=0"}, wantErr: "--kube-api-burst"},
		"gateway label not a label": {args: []string{`--gateway-model-label=a"b`}, wantErr: "not a Prometheus label name"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := DefaultOptions()
			fs := flag.NewFlagSet("manager", flag.ContinueOnError)
			o.BindFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			o.ApplyEnv(func(k string) string { return tc.env[k] })
			err := o.Validate()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(o) {
				t.Errorf("options = %+v", o)
			}
		})
	}
}
