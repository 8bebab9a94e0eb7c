package policy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/actuator"
	promsource "github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector/prometheus"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/defaults"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/promsim"
)

// TestDefaultWVAIsShipped: the wva policy runs what ships — defaults.Shipped(), which
// cmd/manager's TestShippedDefaults checks against config/default — through the sample HPA.
func TestDefaultWVAIsShipped(t *testing.T) {
	d := defaults.Shipped()
	c := DefaultWVAConfig()
	got := defaults.Settings{Analyzer: c.Analyzer, Interval: c.Interval, ActuationMode: c.Mode(), Saturation: c.Saturation,
		ScaleDownStabilization: c.ScaleDownStabilization, ScaleDownStepFraction: c.ScaleDownStepFraction, MetricsWindow: d.MetricsWindow}
	if diff := cmp.Diff(d, got); diff != "" {
		t.Errorf("DefaultWVAConfig is not what ships (-shipped +wva):\n%s", diff)
	}
	if diff := cmp.Diff(SampleExternalHPAConfig(), c.HPA); diff != "" {
		t.Errorf("DefaultWVAConfig's HPA is not the sample HPA (-sample +wva):\n%s", diff)
	}
}

// runWVA runs cfg on sc through the production metrics pipeline, as report.Compare does.
func runWVA(t *testing.T, sc sim.Scenario, cfg WVAConfig) (*WVA, sim.Result, *promsim.Pipeline) {
	t.Helper()
	return runPipeline(t, sc, cfg, promsim.DefaultScrapeConfig(), nil)
}

// runPipeline runs cfg on sc through the production metrics pipeline scraped as scrape says,
// the policy wrapped by wrap when it is not nil; the timeline is kept every 15 s.
func runPipeline(t *testing.T, sc sim.Scenario, cfg WVAConfig, scrape promsim.ScrapeConfig, wrap func(sim.Policy) sim.Policy) (*WVA, sim.Result, *promsim.Pipeline) {
	t.Helper()
	pipe, err := promsim.NewPipeline(scrape, sc.Start, promsource.WithWindow(sc.PeakWindow))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pipe.Close() })
	cfg.Source, cfg.Kube = pipe, pipe.Kube()
	clk := testingclock.NewFakeClock(sc.Start)
	w, err := NewWVA(cfg, clk)
	if err != nil {
		t.Fatal(err)
	}
	opts := []sim.RunOption{sim.WithClock(clk), sim.WithObserver(pipe), sim.WithTimeline(15 * time.Second)}
	if cfg.Mode() == wvav1alpha1.ActuationDirect {
		opts = append(opts, sim.WithActuationDelay(sim.DefaultTick))
	}
	var p sim.Policy = w
	if wrap != nil {
		p = wrap(w)
	}
	res, err := sim.Run(context.Background(), sc, p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return w, res, pipe
}

// TestWVAStepGolden pins the per-tick behaviour of wva (as shipped) and wva-v1 on the step
// scenario: the timeline every 15 s and the score. Regenerate with:
// go test ./internal/sim/policy -run Golden -update
func TestWVAStepGolden(t *testing.T) {
	for _, cfg := range []WVAConfig{DefaultWVAConfig(), ReferenceWVAConfig()} {
		t.Run(cfg.Name, func(t *testing.T) {
			cfg.Saturation.ITLTargetMs = 50
			_, res, _ := runWVA(t, stepScenario(t), cfg)
			var got bytes.Buffer
			fmt.Fprintf(&got, "# %s policy (%s) on the step scenario, metrics through the simulated Prometheus:\n", cfg.Name, cfg.Describe())
			got.WriteString("# 1 req/s for 3 min, 16 req/s for 6 min, 1 req/s for 6 min; 1000/200 tokens; A100-40GB, 60 s start-up.\n")
			if err := sim.WriteTimeline(&got, res.Timeline); err != nil {
				t.Fatal(err)
			}
			if err := sim.WriteScore(&got, res.Score); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", cfg.Name+"-step.golden")
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading golden file (run with -update to create it): %v", err)
			}
			if d := cmp.Diff(string(want), got.String()); d != "" {
				t.Errorf("timeline differs from %s (-want +got); rerun with -update if the change is intended:\n%s", path, d)
			}
		})
	}
}

// gauge reads the value of metric{variant_name=deployment} from g.
func gauge(t *testing.T, g prometheus.Gatherer, metric, deployment string) (float64, bool) {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != metric {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == actuator.LabelVariantName && l.GetValue() == deployment {
					return m.GetGauge().GetValue(), true
				}
			}
		}
	}
	return 0, false
}

