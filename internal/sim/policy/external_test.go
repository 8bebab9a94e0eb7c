package policy

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"sigs.k8s.io/yaml"
)

func TestExternalHPAFollowsThePublishedValueWithLag(t *testing.T) {
	cfg := DefaultExternalHPAConfig()
	cfg.Behavior = DefaultBehavior() // scale up at once; down after 300 s
	h, err := NewExternalHPA(cfg)
	if err != nil {
		t.Fatal(err)
	}
	current := 2
	type tick struct {
		at      time.Duration
		publish float64 // 0: nothing published at this tick
		want    int
		wantOK  bool
	}
	for _, tc := range []tick{
		{at: 0, want: 2}, // nothing published yet: no decision
		{at: 5 * time.Second, publish: 5, want: 2},     // published between scrapes
		{at: 15 * time.Second, want: 5, wantOK: true},  // scraped at 15 s, synced at 15 s
		{at: 20 * time.Second, publish: 2, want: 5},    // between syncs
		{at: 30 * time.Second, want: 5, wantOK: true},  // scale-down held by the window
		{at: 330 * time.Second, want: 2, wantOK: true}, // 300 s after the last high value
	} {
		if tc.publish != 0 {
			h.Publish(tc.publish)
		}
		got, ok, err := h.Tick(t0.Add(tc.at), current)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want || ok != tc.wantOK {
			t.Fatalf("at %s: %d, %v; want %d, %v", tc.at, got, ok, tc.want, tc.wantOK)
		}
		current = got
	}
}

func TestChartBehaviorLimitsScaleUp(t *testing.T) {
	h, err := NewExternalHPA(DefaultExternalHPAConfig())
	if err != nil {
		t.Fatal(err)
	}
	h.Publish(30)
	got, ok, err := h.Tick(t0, 2)
	if err != nil || !ok || got != 12 {
		t.Errorf("chart HPA from 2 towards 30: %d, %v; want 12 (10 pods per 150 s)", got, ok)
	}
	if _, err := NewExternalHPA(ExternalHPAConfig{}); err == nil {
		t.Error("a zero config must be rejected")
	}
}

// behaviorOf converts an autoscaling/v2 behaviour to the simulator's, with the API's defaults
// for what it leaves out (selectPolicy Max).
func behaviorOf(t *testing.T, b *autoscalingv2.HorizontalPodAutoscalerBehavior) Behavior {
	t.Helper()
	rules := func(r *autoscalingv2.HPAScalingRules) ScalingRules {
		if r == nil {
			t.Fatal("the sample leaves a direction's behaviour to the defaults")
		}
		out := ScalingRules{Select: SelectMax}
		if r.StabilizationWindowSeconds != nil {
			out.StabilizationWindow = time.Duration(*r.StabilizationWindowSeconds) * time.Second
		}
		if r.SelectPolicy != nil {
			out.Select = SelectPolicy(*r.SelectPolicy)
		}
		for _, p := range r.Policies {
			out.Policies = append(out.Policies, ScalingPolicy{Type: ScalingPolicyType(p.Type), Value: int(p.Value), Period: time.Duration(p.PeriodSeconds) * time.Second})
		}
		return out
	}
	return Behavior{ScaleUp: rules(b.ScaleUp), ScaleDown: rules(b.ScaleDown)}
}

// TestSampleHPA checks SampleExternalHPAConfig against the HPA WVA ships for Metrics mode
// (config/samples/hpa.yaml) and the behaviour of its KEDA alternative.
func TestSampleHPA(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "config", "samples", "hpa.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{}
	if err := yaml.UnmarshalStrict(raw, hpa); err != nil {
		t.Fatal(err)
	}
	cfg := SampleExternalHPAConfig()
	if d := cmp.Diff(behaviorOf(t, hpa.Spec.Behavior), cfg.Behavior); d != "" {
		t.Errorf("SampleBehavior differs from config/samples/hpa.yaml (-sample +sim):\n%s", d)
	}
	if hpa.Spec.MinReplicas == nil || int(*hpa.Spec.MinReplicas) != cfg.MinReplicas {
		t.Errorf("sample minReplicas %v, simulated %d", hpa.Spec.MinReplicas, cfg.MinReplicas)
	}
	for _, r := range []*autoscalingv2.HPAScalingRules{hpa.Spec.Behavior.ScaleUp, hpa.Spec.Behavior.ScaleDown} {
		if r.Tolerance == nil || r.Tolerance.AsApproximateFloat64() != cfg.Tolerance {
			t.Errorf("sample tolerance %v, simulated %g", r.Tolerance, cfg.Tolerance)
		}
	}
	if len(hpa.Spec.Metrics) != 1 || hpa.Spec.Metrics[0].External == nil || hpa.Spec.Metrics[0].External.Metric.Name != "wva_desired_replicas" ||
		hpa.Spec.Metrics[0].External.Target.AverageValue == nil || hpa.Spec.Metrics[0].External.Target.AverageValue.AsApproximateFloat64() != cfg.AverageValue {
		t.Errorf("sample metrics %+v: want one External wva_desired_replicas with AverageValue %g", hpa.Spec.Metrics, cfg.AverageValue)
	}

	raw, err = os.ReadFile(filepath.Join("..", "..", "..", "config", "samples", "keda-scaledobject.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var so struct {
		Spec struct {
			Advanced struct {
				HorizontalPodAutoscalerConfig struct {
					Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior"`
				} `json:"horizontalPodAutoscalerConfig"`
			} `json:"advanced"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &so); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(behaviorOf(t, so.Spec.Advanced.HorizontalPodAutoscalerConfig.Behavior), cfg.Behavior); d != "" {
		t.Errorf("SampleBehavior differs from the KEDA sample's (-sample +sim):\n%s", d)
	}
}
