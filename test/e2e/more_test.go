//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/test/e2e/vllmemu"
)

// TestScaleDownAfterLoad: after a load step and its scale-up, the load ends; WVA lowers the
// replicas only after the scale-down stabilisation window, down to the minimum, and no pod is
// removed while it still serves a request in the emulator.
func TestScaleDownAfterLoad(t *testing.T) {
	_, cl := setup(t)
	res := &scenarioResult{Name: "scale-down-after-load"}
	record(t, res)
	const ns = "e2e-scaledown"
	// One A100 variant: the light load before the step fits one replica (an L4 would need six).
	v := a100()
	v.direct = true
	deploy(t, cl, ns, v)
	loadStep(t, cl, ns, res, v)
	// Let the scale-up finish: every pod Ready.
	eventually(t, 2*time.Minute, "scale-up done", func() error {
		s := observe(t, cl, ns, v)
		if s.ready[v.name] != s.spec[v.name] || s.spec[v.name] != s.decision[v.name] {
			return fmt.Errorf("decision %d spec %d ready %d", s.decision[v.name], s.spec[v.name], s.ready[v.name])
		}
		return nil
	})
	peak := observe(t, cl, ns, v).decision[v.name]
	tEnd := time.Now()
	setLoad(t, vllmemu.LoadRequest{Namespace: ns, Model: model})
	var tDown time.Time
	eventually(t, 6*time.Minute, "scale-down to the minimum", func() error {
		s := observe(t, cl, ns, v)
		if tDown.IsZero() && s.decision[v.name] < peak {
			tDown = time.Now()
		}
		if s.decision[v.name] != int(v.min) || s.spec[v.name] != int(v.min) {
			return fmt.Errorf("decision %d spec %d", s.decision[v.name], s.spec[v.name])
		}
		return nil
	})
	res.Notes = fmt.Sprintf("peak %d replicas; first lower decision %.1fs after the load ended (stabilisation %s, metrics window 1m)",
		peak, tDown.Sub(tEnd).Seconds(), scaleDownStabilization)
	t.Log(res.Notes)
	if d := tDown.Sub(tEnd); d < scaleDownStabilization {
		t.Errorf("the decision fell %.1fs after the load ended, within the stabilisation window %s", d.Seconds(), scaleDownStabilization)
	}
	st := emulatorStats(t)
	if lost := st.Lost[ns+"/"+model]; lost > 0 {
		t.Errorf("%d requests were lost on pods removed while serving them", lost)
	}
}

