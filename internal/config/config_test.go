package config

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

func TestExampleConfigMapMatchesDefaults(t *testing.T) {
	raw, err := os.ReadFile("testdata/saturation-scaling-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(raw, &cm); err != nil {
		t.Fatal(err)
	}
	if cm.Name != DefaultSaturationConfigMapName || cm.Namespace != DefaultNamespace {
		t.Errorf("example is %s/%s, want the default names", cm.Namespace, cm.Name)
	}
	got, errs := ParseSaturationConfig(cm.Data, nil)
	if len(errs) != 0 {
		t.Fatalf("example rejected: %v", errs)
	}
	if diff := cmp.Diff(interfaces.DefaultSaturationScalingConfig(), got["default"]); diff != "" {
		t.Errorf("example default entry differs from the built-in defaults (-want +got):\n%s", diff)
	}
	want := interfaces.SaturationScalingConfig{ModelID: "ibm/granite-13b", Namespace: "production",
		KvCacheThreshold: 0.85, QueueLengthThreshold: 5, KvSpareTrigger: 0.15, QueueSpareTrigger: 3}
	if diff := cmp.Diff(want, got["granite-13b-production"]); diff != "" {
		t.Errorf("override is not merged over the default entry (-want +got):\n%s", diff)
	}
}

func TestParseSaturationConfig(t *testing.T) {
	def := interfaces.DefaultSaturationScalingConfig()
	prevLlama := interfaces.SaturationScalingConfig{ModelID: "llama", KvCacheThreshold: 0.9, QueueLengthThreshold: 9}
	tests := map[string]struct {
		data     map[string]string
		previous map[string]interfaces.SaturationScalingConfig
		want     map[string]interfaces.SaturationScalingConfig
		errKeys  []string
		errText  string
	}{
		"partial default keeps built-in values": {
			data: map[string]string{"default": "kvCacheThreshold: 0.7"},
			want: map[string]interfaces.SaturationScalingConfig{"default": {KvCacheThreshold: 0.7, QueueLengthThreshold: 5, KvSpareTrigger: 0.1, QueueSpareTrigger: 3}},
		},
		"empty ConfigMap": {
			data: map[string]string{},
			want: map[string]interfaces.SaturationScalingConfig{},
		},
		"override without default merges over built-in defaults": {
			data: map[string]string{"llama": "model_id: llama\nqueueLengthThreshold: 10"},
			want: map[string]interfaces.SaturationScalingConfig{"llama": {ModelID: "llama", KvCacheThreshold: 0.8, QueueLengthThreshold: 10, KvSpareTrigger: 0.1, QueueSpareTrigger: 3}},
		},
		"invalid threshold rejected, others kept": {
			data:    map[string]string{"default": "kvCacheThreshold: 0.8", "bad": "model_id: x\nkvCacheThreshold: 1.5"},
			want:    map[string]interfaces.SaturationScalingConfig{"default": def},
			errKeys: []string{"bad"}, errText: "kvCacheThreshold must be between 0 and 1",
		},
		"malformed YAML keeps the previous entry": {
			data:     map[string]string{"llama": "model_id: llama\nkvCacheThreshold: [oops"},
			previous: map[string]interfaces.SaturationScalingConfig{"llama": prevLlama},
			want:     map[string]interfaces.SaturationScalingConfig{"llama": prevLlama},
			errKeys:  []string{"llama"}, errText: "decoding YAML",
		},
		"unknown field is an error": {
			data:    map[string]string{"default": "kvCacheTreshold: 0.8"},
			want:    map[string]interfaces.SaturationScalingConfig{},
			errKeys: []string{"default"}, errText: "kvCacheTreshold",
		},
		"invalid default keeps previous default and overrides merge over it": {
			data:     map[string]string{"default": "kvCacheThreshold: 0.5\nkvSpareTrigger: 0.6", "m": "model_id: m"},
			previous: map[string]interfaces.SaturationScalingConfig{"default": {KvCacheThreshold: 0.9, QueueLengthThreshold: 7}},
			want: map[string]interfaces.SaturationScalingConfig{
				"default": {KvCacheThreshold: 0.9, QueueLengthThreshold: 7},
				"m":       {ModelID: "m", KvCacheThreshold: 0.9, QueueLengthThreshold: 7},
			},
			errKeys: []string{"default"}, errText: "must be >= kvSpareTrigger",
		},
		"a tiny threshold is rejected by key and keeps the previous entry": {
			data:     map[string]string{"llama": "model_id: llama\nkvCacheThreshold: 0.8\nkvSpareTrigger: 0.799999999999\nqueueLengthThreshold: 1e-300"},
			previous: map[string]interfaces.SaturationScalingConfig{"llama": prevLlama},
			want:     map[string]interfaces.SaturationScalingConfig{"llama": prevLlama},
			errKeys:  []string{"llama"}, errText: "queueLengthThreshold must be 0 (queue signal off) or between 0.1 and 1e+06",
		},
		// YAML's .nan never reaches Validate: the YAML-to-JSON step refuses it.
		"NaN is rejected and keeps the previous entry": {
			data:     map[string]string{"llama": "model_id: llama\nkvCacheThreshold: .nan"},
			previous: map[string]interfaces.SaturationScalingConfig{"llama": prevLlama},
			want:     map[string]interfaces.SaturationScalingConfig{"llama": prevLlama},
			errKeys:  []string{"llama"}, errText: "unsupported value: NaN",
		},
		"override needs model_id": {
			data:    map[string]string{"x": "kvCacheThreshold: 0.5"},
			want:    map[string]interfaces.SaturationScalingConfig{},
			errKeys: []string{"x"}, errText: "needs model_id",
		},
		"default must not name a model": {
			data:    map[string]string{"default": "model_id: m"},
			want:    map[string]interfaces.SaturationScalingConfig{},
			errKeys: []string{"default"}, errText: "must not set model_id",
		},
		"duplicate override rejected": {
			data:    map[string]string{"a": "model_id: m", "b": "model_id: m"},
			want:    map[string]interfaces.SaturationScalingConfig{"a": {ModelID: "m", KvCacheThreshold: 0.8, QueueLengthThreshold: 5, KvSpareTrigger: 0.1, QueueSpareTrigger: 3}},
			errKeys: []string{"b"}, errText: "already configured by entry \"a\"",
		},
		"removed key is dropped": {
			data:     map[string]string{},
			previous: map[string]interfaces.SaturationScalingConfig{"llama": prevLlama},
			want:     map[string]interfaces.SaturationScalingConfig{},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, errs := ParseSaturationConfig(tc.data, tc.previous)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			var keys []string
			for _, e := range errs {
				keys = append(keys, e.Key)
				if !strings.Contains(e.Error(), tc.errText) || !strings.Contains(e.Error(), e.Key) {
					t.Errorf("error %q does not name the key and contain %q", e.Error(), tc.errText)
				}
				var ke *KeyError
				if !errors.As(e, &ke) {
					t.Error("not a KeyError")
				}
			}
			if diff := cmp.Diff(tc.errKeys, keys); diff != "" {
				t.Errorf("rejected keys (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseOptimizationInterval(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		"seconds":       {in: "30s", want: 30 * time.Second},
		"minute":        {in: " 1m ", want: time.Minute},
		"lower bound":   {in: "1s", want: time.Second},
		"upper bound":   {in: "10m", want: 10 * time.Minute},
		"not a time":    {in: "soon", wantErr: `GLOBAL_OPT_INTERVAL "soon" is not a duration`},
		"bare number":   {in: "60", wantErr: `GLOBAL_OPT_INTERVAL "60" is not a duration`},
		"too short":     {in: "10ms", wantErr: `GLOBAL_OPT_INTERVAL "10ms" is below the minimum of 1s`},
		"half a second": {in: "0.5s", wantErr: `GLOBAL_OPT_INTERVAL "0.5s" is below the minimum of 1s`},
		"negative":      {in: "-5s", wantErr: "below the minimum"},
		"just too long": {in: "10m1s", wantErr: `GLOBAL_OPT_INTERVAL "10m1s" is above the maximum of 10m0s`},
		"a day":         {in: "24h", wantErr: `GLOBAL_OPT_INTERVAL "24h" is above the maximum of 10m0s`},
		"largest int64": {in: "9223372036854775807ns", wantErr: `GLOBAL_OPT_INTERVAL "9223372036854775807ns" is above the maximum of 10m0s`},
		"beyond int64":  {in: "9223372036854775808ns", wantErr: "is not a duration"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseOptimizationInterval(tc.in)
			switch {
			case tc.wantErr == "" && (err != nil || got != tc.want):
				t.Errorf("ParseOptimizationInterval(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("ParseOptimizationInterval(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.wantErr)
			}
		})
	}
	for in, want := range map[string]time.Duration{"": DefaultOptimizationInterval, "x": DefaultOptimizationInterval,
		"2m": 2 * time.Minute, "24h": DefaultOptimizationInterval, "0.5s": DefaultOptimizationInterval} {
		if got := IntervalOrDefault(in); got != want {
			t.Errorf("IntervalOrDefault(%q) = %v, want %v", in, got, want)
		}
	}
}
