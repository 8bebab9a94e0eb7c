package actuator

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// samplesDir holds the HPA, prometheus-adapter and KEDA samples that consume the gauges.
var samplesDir = filepath.Join("..", "..", "config", "samples")

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(samplesDir, name))
	if err != nil {
		t.Fatalf("reading sample: %v", err)
	}
	return data
}

// sampleMap parses a sample into a generic map, rejecting duplicate keys.
func sampleMap(t *testing.T, name string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.UnmarshalStrict(readSample(t, name), &m); err != nil {
		t.Fatalf("parsing %s: %v", name, err)
	}
	return m
}

func TestHPASample(t *testing.T) {
	var hpa autoscalingv2.HorizontalPodAutoscaler
	// Strict: a misspelt field is an error, not silently dropped.
	if err := yaml.UnmarshalStrict(readSample(t, "hpa.yaml"), &hpa); err != nil {
		t.Fatalf("parsing hpa.yaml as an autoscaling/v2 HorizontalPodAutoscaler: %v", err)
	}
	if hpa.APIVersion != "autoscaling/v2" || hpa.Kind != "HorizontalPodAutoscaler" {
		t.Errorf("apiVersion/kind = %s/%s, want autoscaling/v2/HorizontalPodAutoscaler", hpa.APIVersion, hpa.Kind)
	}
	if len(hpa.Spec.Metrics) != 1 || hpa.Spec.Metrics[0].External == nil {
		t.Fatalf("spec.metrics = %+v, want one External metric", hpa.Spec.Metrics)
	}
	ext := hpa.Spec.Metrics[0].External
	if ext.Metric.Name != DesiredReplicasMetric {
		t.Errorf("metric name = %q, want %q", ext.Metric.Name, DesiredReplicasMetric)
	}
	// The selector names the Deployment the HPA scales, in the HPA's namespace.
	wantSelector := &metav1.LabelSelector{MatchLabels: map[string]string{
		LabelVariantName:      hpa.Spec.ScaleTargetRef.Name,
		ScrapedNamespaceLabel: hpa.Namespace,
	}}
	if diff := cmp.Diff(wantSelector, ext.Metric.Selector); diff != "" {
		t.Errorf("metric selector (-want +got):\n%s", diff)
	}
	if ext.Target.Type != autoscalingv2.AverageValueMetricType || ext.Target.AverageValue == nil ||
		ext.Target.AverageValue.Cmp(resource.MustParse("1")) != 0 {
		t.Errorf("target = %+v, want AverageValue 1 (the HPA then copies wva_desired_replicas)", ext.Target)
	}
	if hpa.Spec.ScaleTargetRef.Kind != "Deployment" || hpa.Spec.ScaleTargetRef.APIVersion != "apps/v1" {
		t.Errorf("scaleTargetRef = %+v, want an apps/v1 Deployment", hpa.Spec.ScaleTargetRef)
	}
	b := hpa.Spec.Behavior
	if b == nil || b.ScaleDown == nil || b.ScaleDown.StabilizationWindowSeconds == nil || *b.ScaleDown.StabilizationWindowSeconds < 120 {
		t.Errorf("behavior.scaleDown = %+v, want a stabilization window of at least 120 s", b)
	}

	// The API server accepts it (in a namespace of the test's own).
	hpa.Namespace = newNamespace(t)
	if err := k8sClient.Create(context.Background(), &hpa); err != nil {
		t.Fatalf("creating the sample HPA: %v", err)
	}
}

func TestPrometheusAdapterSample(t *testing.T) {
	m := sampleMap(t, "prometheus-adapter-values.yaml")
	rules := lookup[[]any](t, m, "rules", "external")
	if len(rules) != 1 {
		t.Fatalf("rules.external has %d rules, want 1", len(rules))
	}
	rule, ok := rules[0].(map[string]any)
	if !ok {
		t.Fatalf("rules.external[0] is a %T, want a map", rules[0])
	}
	seriesQuery := lookup[string](t, rule, "seriesQuery")
	for _, want := range []string{DesiredReplicasMetric + "{", LabelVariantName + `!=""`, ScrapedNamespaceLabel + `!=""`} {
		if !strings.Contains(seriesQuery, want) {
			t.Errorf("seriesQuery %q does not contain %q", seriesQuery, want)
		}
	}
	if got := lookup[string](t, rule, "name", "as"); got != DesiredReplicasMetric {
		t.Errorf("name.as = %q, want %q", got, DesiredReplicasMetric)
	}
	if got := lookup[string](t, rule, "resources", "overrides", ScrapedNamespaceLabel, "resource"); got != "namespace" {
		t.Errorf("resources.overrides.%s.resource = %q, want namespace", ScrapedNamespaceLabel, got)
	}
	metricsQuery := lookup[string](t, rule, "metricsQuery")
	for _, want := range []string{"<<.LabelMatchers>>", fmt.Sprintf("max by (%s, %s)", LabelVariantName, ScrapedNamespaceLabel)} {
		if !strings.Contains(metricsQuery, want) {
			t.Errorf("metricsQuery %q does not contain %q", metricsQuery, want)
		}
	}
}

// kedaQuery is the query the KEDA sample must run for the Deployment name in namespace ns.
func kedaQuery(name, ns string) string {
	return fmt.Sprintf(`max(%s{%s=%q,%s=%q})`, DesiredReplicasMetric, LabelVariantName, name, ScrapedNamespaceLabel, ns)
}

func TestKEDASample(t *testing.T) {
	m := sampleMap(t, "keda-scaledobject.yaml")
	obj := unstructured.Unstructured{Object: m}
	if obj.GetAPIVersion() != "keda.sh/v1alpha1" || obj.GetKind() != "ScaledObject" {
		t.Errorf("apiVersion/kind = %s/%s, want keda.sh/v1alpha1/ScaledObject", obj.GetAPIVersion(), obj.GetKind())
	}
	target := lookup[string](t, m, "spec", "scaleTargetRef", "name")
	triggers := lookup[[]any](t, m, "spec", "triggers")
	if len(triggers) != 1 {
		t.Fatalf("spec.triggers has %d triggers, want 1", len(triggers))
	}
	trigger, ok := triggers[0].(map[string]any)
	if !ok {
		t.Fatalf("spec.triggers[0] is a %T, want a map", triggers[0])
	}
	if got := lookup[string](t, trigger, "type"); got != "prometheus" {
		t.Errorf("trigger type = %q, want prometheus", got)
	}
	want := map[string]string{
		"query":      kedaQuery(target, obj.GetNamespace()),
		"metricType": "AverageValue",
		"threshold":  "1",
	}
	for key, w := range want {
		if got := lookup[string](t, trigger, "metadata", key); got != w {
			t.Errorf("trigger metadata.%s = %q, want %q", key, got, w)
		}
	}
	if got := lookup[float64](t, m, "spec", "minReplicaCount"); got < 1 {
		t.Errorf("spec.minReplicaCount = %v, want at least 1 (KEDA's default 0 scales to zero)", got)
	}
}

// lookup returns the value at path in m as a T, failing the test when it is missing or of
// another type.
func lookup[T any](t *testing.T, m map[string]any, path ...string) T {
	t.Helper()
	var cur any = m
	for i, k := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("%s is a %T, want a map", strings.Join(path[:i], "."), cur)
		}
		if cur, ok = mm[k]; !ok {
			t.Fatalf("%s is missing", strings.Join(path[:i+1], "."))
		}
	}
	v, ok := cur.(T)
	if !ok {
		var zero T
		t.Fatalf("%s is a %T, want a %T", strings.Join(path, "."), cur, zero)
	}
	return v
}