// TestPrometheusOutage: with Prometheus stopped, WVA holds its decision and reports
// MetricsAvailable=False; when Prometheus is back, metrics are available again.
func TestPrometheusOutage(t *testing.T) {
	c, cl := setup(t)
	res := &scenarioResult{Name: "prometheus-outage"}
	record(t, res)
	const ns = "e2e-promdown"
	v := l4()
	v.direct = true
	v.min = 2
	deploy(t, cl, ns, v)
	setLoad(t, vllmemu.LoadRequest{Namespace: ns, Model: model, Rate: 0.5, InputTokens: 1000, OutputTokens: 100, Seed: 3})
	defer setLoad(t, vllmemu.LoadRequest{Namespace: ns, Model: model})
	before := settle(t, cl, ns, v)
	if err := c.StopPrometheus(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			_ = c.StartPrometheus(context.Background())
		}
	}()
	var reason string
	eventually(t, 2*time.Minute, "MetricsAvailable=False with Prometheus stopped", func() error {
		s := observe(t, cl, ns, v)
		reason = s.reasons[v.name]
		if s.metricsAvailable[v.name] != metav1.ConditionFalse {
			return fmt.Errorf("MetricsAvailable %q (%s)", s.metricsAvailable[v.name], reason)
		}
		return nil
	})
	// Three more engine cycles without Prometheus: the decision and the replicas stay.
	interval, _ := time.ParseDuration(engineInterval)
	deadline := time.Now().Add(3 * interval)
	held := true
	for time.Now().Before(deadline) {
		s := observe(t, cl, ns, v)
		if s.decision[v.name] != before.decision[v.name] || s.spec[v.name] != before.spec[v.name] {
			held = false
			t.Errorf("without metrics the decision moved: decision %d spec %d, before %d %d",
				s.decision[v.name], s.spec[v.name], before.decision[v.name], before.spec[v.name])
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	res.DecisionHeldOnOutage = &held
	res.Notes = "MetricsAvailable=False reason " + reason
	if err := c.StartPrometheus(context.Background()); err != nil {
		t.Fatal(err)
	}
	restarted = true
	eventually(t, 2*time.Minute, "MetricsAvailable=True after Prometheus is back", func() error {
		s := observe(t, cl, ns, v)
		if s.metricsAvailable[v.name] != metav1.ConditionTrue {
			return fmt.Errorf("MetricsAvailable %q (%s)", s.metricsAvailable[v.name], s.reasons[v.name])
		}
		return nil
	})
}

// TestGPUExhausted: the only H100 node has two GPUs. Under heavy load WVA asks for more than
// two replicas; the extra pods stay Pending with "Insufficient nvidia.com/gpu", WVA does not
// count them as ready capacity, and its decision stays within the variant's maximum.
func TestGPUExhausted(t *testing.T) {
	_, cl := setup(t)
	res := &scenarioResult{Name: "gpu-exhausted"}
	record(t, res)
	const ns = "e2e-gpu"
	v := variant{name: "llama-h100", profile: sim.ProfileH100, product: "NVIDIA-H100-80GB-HBM3", accelerator: "H100",
		cost: "2.99", startup: 5 * time.Second, min: 1, max: 5, direct: true}
	deploy(t, cl, ns, v)
	setLoad(t, vllmemu.LoadRequest{Namespace: ns, Model: model, Rate: 60, InputTokens: 6000, OutputTokens: 500, Seed: 4})
	defer setLoad(t, vllmemu.LoadRequest{Namespace: ns, Model: model})
	ctx := context.Background()
	var pendingMsg string
	eventually(t, 4*time.Minute, "a pod Pending for want of GPUs", func() error {
		s := observe(t, cl, ns, v)
		if s.decision[v.name] > int(v.max) {
			t.Fatalf("decision %d above the maximum %d", s.decision[v.name], v.max)
		}
		pods := &corev1.PodList{}
		if err := cl.List(ctx, pods, client.InNamespace(ns)); err != nil {
			return err
		}
		for _, p := range pods.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && strings.Contains(c.Message, "Insufficient nvidia.com/gpu") {
					pendingMsg = c.Message
					return nil
				}
			}
		}
		return fmt.Errorf("no unschedulable pod yet: decision %d spec %d ready %d", s.decision[v.name], s.spec[v.name], s.ready[v.name])
	})
	t.Logf("pending: %s", pendingMsg)
	// WVA stops asking for more: while pods are unschedulable, the decision is at most the
	// ready and starting pods plus one (the two GPUs give two ready pods, so at most 3), and the
	// reason of the change says why.
	const gpus = 2
	eventually(t, 2*time.Minute, "the decision capped at the placeable pods plus one", func() error {
		s := observe(t, cl, ns, v)
		if s.decision[v.name] > gpus+1 || s.spec[v.name] > gpus+1 {
			return fmt.Errorf("decision %d, spec %d, ready %d: still asking for more than %d", s.decision[v.name], s.spec[v.name], s.ready[v.name], gpus+1)
		}
		return nil
	})
	capNote := ""
	eventually(t, time.Minute, "an event naming the cap", func() error {
		evs := &corev1.EventList{}
		if err := cl.List(ctx, evs, client.InNamespace(ns)); err != nil {
			return err
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.Name == v.name && strings.Contains(e.Message, "Capped at") && strings.Contains(e.Message, "Unschedulable") {
				capNote = e.Message
				return nil
			}
		}
		return fmt.Errorf("no DesiredReplicasChanged event names the cap among %d events", len(evs.Items))
	})
	t.Logf("cap: %s", capNote)
	// Several engine cycles later the cap still holds: no more than one pod Pending, the ready
	// capacity WVA reports is the two scheduled pods, and the decision stays bounded.
	interval, _ := time.ParseDuration(engineInterval)
	for range 4 {
		time.Sleep(interval)
		s := observe(t, cl, ns, v)
		if s.decision[v.name] > gpus+1 {
			t.Errorf("decision %d with %d GPUs: WVA keeps asking for more", s.decision[v.name], gpus)
		}
		if n := unschedulablePods(t, cl, ns); n > 1 {
			t.Errorf("%d pods Pending for GPUs, want at most 1 (spec %d, ready %d)", n, s.spec[v.name], s.ready[v.name])
		}
	}
	va := &wvav1alpha1.VariantAutoscaling{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: v.name}, va); err != nil {
		t.Fatal(err)
	}
	s := observe(t, cl, ns, v)
	notCounted := va.Status.CurrentAlloc != nil && va.Status.CurrentAlloc.ReadyReplicas <= gpus
	res.PendingPodsNotCounted = &notCounted
	res.Notes = fmt.Sprintf("decision %d, spec %d, ready %d, status.currentAlloc %+v; %s", s.decision[v.name], s.spec[v.name], s.ready[v.name], va.Status.CurrentAlloc, capNote)
	t.Log(res.Notes)
	if !notCounted {
		t.Errorf("WVA reports more ready replicas than GPUs exist: %+v", va.Status.CurrentAlloc)
	}
	if s.ready[v.name] > gpus {
		t.Errorf("%d pods Ready on %d GPUs", s.ready[v.name], gpus)
	}
	if s.decision[v.name] > gpus+1 {
		t.Errorf("decision %d above the %d placeable pods plus one", s.decision[v.name], gpus)
	}
}

// unschedulablePods counts the pods of ns the scheduler could not place.
func unschedulablePods(t *testing.T, cl client.Client, ns string) int {
	t.Helper()
	pods := &corev1.PodList{}
	if err := cl.List(context.Background(), pods, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range pods.Items {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable && p.DeletionTimestamp == nil {
				n++
			}
		}
	}
	return n
}
