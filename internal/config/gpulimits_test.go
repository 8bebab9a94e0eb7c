package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

func TestParseGPULimits(t *testing.T) {
	previous := interfaces.GPULimits{Enabled: true, NodeSelector: "pool=gpu",
		Quotas: []interfaces.GPUQuota{{Accelerator: "H100", GPUs: 8}}}
	cases := map[string]struct {
		data    map[string]string
		want    interfaces.GPULimits
		errKeys []string
	}{
		"nothing set: off": {data: map[string]string{}, want: interfaces.GPULimits{}},
		"all set": {data: map[string]string{LimitedModeKey: "TRUE", NodeSelectorKey: "pool in (gpu, big)",
			GPUQuotasKey: "- accelerator: H100\n  gpus: 16\n- accelerator: h100\n  namespace: team-a\n  gpus: 4\n- accelerator: A100\n  gpus: 0\n"},
			want: interfaces.GPULimits{Enabled: true, NodeSelector: "pool in (gpu, big)", Quotas: []interfaces.GPUQuota{
				{Accelerator: "H100", GPUs: 16}, {Accelerator: "h100", Namespace: "team-a", GPUs: 4}, {Accelerator: "A100"}}}},
		"bad values keep the last good ones": {data: map[string]string{LimitedModeKey: "yes please", NodeSelectorKey: "pool in (gpu",
			GPUQuotasKey: "- accelerator: H100\n  gpus: -1\n"}, want: previous,
			errKeys: []string{LimitedModeKey, NodeSelectorKey, GPUQuotasKey}},
		"duplicate quota": {data: map[string]string{LimitedModeKey: "true", GPUQuotasKey: "- {accelerator: H100, gpus: 1}\n- {accelerator: h100, gpus: 2}\n"},
			want: interfaces.GPULimits{Enabled: true, Quotas: previous.Quotas}, errKeys: []string{GPUQuotasKey}},
		"unknown field": {data: map[string]string{LimitedModeKey: "true", GPUQuotasKey: "- {accelerator: H100, gpu: 1}\n"},
			want: interfaces.GPULimits{Enabled: true, Quotas: previous.Quotas}, errKeys: []string{GPUQuotasKey}},
		"bad namespace": {data: map[string]string{GPUQuotasKey: "- {accelerator: H100, namespace: Team_A, gpus: 1}\n"},
			want: interfaces.GPULimits{Quotas: previous.Quotas}, errKeys: []string{GPUQuotasKey}},
		"empty accelerator": {data: map[string]string{GPUQuotasKey: "- {gpus: 1}\n"},
			want: interfaces.GPULimits{Quotas: previous.Quotas}, errKeys: []string{GPUQuotasKey}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, errs := ParseGPULimits(tc.data, previous)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("limits (-want +got):\n%s", d)
			}
			var keys []string
			for _, e := range errs {
				keys = append(keys, e.Key)
			}
			if d := cmp.Diff(tc.errKeys, keys); d != "" {
				t.Errorf("rejected keys (-want +got):\n%s (errors %v)", d, errs)
			}
		})
	}
}

func TestPriorityForModel(t *testing.T) {
	classes := map[string]interfaces.ServiceClass{
		"premium":  {Name: "Premium", Priority: 1, Data: []interfaces.ServiceClassModel{{Model: "llama", TTFTMs: 500}}},
		"freemium": {Name: "Freemium", Priority: 10, Data: []interfaces.ServiceClassModel{{Model: "llama", Namespace: "free", TTFTMs: 2000}, {Model: "granite", TTFTMs: 2000}}},
	}
	for _, tc := range []struct {
		model, ns string
		want      int
	}{{"llama", "prod", 1}, {"llama", "free", 10}, {"granite", "x", 10}, {"other", "x", interfaces.UnclassifiedPriority}} {
		if got := interfaces.PriorityForModel(classes, tc.model, tc.ns); got != tc.want {
			t.Errorf("PriorityForModel(%s, %s) = %d, want %d", tc.model, tc.ns, got, tc.want)
		}
	}
}