// TestWVAActuatesThroughTheActuator: in both modes the decisions go through the production
// actuator. Metrics mode publishes wva_desired_replicas on the policy's registry (the HPA's
// input); Direct mode also scales the Deployment in the cluster's Kubernetes store, which the
// fleet follows.
func TestWVAActuatesThroughTheActuator(t *testing.T) {
	for _, mode := range []wvav1alpha1.ActuationMode{wvav1alpha1.ActuationMetrics, wvav1alpha1.ActuationDirect} {
		t.Run(string(mode), func(t *testing.T) {
			cfg := DefaultWVAConfig()
			cfg.Actuation = mode
			w, res, pipe := runWVA(t, stepScenario(t), cfg)
			if res.Score.ScaleEvents == 0 {
				t.Fatalf("no scale event on the step: %+v", res.Score)
			}
			desired, ok := gauge(t, w.Registry(), actuator.DesiredReplicasMetric, "a100")
			if !ok {
				t.Fatalf("%s not published", actuator.DesiredReplicasMetric)
			}
			if desired < 1 {
				t.Errorf("%s = %g", actuator.DesiredReplicasMetric, desired)
			}
			dep := &appsv1.Deployment{}
			if err := pipe.Kube().Reader().Get(context.Background(), stepScenario(t).Variants[0].Key(), dep); err != nil {
				t.Fatal(err)
			}
			last := res.Timeline[len(res.Timeline)-1].Variants[0].Replicas
			if int(ptr.Deref(dep.Spec.Replicas, -1)) != last {
				t.Errorf("Deployment spec.replicas %d, fleet %d", ptr.Deref(dep.Spec.Replicas, -1), last)
			}
		})
	}
}

// TestWVADirectModeFollowsTheDeployment: in Direct mode each change the policy returns is the
// Deployment's spec.replicas in the cluster's Kubernetes store right after the actuator wrote its
// scale subresource, within the VariantAutoscaling's bounds.
func TestWVADirectModeFollowsTheDeployment(t *testing.T) {
	cfg := DefaultWVAConfig()
	cfg.Actuation = wvav1alpha1.ActuationDirect
	kube, err := promsim.NewKubeStore(t0)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Kube = kube
	clk := testingclock.NewFakeClock(t0)
	w, err := NewWVA(cfg, clk)
	if err != nil {
		t.Fatal(err)
	}
	sc := stepScenario(t)
	sc.Variants[0].MaxReplicas = 3
	changes := 0
	p := checkingPolicy{Policy: w, check: func(d map[string]int) {
		changes++
		dep := &appsv1.Deployment{}
		if err := kube.Reader().Get(context.Background(), sc.Variants[0].Key(), dep); err != nil {
			t.Fatal(err)
		}
		if n, ok := d["a100"]; !ok || n != int(ptr.Deref(dep.Spec.Replicas, -1)) || n < 1 || n > 3 {
			t.Errorf("decision %v, Deployment spec.replicas %d: want equal, within [1, 3]", d, ptr.Deref(dep.Spec.Replicas, -1))
		}
	}}
	if _, err := sim.Run(context.Background(), sc, p, sim.WithClock(clk)); err != nil {
		t.Fatal(err)
	}
	if changes == 0 {
		t.Fatal("the step scenario scaled nothing")
	}
	if got, _ := gauge(t, w.Registry(), actuator.ActuationErrorsTotalMetric, "a100"); got != 0 {
		t.Errorf("%s = %g", actuator.ActuationErrorsTotalMetric, got)
	}
}

// checkingPolicy calls check with every non-empty decision of Policy.
type checkingPolicy struct {
	sim.Policy
	check func(map[string]int)
}

func (c checkingPolicy) Decide(ctx context.Context, now time.Time, cl sim.Cluster) (map[string]int, error) {
	d, err := c.Policy.Decide(ctx, now, cl)
	if len(d) > 0 {
		c.check(d)
	}
	return d, err
}

// TestDesiredReplicasReadsTheRegistry: the HPA's gauge reader sums the series of its Deployment
// and namespace, as an External metric does, and reports none when there is none.
func TestDesiredReplicasReadsTheRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: actuator.DesiredReplicasMetric},
		[]string{actuator.LabelVariantName, actuator.LabelNamespace, actuator.LabelAcceleratorType})
	reg.MustRegister(g)
	read := desiredReplicas(reg, "ns", "dep")
	if _, ok, err := read(); ok || err != nil {
		t.Fatalf("no series: ok %v, err %v", ok, err)
	}
	g.WithLabelValues("dep", "ns", "H100").Set(3)
	g.WithLabelValues("dep", "ns", "A100").Set(2)
	g.WithLabelValues("dep", "other", "H100").Set(7)
	g.WithLabelValues("other", "ns", "H100").Set(9)
	v, ok, err := read()
	if diff := cmp.Diff([]any{5.0, true, nil}, []any{v, ok, err}, cmpopts.EquateErrors()); diff != "" {
		t.Errorf("read (-want +got):\n%s", diff)
	}
}
