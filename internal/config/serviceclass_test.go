package config

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

func TestExampleServiceClasses(t *testing.T) {
	raw, err := os.ReadFile("testdata/service-classes-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(raw, &cm); err != nil {
		t.Fatal(err)
	}
	if cm.Name != DefaultServiceClassesConfigMapName || cm.Namespace != DefaultNamespace {
		t.Errorf("example is %s/%s, want the default names", cm.Namespace, cm.Name)
	}
	got, errs := ParseServiceClasses(cm.Data, nil)
	if len(errs) != 0 {
		t.Fatalf("example rejected: %v", errs)
	}
	const llama8b = "meta-llama/Llama-3.1-8B-Instruct"
	for name, tc := range map[string]struct {
		model, namespace string
		want             interfaces.SLOTargets
		found            bool
	}{
		"premium model anywhere": {llama8b, "llm", interfaces.SLOTargets{TTFT: 500 * time.Millisecond, ITL: 24 * time.Millisecond,
			Attainment: 0.99, Source: `service class "Premium"`}, true},
		"namespaced entry wins over priority": {llama8b, "batch", interfaces.SLOTargets{TTFT: 5 * time.Second,
			Attainment: 0.99, Source: `service class "Freemium"`}, true},
		"own attainment": {"meta-llama/Llama-3.1-70B-Instruct", "llm", interfaces.SLOTargets{TTFT: time.Second, ITL: 80 * time.Millisecond,
			Attainment: 0.995, Source: `service class "Premium"`}, true},
		"unlisted model": {"mistral", "llm", interfaces.SLOTargets{}, false},
	} {
		t.Run(name, func(t *testing.T) {
			slo, ok := interfaces.SLOForModel(got, tc.model, tc.namespace)
			if ok != tc.found {
				t.Fatalf("found = %v, want %v", ok, tc.found)
			}
			if diff := cmp.Diff(tc.want, slo); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSampleServiceClasses: the sample for config/default's install is the example under the
// install's name.
func TestSampleServiceClasses(t *testing.T) {
	raw, err := os.ReadFile("../../config/samples/service-classes-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(raw, &cm); err != nil {
		t.Fatal(err)
	}
	if cm.Name != "workload-variant-autoscaler-"+DefaultServiceClassesConfigMapName || cm.Namespace != DefaultNamespace {
		t.Errorf("sample is %s/%s, want the name config/default installs", cm.Namespace, cm.Name)
	}
	if _, errs := ParseServiceClasses(cm.Data, nil); len(errs) != 0 {
		t.Errorf("sample rejected: %v", errs)
	}
}

func TestParseServiceClasses(t *testing.T) {
	good := "name: Gold\npriority: 1\ndata:\n- model: m\n  slo-ttft: 500\n  slo-tpot: 20\n"
	gold := interfaces.ServiceClass{Name: "Gold", Priority: 1, Data: []interfaces.ServiceClassModel{{Model: "m", TTFTMs: 500, TPOTMs: 20}}}
	prevSilver := interfaces.ServiceClass{Name: "Silver", Priority: 5, Data: []interfaces.ServiceClassModel{{Model: "s", TTFTMs: 900}}}
	tests := map[string]struct {
		data     map[string]string
		previous map[string]interfaces.ServiceClass
		want     map[string]interfaces.ServiceClass
		errKey   string
		errText  string
	}{
		"valid":           {data: map[string]string{"gold.yaml": good}, want: map[string]interfaces.ServiceClass{"gold.yaml": gold}},
		"empty ConfigMap": {data: map[string]string{}, want: map[string]interfaces.ServiceClass{}},
		"unknown field keeps the previous class": {
			data:     map[string]string{"gold.yaml": good, "silver.yaml": "name: Silver\npriority: 5\ndata:\n- model: s\n  slo-ttfb: 900\n"},
			previous: map[string]interfaces.ServiceClass{"silver.yaml": prevSilver},
			want:     map[string]interfaces.ServiceClass{"gold.yaml": gold, "silver.yaml": prevSilver},
			errKey:   "silver.yaml", errText: `unknown field "slo-ttfb"`,
		},
		"not YAML": {
			data:   map[string]string{"x": "name: [unclosed"},
			want:   map[string]interfaces.ServiceClass{},
			errKey: "x", errText: "decoding YAML",
		},
		"ttft as a duration string": {
			data:   map[string]string{"x": "name: X\npriority: 1\ndata:\n- model: m\n  slo-ttft: 500ms\n"},
			want:   map[string]interfaces.ServiceClass{},
			errKey: "x", errText: "decoding YAML",
		},
		"no name": {
			data:   map[string]string{"x": "priority: 1\ndata:\n- model: m\n  slo-ttft: 500\n"},
			want:   map[string]interfaces.ServiceClass{},
			errKey: "x", errText: "name must not be empty",
		},
		"no models": {
			data:   map[string]string{"x": "name: X\npriority: 1\n"},
			want:   map[string]interfaces.ServiceClass{},
			errKey: "x", errText: "data must list at least one model",
		},
		"entry without a target": {
			data:   map[string]string{"x": "name: X\npriority: 1\ndata:\n- model: m\n"},
			want:   map[string]interfaces.ServiceClass{},
			errKey: "x", errText: `data[0] (model "m") must set slo-ttft or slo-tpot`,
		},
		"negative tpot": {
			data:   map[string]string{"x": "name: X\npriority: 1\ndata:\n- model: m\n  slo-tpot: -3\n"},
			want:   map[string]interfaces.ServiceClass{},
			errKey: "x", errText: "data[0].slo-tpot -3 must be between 1 and 60000 milliseconds",
		},
		"ttft too long": {
			data:   map[string]string{"x": "name: X\npriority: 1\ndata:\n- model: m\n  slo-ttft: 700000\n"},
			want:   map[string]interfaces.ServiceClass{},
			errKey: "x", errText: "data[0].slo-ttft 700000 must be between 1 and 600000 milliseconds",
		},
		"attainment as a percentage": {
			data:   map[string]string{"x": "name: X\npriority: 1\ndata:\n- model: m\n  slo-ttft: 500\n  slo-attainment: 99\n"},
			want:   map[string]interfaces.ServiceClass{},
			errKey: "x", errText: "data[0].slo-attainment 99 must lie in [0.5, 1)",
		},
		"model twice in a class": {
			data:   map[string]string{"x": "name: X\npriority: 1\ndata:\n- model: m\n  slo-ttft: 500\n- model: m\n  slo-tpot: 5\n"},
			want:   map[string]interfaces.ServiceClass{},
			errKey: "x", errText: `data[1] repeats model "m"`,
		},
		"class name twice": {
			data:   map[string]string{"a": good, "b": good},
			want:   map[string]interfaces.ServiceClass{"a": gold},
			errKey: "b", errText: `class "Gold" is already defined by entry "a"`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, errs := ParseServiceClasses(tc.data, tc.previous)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("classes (-want +got):\n%s", diff)
			}
			if tc.errKey == "" {
				if len(errs) != 0 {
					t.Errorf("errors = %v, want none", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Key != tc.errKey || !strings.Contains(errs[0].Error(), tc.errText) {
				t.Errorf("errors = %v, want one for key %q containing %q", errs, tc.errKey, tc.errText)
			}
		})
	}
}
