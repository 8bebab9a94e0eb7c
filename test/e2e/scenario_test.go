//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/test/e2e/chain"
	"github.com/llm-d-incubation/workload-variant-autoscaler/test/e2e/vllmemu"
)

// model is the one model every scenario serves.
const model = sim.DefaultModelID

// variant is one Deployment + VariantAutoscaling of a scenario.
type variant struct {
	name, profile, product, accelerator, cost string
	startup                                   time.Duration
	min, max                                  int32
	direct                                    bool
}

// l4 and a100 are the two variants of the load-step scenarios.
func l4() variant {
	return variant{name: "llama-l4", profile: sim.ProfileL4, product: "NVIDIA-L4", accelerator: "L4", cost: "0.80",
		startup: 15 * time.Second, min: 1, max: 6}
}

func a100() variant {
	return variant{name: "llama-a100", profile: sim.ProfileA100, product: "NVIDIA-A100-SXM4-40GB", accelerator: "A100",
		cost: "1.29", startup: 15 * time.Second, min: 1, max: 6}
}

// deploy creates the namespace, the variants' Deployments (one GPU per pod, on nodes with the
// variant's GPU product, Ready after the start-up delay) and their VariantAutoscalings.
func deploy(t *testing.T, cl client.Client, ns string, vs ...variant) {
	t.Helper()
	ctx := context.Background()
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
	// The scenarios share the GPU nodes: free this one's GPUs before the next starts.
	t.Cleanup(func() {
		setLoad(t, vllmemu.LoadRequest{Namespace: ns, Model: model})
		if err := cl.Delete(ctx, nsObj); err != nil {
			t.Errorf("deleting namespace %s: %v", ns, err)
			return
		}
		eventually(t, 2*time.Minute, "the scenario's pods gone", func() error {
			pods := &corev1.PodList{}
			if err := cl.List(ctx, pods, client.InNamespace(ns)); err != nil {
				return err
			}
			if len(pods.Items) > 0 {
				return fmt.Errorf("%d pods left in %s", len(pods.Items), ns)
			}
			return nil
		})
	})
	if err := chain.Deploy(ctx, env.cluster, cl, ns, chainVariants(vs)...); err != nil {
		t.Fatal(err)
	}
}

// chainVariants returns vs as chain.Variants serving model.
func chainVariants(vs []variant) []chain.Variant {
	out := make([]chain.Variant, len(vs))
	for i, v := range vs {
		out[i] = chain.Variant{Name: v.name, Profile: v.profile, Product: v.product, Accelerator: v.accelerator,
			Cost: v.cost, Model: model, Startup: v.startup, Min: v.min, Max: v.max, Direct: v.direct}
	}
	return out
}

// snapshot is what a scenario watches: per variant, the decision, spec.replicas and ready pods.
type snapshot struct {
	decision, spec, ready map[string]int
	metricsAvailable      map[string]metav1.ConditionStatus
	reasons               map[string]string
}

func (s snapshot) sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func observe(t *testing.T, cl client.Client, ns string, vs ...variant) snapshot {
	t.Helper()
	cs, err := chain.Observe(context.Background(), cl, ns, chainVariants(vs)...)
	if err != nil {
		t.Fatal(err)
	}
	return snapshot{decision: cs.Decision, spec: cs.Spec, ready: cs.Ready, metricsAvailable: cs.MetricsAvailable, reasons: cs.Reasons}
}

// settle waits until every variant has fresh metrics and a decision that spec.replicas and the
// Ready pods match, unchanged for two engine cycles.
func settle(t *testing.T, cl client.Client, ns string, vs ...variant) snapshot {
	t.Helper()
	interval, _ := time.ParseDuration(engineInterval)
	var s snapshot
	var stableSince time.Time
	var last map[string]int
	eventually(t, 4*time.Minute, "variants settled with metrics", func() error {
		s = observe(t, cl, ns, vs...)
		for _, v := range vs {
			if s.metricsAvailable[v.name] != metav1.ConditionTrue {
				stableSince = time.Time{}
				return fmt.Errorf("%s: MetricsAvailable %q (%s)", v.name, s.metricsAvailable[v.name], s.reasons[v.name])
			}
			if s.decision[v.name] != s.ready[v.name] || s.spec[v.name] != s.ready[v.name] || s.decision[v.name] < int(v.min) {
				stableSince = time.Time{}
				return fmt.Errorf("%s: decision %d, spec %d, ready %d", v.name, s.decision[v.name], s.spec[v.name], s.ready[v.name])
			}
		}
		if stableSince.IsZero() || !maps.Equal(last, s.decision) {
			stableSince, last = time.Now(), s.decision
		}
		if time.Since(stableSince) < 2*interval {
			return fmt.Errorf("decision %v not yet stable for two cycles", s.decision)
		}
		return nil
	})
	return s
}

