package saturation

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// TestUnschedulablePodsStopTheGrowth replays what the e2e GPU-exhausted scenario showed: two
// GPUs, overload, maxReplicas 5. The engine kept asking for 5 while three pods sat Pending for
// want of GPUs. Now, while pods are unschedulable, the target is the ready and starting pods
// plus one; growth resumes once the scheduler places the Pending pod.
func TestUnschedulablePodsStopTheGrowth(t *testing.T) {
	va := testutil.VariantAutoscaling("llama-h100").Model("llama").Accelerator("H100").Cost("3").Bounds(1, 5).Obj()
	h := newHarness(t, analysis.AnalyzerCapacity, va)
	overloaded := func(spec, ready, starting, unschedulable int) collector.VariantObservation {
		o := observed(ready, 1.0, 40)
		o.CurrentReplicas, o.StartingReplicas, o.UnschedulableReplicas = spec, starting, unschedulable
		return o
	}
	steps := []struct {
		name string
		obs  collector.VariantObservation
		want int
		note bool // the reason names the cap
	}{
		{"2 ready, overloaded", overloaded(2, 2, 0, 0), 5, false},
		{"3 Pending for GPUs", overloaded(5, 2, 0, 3), 3, true},
		{"1 Pending for GPUs", overloaded(3, 2, 0, 1), 3, true},
		{"the Pending pod got a GPU and starts", overloaded(3, 2, 1, 0), 5, false},
	}
	var got []int
	for _, s := range steps {
		h.observe(va, s.obs)
		if err := h.engine.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		d := h.decision(t, va)
		got = append(got, d.TargetReplicas)
		if capped := strings.Contains(d.Reason, "Capped at"); capped != s.note {
			t.Errorf("%s: reason names the cap = %v, want %v: %s", s.name, capped, s.note, d.Reason)
		}
		if s.note && !strings.Contains(d.Reason, "Unschedulable") {
			t.Errorf("%s: reason does not say why: %s", s.name, d.Reason)
		}
		h.clock.Step(15 * time.Second)
	}
	if diff := cmp.Diff([]int{5, 3, 3, 5}, got); diff != "" {
		t.Errorf("targets per cycle (-want +got):\n%s", diff)
	}
}

// TestUnschedulableCapKeepsMinReplicas: the cap never goes below minReplicas.
func TestUnschedulableCapKeepsMinReplicas(t *testing.T) {
	va := testutil.VariantAutoscaling("llama-h100").Model("llama").Accelerator("H100").Cost("3").Bounds(4, 8).Obj()
	h := newHarness(t, analysis.AnalyzerCapacity, va)
	o := observed(1, 1.0, 40)
	o.CurrentReplicas, o.UnschedulableReplicas = 4, 3
	h.observe(va, o)
	if err := h.engine.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := h.decision(t, va); d.TargetReplicas != 4 {
		t.Errorf("target %d, want minReplicas 4: %s", d.TargetReplicas, d.Reason)
	}
}

func TestCapUnschedulable(t *testing.T) {
	cases := []struct {
		ready, starting, unschedulable, target, want int
	}{
		{ready: 2, unschedulable: 0, target: 9, want: 9},              // nothing Pending: no cap
		{ready: 2, unschedulable: 3, target: 5, want: 3},              // ready + 1
		{ready: 2, starting: 2, unschedulable: 1, target: 9, want: 5}, // starting pods have GPUs
		{ready: 2, unschedulable: 3, target: 2, want: 2},              // a lower target stands
		{ready: 0, starting: 0, unschedulable: 4, target: 4, want: 1}, // nothing placed: one probe
	}
	for _, c := range cases {
		obs := collector.VariantObservation{ReadyReplicas: c.ready, StartingReplicas: c.starting, UnschedulableReplicas: c.unschedulable}
		got, note := capUnschedulable(obs, c.target)
		if got != c.want || (note != "") != (got != c.target) {
			t.Errorf("%+v: got %d (%q), want %d", c, got, note, c.want)
		}
	}
}
