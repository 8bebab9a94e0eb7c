package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/actuator"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// writes is everything the controller produces from decision d for a VariantAutoscaling whose
// status holds base: the status after applyDecision, the events it records and the wva_*
// gauges the actuator publishes (Metrics mode; Direct mode writes DirectReplicas of the same
// target on top, and d.LastRunTime only feeds the age histogram of a changed target).
func writes(t *testing.T, base *wvav1alpha1.VariantAutoscaling, d interfaces.VariantDecision) string {
	t.Helper()
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC))
	rec := events.NewFakeRecorder(100)
	r := &VariantAutoscalingReconciler{recorder: rec, clock: clk}
	va, original := base.DeepCopy(), base.DeepCopy()
	r.applyDecision(va, original, d)
	status, err := json.Marshal(va.Status)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	act, err := actuator.New(reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := act.Actuate(context.Background(), va, d); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	out.Write(status)
	close(rec.Events)
	for e := range rec.Events {
		out.WriteString("\nevent " + e)
	}
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "wva_desired") || strings.HasPrefix(f.GetName(), "wva_current") {
			out.WriteString("\n" + f.String())
		}
	}
	return out.String()
}

// vary returns d with field i changed.
func vary(d interfaces.VariantDecision, i int) interfaces.VariantDecision {
	v := reflect.ValueOf(&d).Elem().Field(i)
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "-other")
	case reflect.Int:
		v.SetInt(v.Int() + 1)
	case reflect.Float64:
		v.SetFloat(v.Float() + 1)
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Struct: // time.Time
		v.Set(reflect.ValueOf(v.Interface().(time.Time).Add(time.Hour)))
	default:
		panic(fmt.Sprintf("vary: field %s of kind %s", reflect.TypeOf(d).Field(i).Name, v.Kind()))
	}
	return d
}

// TestSameOutcomeCoversWhatTheControllerWrites changes every field of a decision, one at a
// time, from several starting decisions, and checks common.SameOutcome (by which the engine
// decides whether to ask for a reconcile) against what the controller would write: whenever
// the writes differ, SameOutcome must say so (else the engine would leave a status stale until
// the resync); and every field SameOutcome compares changes the writes for some decision (it
// asks for no reconcile that can write nothing new).
func TestSameOutcomeCoversWhatTheControllerWrites(t *testing.T) {
	va := testutil.VariantAutoscaling("granite").Namespace("ns").Accelerator("L4").Obj()
	t0 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	decided := interfaces.VariantDecision{VariantName: va.Name, Namespace: va.Namespace, ModelID: "m", AcceleratorName: "L4", Cost: 1,
		CurrentReplicas: 2, TargetReplicas: 3, DesiredReplicas: 2, Action: interfaces.ActionScaleUp,
		Reason: "KV demand 2.3 on supply 2.0", SaturationBased: true, SaturationOnly: true,
		MetricsAvailable: true, MetricsReason: wvav1alpha1.ReasonMetricsFound, MetricsMessage: "Fresh metrics.", LastRunTime: t0}
	held := decided
	held.MetricsAvailable, held.MetricsReason, held.MetricsMessage, held.SafetyOverride = false, wvav1alpha1.ReasonMetricsMissing, "No pod reported.", true
	limited := decided
	limited.LimitedBy = "the L4 GPU inventory (4 GPUs)"
	zero := decided
	zero.TargetReplicas, zero.Action, zero.ScaledToZero = 0, interfaces.ActionScaleDown, true
	noAction := decided
	noAction.Action = ""

	matters := map[string]bool{}
	for _, base := range []interfaces.VariantDecision{decided, held, limited, zero, noAction} {
		// The status as the controller wrote it for base.
		status := va.DeepCopy()
		r := &VariantAutoscalingReconciler{recorder: events.NewFakeRecorder(100), clock: clocktesting.NewFakePassiveClock(t0)}
		r.applyDecision(status, va.DeepCopy(), base)
		before := writes(t, status, base)
		typ := reflect.TypeOf(base)
		for i := range typ.NumField() {
			name := typ.Field(i).Name
			if name == "VariantName" || name == "Namespace" {
				continue // another VariantAutoscaling's decision
			}
			next := vary(base, i)
			differ := writes(t, status, next) != before
			same := common.SameOutcome(base, next)
			if differ && same {
				t.Errorf("changing %s changes what the controller writes, but SameOutcome says the outcome is the same (base %+v)", name, base)
			}
			if !same && differ {
				matters[name] = true
			}
			if !same && !differ {
				t.Logf("changing %s from %+v writes nothing new for this decision", name, base)
			}
		}
	}
	typ := reflect.TypeOf(decided)
	for i := range typ.NumField() {
		name := typ.Field(i).Name
		if !common.SameOutcome(decided, vary(decided, i)) && !matters[name] {
			t.Errorf("SameOutcome compares %s, which changes nothing the controller writes", name)
		}
	}
}