// loadStep settles the variants under a light load, steps the load up and measures the time
// from the step to the first larger decision, the first larger spec.replicas and the first
// larger number of Ready pods.
func loadStep(t *testing.T, cl client.Client, ns string, res *scenarioResult, vs ...variant) snapshot {
	t.Helper()
	// The light load starts once the first pods have loaded the model: requests queued in the
	// router meanwhile would arrive as a burst and scale the variants up before the step.
	eventually(t, 2*time.Minute, "the first pods Ready", func() error {
		s := observe(t, cl, ns, vs...)
		for _, v := range vs {
			if s.ready[v.name] < int(v.min) {
				return fmt.Errorf("%s: %d Ready", v.name, s.ready[v.name])
			}
		}
		return nil
	})
	setLoad(t, vllmemu.LoadRequest{Namespace: ns, Model: model, Rate: 1, InputTokens: 3000, OutputTokens: 300, Seed: 1})
	before := settle(t, cl, ns, vs...)
	maxSum := 0
	for _, v := range vs {
		maxSum += int(v.max)
	}
	if before.sum(before.decision) >= maxSum {
		t.Fatalf("the light load already needs every replica allowed: %v", before.decision)
	}
	t0 := time.Now()
	res.stepAt = t0
	setLoad(t, vllmemu.LoadRequest{Namespace: ns, Model: model, Rate: 12, InputTokens: 3000, OutputTokens: 300, Seed: 2})
	var tDecision, tSpec, tReady time.Time
	var s snapshot
	eventually(t, 4*time.Minute, "scale-up after the load step", func() error {
		s = observe(t, cl, ns, vs...)
		now := time.Now()
		res.addSample(t0, now, s)
		if tDecision.IsZero() && s.sum(s.decision) > before.sum(before.decision) {
			tDecision = now
		}
		if tSpec.IsZero() && s.sum(s.spec) > before.sum(before.spec) {
			tSpec = now
		}
		if tReady.IsZero() && s.sum(s.ready) > before.sum(before.ready) {
			tReady = now
		}
		for _, v := range vs {
			if s.decision[v.name] > int(v.max) || s.decision[v.name] < int(v.min) {
				t.Errorf("%s: decision %d outside [%d, %d]", v.name, s.decision[v.name], v.min, v.max)
			}
		}
		if tReady.IsZero() {
			return fmt.Errorf("decision %v spec %v ready %v", s.decision, s.spec, s.ready)
		}
		return nil
	})
	res.StepToDecisionSeconds = secondsSince(t0, tDecision)
	res.StepToSpecSeconds = secondsSince(t0, tSpec)
	res.StepToReadySeconds = secondsSince(t0, tReady)
	t.Logf("step -> decision %.1fs, -> spec.replicas %.1fs, -> Ready %.1fs; decision %v, spec %v, ready %v",
		*res.StepToDecisionSeconds, *res.StepToSpecSeconds, *res.StepToReadySeconds, s.decision, s.spec, s.ready)
	// Ready comes after the start-up delay the pods were given.
	minStartup := vs[0].startup
	for _, v := range vs {
		minStartup = min(minStartup, v.startup)
	}
	if d := tReady.Sub(tSpec); d < minStartup-time.Second {
		t.Errorf("a new pod was Ready %.1fs after spec.replicas grew, before its start-up delay of %s", d.Seconds(), minStartup)
	}
	return s
}

// TestDirectLoadStep: one model, two variants in Direct mode; a load step makes WVA write a
// larger spec.replicas itself, and the new pods become Ready after the model-load delay.
func TestDirectLoadStep(t *testing.T) {
	_, cl := setup(t)
	res := &scenarioResult{Name: "direct-load-step"}
	record(t, res)
	const ns = "e2e-direct"
	vs := []variant{l4(), a100()}
	for i := range vs {
		vs[i].direct = true
	}
	deploy(t, cl, ns, vs...)
	defer setLoad(t, vllmemu.LoadRequest{Namespace: ns, Model: model})
	s := loadStep(t, cl, ns, res, vs...)
	step := res.stepAt
	// Direct mode: spec.replicas follows the decision.
	eventually(t, time.Minute, "spec.replicas equal to the decision", func() error {
		s = observe(t, cl, ns, vs...)
		res.addSample(step, time.Now(), s)
		for _, v := range vs {
			if s.spec[v.name] != s.decision[v.name] {
				return fmt.Errorf("%s: spec %d, decision %d", v.name, s.spec[v.name], s.decision[v.name])
			}
		}
		return nil
	})
	// The rest of the replica timeline (for the comparison with the simulator, docs/e2e.md):
	// until every new pod is Ready and nothing changed for three engine cycles, at most 90 s.
	interval, _ := time.ParseDuration(engineInterval)
	quiet := time.Now()
	for end := time.Now().Add(90 * time.Second); time.Now().Before(end) && time.Since(quiet) < 3*interval; time.Sleep(250 * time.Millisecond) {
		n := len(res.Timeline)
		res.addSample(step, time.Now(), observe(t, cl, ns, vs...))
		if len(res.Timeline) != n {
			quiet = time.Now()
		}
	}
}
