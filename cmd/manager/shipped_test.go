package main

import (
	"flag"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/config"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/defaults"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// TestShippedDefaults checks that what config/default installs is defaults.Shipped(), the one
// statement of the defaults that the manager and the simulator's wva policy both use: the engine
// interval and the saturation thresholds of the ConfigMaps, the manager's options after the
// manifest's args, and the CRD's default actuation mode.
func TestShippedDefaults(t *testing.T) {
	want := defaults.Shipped()
	got := defaults.Settings{ScaleDownStepFraction: want.ScaleDownStepFraction} // no manifest sets the step
	const prefix = "workload-variant-autoscaler-"
	found := map[string]bool{}
	for _, o := range renderInstall(t) {
		switch {
		case o.GetKind() == "ConfigMap" && o.GetName() == prefix+"variantautoscaling-config":
			found["main ConfigMap"] = true
			raw, _, _ := unstructured.NestedString(o.Object, "data", config.OptimizationIntervalKey)
			d, err := config.ParseOptimizationInterval(raw)
			if err != nil {
				t.Errorf("main ConfigMap: %v", err)
			}
			got.Interval = d
		case o.GetKind() == "ConfigMap" && o.GetName() == prefix+"saturation-scaling-config":
			found["saturation ConfigMap"] = true
			data, _, _ := unstructured.NestedStringMap(o.Object, "data")
			parsed, errs := config.ParseSaturationConfig(data, nil)
			for _, err := range errs {
				t.Errorf("saturation ConfigMap: %v", err)
			}
			got.Saturation = parsed[interfaces.DefaultSaturationConfigKey]
		case o.GetKind() == "Deployment":
			found["manager Deployment"] = true
			containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
			fs := flag.NewFlagSet("manager", flag.ContinueOnError)
			opts := DefaultOptions()
			opts.BindFlags(fs)
			if err := fs.Parse(args); err != nil {
				t.Errorf("manager args %v: %v", args, err)
			}
			got.Analyzer, got.ScaleDownStabilization, got.MetricsWindow = opts.Analyzer, opts.ScaleDownStabilization, opts.MetricsWindow
		case o.GetKind() == "CustomResourceDefinition" && o.GetName() == "variantautoscalings.llmd.ai":
			found["CRD"] = true
			versions, _, _ := unstructured.NestedSlice(o.Object, "spec", "versions")
			for _, v := range versions {
				mode, _, _ := unstructured.NestedString(v.(map[string]any), "schema", "openAPIV3Schema", "properties", "spec",
					"properties", "actuation", "properties", "mode", "default")
				got.ActuationMode = wvav1alpha1.ActuationMode(mode)
			}
		}
	}
	for _, what := range []string{"main ConfigMap", "saturation ConfigMap", "manager Deployment", "CRD"} {
		if !found[what] {
			t.Errorf("config/default renders no %s", what)
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("config/default installs other settings than defaults.Shipped() (-shipped +installed):\n%s", d)
	}
}
