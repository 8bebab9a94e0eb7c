package interfaces

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestInvalidKeys(t *testing.T) {
	c := SaturationScalingConfig{KvCacheThreshold: 1.5, KvSpareTrigger: 1.6, QueueLengthThreshold: 1e-300}
	if diff := cmp.Diff([]string{"kvCacheThreshold", "kvSpareTrigger", "queueLengthThreshold"}, c.InvalidKeys()); diff != "" {
		t.Errorf("InvalidKeys() (-want +got):\n%s", diff)
	}
	if keys := DefaultSaturationScalingConfig().InvalidKeys(); len(keys) != 0 {
		t.Errorf("defaults: InvalidKeys() = %v, want none", keys)
	}
}

func TestSaturationScalingConfigValidate(t *testing.T) {
	// The validation vectors of the reference (SPEC §7.3).
	tests := map[string]struct {
		cfg     SaturationScalingConfig
		wantErr string
	}{
		"defaults":                {cfg: SaturationScalingConfig{KvCacheThreshold: 0.80, QueueLengthThreshold: 5, KvSpareTrigger: 0.10, QueueSpareTrigger: 3}},
		"custom":                  {cfg: SaturationScalingConfig{KvCacheThreshold: 0.75, QueueLengthThreshold: 10, KvSpareTrigger: 0.15, QueueSpareTrigger: 5}},
		"kv above 1":              {cfg: SaturationScalingConfig{KvCacheThreshold: 1.5}, wantErr: "kvCacheThreshold"},
		"kv negative":             {cfg: SaturationScalingConfig{KvCacheThreshold: -0.1}, wantErr: "kvCacheThreshold"},
		"queue negative":          {cfg: SaturationScalingConfig{KvCacheThreshold: 0.8, QueueLengthThreshold: -1}, wantErr: "queueLengthThreshold"},
		"kv spare above 1":        {cfg: SaturationScalingConfig{KvCacheThreshold: 0.8, KvSpareTrigger: 1.5}, wantErr: "kvSpareTrigger"},
		"kv spare negative":       {cfg: SaturationScalingConfig{KvCacheThreshold: 0.8, KvSpareTrigger: -0.1}, wantErr: "kvSpareTrigger"},
		"queue spare negative":    {cfg: SaturationScalingConfig{KvCacheThreshold: 0.8, QueueSpareTrigger: -1}, wantErr: "queueSpareTrigger"},
		"kv below its spare":      {cfg: SaturationScalingConfig{KvCacheThreshold: 0.5, KvSpareTrigger: 0.6}, wantErr: "must be >= kvSpareTrigger"},
		"all zeros":               {cfg: SaturationScalingConfig{}},
		"maximal":                 {cfg: SaturationScalingConfig{KvCacheThreshold: 1.0, QueueLengthThreshold: 1000, KvSpareTrigger: 1.0, QueueSpareTrigger: 1000}},
		"scale-down above band":   {cfg: SaturationScalingConfig{KvCacheThreshold: 0.8, KvSpareTrigger: 0.1, ScaleDownUtilization: 0.75}, wantErr: "scaleDownUtilization"},
		"scale-down inside range": {cfg: SaturationScalingConfig{KvCacheThreshold: 0.8, KvSpareTrigger: 0.1, ScaleDownUtilization: 0.5}},
		// Sane ranges (issue 7): values that passed before and made the capacity analyzer divide
		// by almost nothing.
		"kv band 1e-12": {cfg: SaturationScalingConfig{KvCacheThreshold: 0.8, KvSpareTrigger: 0.8 - 1e-12, QueueLengthThreshold: 5},
			wantErr: "kvSpareTrigger leaves kvCacheThreshold - kvSpareTrigger = 1e-12"},
		"kv band at the floor": {cfg: SaturationScalingConfig{KvCacheThreshold: 0.3, KvSpareTrigger: 0.29, QueueLengthThreshold: 5}},
		"queue threshold 1e-300": {cfg: SaturationScalingConfig{KvCacheThreshold: 0.8, QueueLengthThreshold: 1e-300},
			wantErr: "queueLengthThreshold must be 0 (queue signal off) or between 0.1 and 1e+06, got 1e-300"},
		"queue threshold huge": {cfg: SaturationScalingConfig{KvCacheThreshold: 0.8, QueueLengthThreshold: 1e300}, wantErr: "queueLengthThreshold"},
		"queue band 1e-9": {cfg: SaturationScalingConfig{KvCacheThreshold: 0.8, QueueLengthThreshold: 3 + 1e-6, QueueSpareTrigger: 3},
			wantErr: "queueSpareTrigger leaves queueLengthThreshold - queueSpareTrigger"},
		"queue spare huge":       {cfg: SaturationScalingConfig{KvCacheThreshold: 0.8, QueueSpareTrigger: 1e7}, wantErr: "queueSpareTrigger"},
		"scale-down tiny":        {cfg: SaturationScalingConfig{KvCacheThreshold: 0.8, KvSpareTrigger: 0.1, ScaleDownUtilization: 1e-300}, wantErr: "scaleDownUtilization must be 0 (default) or at least 0.01"},
		"itl huge":               {cfg: SaturationScalingConfig{KvCacheThreshold: 0.8, ITLTargetMs: 1e300}, wantErr: "itlTargetMs"},
		"NaN kv":                 {cfg: SaturationScalingConfig{KvCacheThreshold: math.NaN()}, wantErr: "kvCacheThreshold must be a finite number, got NaN"},
		"infinite queue":         {cfg: SaturationScalingConfig{KvCacheThreshold: 0.8, QueueLengthThreshold: math.Inf(1)}, wantErr: "queueLengthThreshold must be a finite number"},
		"infinite itl":           {cfg: SaturationScalingConfig{KvCacheThreshold: 0.8, ITLTargetMs: math.Inf(1)}, wantErr: "itlTargetMs must be a finite number"},
		"queue signal off (< 0)": {cfg: SaturationScalingConfig{KvCacheThreshold: 0.8, KvSpareTrigger: 0.1, QueueLengthThreshold: 2, QueueSpareTrigger: 3}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
}

func TestConfigFor(t *testing.T) {
	def := DefaultSaturationScalingConfig()
	anyNS := SaturationScalingConfig{ModelID: "llama", KvCacheThreshold: 0.7}
	prodNS := SaturationScalingConfig{ModelID: "llama", Namespace: "prod", KvCacheThreshold: 0.9}
	configs := map[string]SaturationScalingConfig{"default": def, "llama-any": anyNS, "llama-prod": prodNS}
	tests := map[string]struct {
		configs       map[string]SaturationScalingConfig
		model, ns     string
		want          SaturationScalingConfig
		wantAvailable bool
	}{
		"namespace override wins":    {configs, "llama", "prod", prodNS, true},
		"model override elsewhere":   {configs, "llama", "dev", anyNS, true},
		"other model gets default":   {configs, "granite", "prod", def, true},
		"no default and no override": {map[string]SaturationScalingConfig{"x": anyNS}, "granite", "prod", SaturationScalingConfig{}, false},
		"nil map":                    {nil, "llama", "prod", SaturationScalingConfig{}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := ConfigFor(tc.configs, tc.model, tc.ns)
			if ok != tc.wantAvailable {
				t.Fatalf("found = %v, want %v", ok, tc.wantAvailable)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestActionFor(t *testing.T) {
	for _, tc := range []struct {
		current, target int
		want            Action
	}{{2, 3, ActionScaleUp}, {3, 2, ActionScaleDown}, {2, 2, ActionNoChange}, {0, 1, ActionScaleUp}} {
		if got := ActionFor(tc.current, tc.target); got != tc.want {
			t.Errorf("ActionFor(%d, %d) = %s, want %s", tc.current, tc.target, got, tc.want)
		}
	}
}
