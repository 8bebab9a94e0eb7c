package saturation

import (
	"context"
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/inventory"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// fakeInventory is an in-memory GPUInventory for pure engine tests.
type fakeInventory struct {
	snap inventory.Snapshot
	gpus int // per replica, for every target
	err  error
	sel  string
}

func (f *fakeInventory) Read(_ context.Context, sel labels.Selector, targets []types.NamespacedName) (inventory.Snapshot, map[types.NamespacedName]inventory.Requirement, error) {
	f.sel = sel.String()
	reqs := map[types.NamespacedName]inventory.Requirement{}
	for _, t := range targets {
		reqs[t] = inventory.Requirement{Resource: "nvidia.com/gpu", GPUs: f.gpus}
	}
	return f.snap, reqs, f.err
}

func competingHarness(t *testing.T, free int) (*harness, *fakeInventory, *wvav1alpha1.VariantAutoscaling, *wvav1alpha1.VariantAutoscaling) {
	t.Helper()
	chat := testutil.VariantAutoscaling("chat-h100").Model("chat").Accelerator("H100").Bounds(1, 20).Obj()
	batch := testutil.VariantAutoscaling("batch-h100").Model("batch").Accelerator("H100").Bounds(1, 20).Obj()
	h := newHarness(t, analysis.AnalyzerCapacity, chat, batch)
	inv := &fakeInventory{gpus: 1, snap: inventory.Snapshot{Accelerators: map[string]inventory.Count{
		"NVIDIA-H100-80GB-HBM3": {Allocatable: free, Nodes: 1}}}}
	WithGPUInventory(inv)(h.engine)
	h.cfg.UpdateGPULimits(interfaces.GPULimits{Enabled: true, NodeSelector: "pool=gpu"})
	h.cfg.UpdateServiceClasses(map[string]interfaces.ServiceClass{
		"premium": {Name: "Premium", Priority: 1, Data: []interfaces.ServiceClassModel{{Model: "chat", TTFTMs: 500}}},
		"free":    {Name: "Free", Priority: 10, Data: []interfaces.ServiceClassModel{{Model: "batch", TTFTMs: 5000}}},
	})
	// Both models' load is five times what their two replicas serve.
	h.observe(chat, observed(2, 1.0, 30))
	h.observe(batch, observed(2, 1.0, 30))
	return h, inv, chat, batch
}

func TestLimiterServesPriorityFirst(t *testing.T) {
	h, inv, chat, batch := competingHarness(t, 8)
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, b := h.decision(t, chat), h.decision(t, batch)
	if c.TargetReplicas+b.TargetReplicas > 8 {
		t.Errorf("targets %d + %d exceed the 8 GPUs", c.TargetReplicas, b.TargetReplicas)
	}
	if c.TargetReplicas != 7 || c.LimitedBy == "" || b.TargetReplicas != 1 {
		t.Errorf("chat %d (limited by %q), batch %d; want the premium model 7 and the free one its minimum 1:\n%s\n%s",
			c.TargetReplicas, c.LimitedBy, b.TargetReplicas, c.Reason, b.Reason)
	}
	if b.LimitedBy != "the H100 GPU inventory (8 GPUs)" || !strings.Contains(b.Reason, "Limited to 1 of") {
		t.Errorf("batch limit %q, reason %q", b.LimitedBy, b.Reason)
	}
	if inv.sel != "pool=gpu" {
		t.Errorf("node selector passed %q", inv.sel)
	}

	// Limiter off: both get what the analyzer wants.
	h.cfg.UpdateGPULimits(interfaces.GPULimits{})
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c, b := h.decision(t, chat), h.decision(t, batch); c.LimitedBy != "" || b.LimitedBy != "" || b.TargetReplicas < 6 {
		t.Errorf("limiter off: chat %d %q, batch %d %q", c.TargetReplicas, c.LimitedBy, b.TargetReplicas, b.LimitedBy)
	}
}

func TestLimiterQuotaPerNamespace(t *testing.T) {
	h, _, chat, batch := competingHarness(t, 100)
	h.cfg.UpdateGPULimits(interfaces.GPULimits{Enabled: true, Quotas: []interfaces.GPUQuota{{Accelerator: "h100", Namespace: "default", GPUs: 5}}})
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, b := h.decision(t, chat), h.decision(t, batch)
	if c.TargetReplicas != 4 || b.TargetReplicas != 1 || b.LimitedBy != "the h100 GPU quota of namespace default (5 GPUs)" {
		t.Errorf("chat %d, batch %d limited by %q", c.TargetReplicas, b.TargetReplicas, b.LimitedBy)
	}
}

func TestLimiterInventoryErrorWithholdsScaleUp(t *testing.T) {
	h, inv, chat, _ := competingHarness(t, 8)
	inv.err = errors.New("cache not started")
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c := h.decision(t, chat); c.TargetReplicas != 2 || !strings.Contains(c.Reason, "GPU inventory could not be read") {
		t.Errorf("chat %d: %s", c.TargetReplicas, c.Reason)
	}
}
