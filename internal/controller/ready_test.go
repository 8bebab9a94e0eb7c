package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/google/go-cmp/cmp"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

func TestReadyConditionFromStatus(t *testing.T) {
	cond := func(typ string, s metav1.ConditionStatus, reason string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: s, Reason: reason, Message: "m"}
	}
	healthy := []metav1.Condition{
		cond(wvav1alpha1.ConditionTargetResolved, metav1.ConditionTrue, wvav1alpha1.ReasonTargetFound),
		cond(wvav1alpha1.ConditionMetricsAvailable, metav1.ConditionTrue, wvav1alpha1.ReasonMetricsFound),
		cond(wvav1alpha1.ConditionOptimizationReady, metav1.ConditionTrue, wvav1alpha1.ReasonOptimizationSucceeded),
	}
	with := func(cs ...metav1.Condition) []metav1.Condition {
		out := append([]metav1.Condition(nil), healthy...)
		for _, c := range cs {
			meta.SetStatusCondition(&out, c)
		}
		return out
	}
	tests := map[string]struct {
		status     wvav1alpha1.VariantAutoscalingStatus
		wantStatus metav1.ConditionStatus
		wantReason string
	}{
		"empty status": {wantStatus: metav1.ConditionFalse, wantReason: wvav1alpha1.ReasonTargetNotFound},
		"all true, no actuator": {status: wvav1alpha1.VariantAutoscalingStatus{Conditions: healthy},
			wantStatus: metav1.ConditionTrue, wantReason: wvav1alpha1.ReasonAutoscaling},
		"all true, applied": {status: wvav1alpha1.VariantAutoscalingStatus{Conditions: healthy,
			Actuation: &wvav1alpha1.ActuationStatus{Applied: true, Mode: wvav1alpha1.ActuationMetrics}},
			wantStatus: metav1.ConditionTrue, wantReason: wvav1alpha1.ReasonAutoscaling},
		"foreign write, WVA wins": {status: wvav1alpha1.VariantAutoscalingStatus{
			Conditions: with(cond(wvav1alpha1.ConditionActuationConflict, metav1.ConditionTrue, wvav1alpha1.ReasonForeignScaleWrite)),
			Actuation:  &wvav1alpha1.ActuationStatus{Applied: true, Mode: wvav1alpha1.ActuationDirect}},
			wantStatus: metav1.ConditionTrue, wantReason: wvav1alpha1.ReasonAutoscaling},
		"target missing first": {status: wvav1alpha1.VariantAutoscalingStatus{Conditions: with(
			cond(wvav1alpha1.ConditionTargetResolved, metav1.ConditionFalse, wvav1alpha1.ReasonTargetNotFound),
			cond(wvav1alpha1.ConditionMetricsAvailable, metav1.ConditionFalse, wvav1alpha1.ReasonMetricsStale))},
			wantStatus: metav1.ConditionFalse, wantReason: wvav1alpha1.ReasonTargetNotFound},
		"metrics stale": {status: wvav1alpha1.VariantAutoscalingStatus{Conditions: with(
			cond(wvav1alpha1.ConditionMetricsAvailable, metav1.ConditionFalse, wvav1alpha1.ReasonMetricsStale))},
			wantStatus: metav1.ConditionFalse, wantReason: wvav1alpha1.ReasonMetricsStale},
		"metrics unknown": {status: wvav1alpha1.VariantAutoscalingStatus{Conditions: with(
			cond(wvav1alpha1.ConditionMetricsAvailable, metav1.ConditionUnknown, wvav1alpha1.ReasonAwaitingMetrics))},
			wantStatus: metav1.ConditionFalse, wantReason: wvav1alpha1.ReasonAwaitingMetrics},
		"no decision": {status: wvav1alpha1.VariantAutoscalingStatus{Conditions: with(
			cond(wvav1alpha1.ConditionOptimizationReady, metav1.ConditionFalse, wvav1alpha1.ReasonAwaitingDecision))},
			wantStatus: metav1.ConditionFalse, wantReason: wvav1alpha1.ReasonAwaitingDecision},
		"actuation failed": {status: wvav1alpha1.VariantAutoscalingStatus{Conditions: healthy,
			Actuation: &wvav1alpha1.ActuationStatus{Mode: wvav1alpha1.ActuationDirect}},
			wantStatus: metav1.ConditionFalse, wantReason: wvav1alpha1.ReasonActuationFailed},
		"HPA conflict": {status: wvav1alpha1.VariantAutoscalingStatus{
			Conditions: with(cond(wvav1alpha1.ConditionActuationConflict, metav1.ConditionTrue, wvav1alpha1.ReasonHPAConflict)),
			Actuation:  &wvav1alpha1.ActuationStatus{Mode: wvav1alpha1.ActuationDirect}},
			wantStatus: metav1.ConditionFalse, wantReason: wvav1alpha1.ReasonHPAConflict},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, reason, msg := readyCondition(&tc.status)
			if s != tc.wantStatus || reason != tc.wantReason || msg == "" {
				t.Errorf("Ready = %s/%s (%q), want %s/%s", s, reason, msg, tc.wantStatus, tc.wantReason)
			}
		})
	}
}

// readyOf returns the Ready condition the API server holds for key.
func readyOf(ctx context.Context, key client.ObjectKey) (*metav1.Condition, error) {
	va, err := getVA(ctx, key)
	if err != nil {
		return nil, err
	}
	c := meta.FindStatusCondition(va.Status.Conditions, wvav1alpha1.ConditionReady)
	if c == nil {
		return nil, fmt.Errorf("no Ready condition: %v", va.Status.Conditions)
	}
	return c, nil
}

func waitReady(t *testing.T, key client.ObjectKey, status metav1.ConditionStatus, reason string) {
	t.Helper()
	eventually(t, timeout, func() error {
		c, err := readyOf(context.Background(), key)
		if err != nil {
			return err
		}
		if c.Status != status || c.Reason != reason || c.Message == "" {
			return fmt.Errorf("Ready = %s/%s (%q), want %s/%s", c.Status, c.Reason, c.Message, status, reason)
		}
		return nil
	})
}

// TestReadyCondition follows the Ready condition on the API server as kubectl wait
// --for=condition=Ready reads it: type Ready, status True.
func TestReadyCondition(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)

	// A VA whose target is missing: not ready, for that reason.
	orphan := testutil.VariantAutoscaling("orphan").Namespace(ns).Target("nowhere").Obj()
	if err := k8sClient.Create(ctx, orphan); err != nil {
		t.Fatal(err)
	}
	waitReady(t, client.ObjectKeyFromObject(orphan), metav1.ConditionFalse, wvav1alpha1.ReasonTargetNotFound)

	// A VA with its target but no decision yet: waiting for metrics.
	if err := k8sClient.Create(ctx, testutil.Deployment("waiting").Namespace(ns).Obj()); err != nil {
		t.Fatal(err)
	}
	waiting := testutil.VariantAutoscaling("waiting").Namespace(ns).Obj()
	if err := k8sClient.Create(ctx, waiting); err != nil {
		t.Fatal(err)
	}
	waitReady(t, client.ObjectKeyFromObject(waiting), metav1.ConditionFalse, wvav1alpha1.ReasonAwaitingMetrics)

	// A decided and applied VA: ready.
	_, va := createDecided(t, testutil.Deployment("ready").Namespace(ns).Obj(), 2)
	waitReady(t, client.ObjectKeyFromObject(va), metav1.ConditionTrue, wvav1alpha1.ReasonAutoscaling)

	// A decided VA whose actuation fails: not ready, ActuationFailed.
	key := client.ObjectKey{Namespace: ns, Name: "failing"}
	actuated.failOn(key)
	createDecided(t, testutil.Deployment("failing").Namespace(ns).Obj(), 2)
	waitReady(t, key, metav1.ConditionFalse, wvav1alpha1.ReasonActuationFailed)
	c, err := readyOf(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.Message, "failed") {
		t.Errorf("Ready message %q does not say what failed", c.Message)
	}
}

// TestPrinterColumns asks the API server for the table `kubectl get va` and `kubectl get va -o
// wide` print, and checks the columns and a ready variant's row.
func TestPrinterColumns(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	deploy := testutil.Deployment("cols").Namespace(ns).Replicas(2).Obj()
	if err := k8sClient.Create(ctx, deploy); err != nil {
		t.Fatal(err)
	}
	va := testutil.VariantAutoscaling("cols").Namespace(ns).Model("llama-8b").Bounds(1, 6).Obj()
	if err := k8sClient.Create(ctx, va); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(va)
	waitCached(t, key)
	decisions.Set(va.Name, ns, interfaces.VariantDecision{TargetReplicas: 3, AcceleratorName: "L4", MetricsAvailable: true})
	common.TriggerReconcile(trigger, va)
	waitReady(t, key, metav1.ConditionTrue, wvav1alpha1.ReasonAutoscaling)

	httpClient, err := rest.HTTPClientFor(restCfg)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		strings.TrimSuffix(restCfg.Host, "/")+"/apis/"+wvav1alpha1.GroupVersion.String()+"/namespaces/"+ns+"/variantautoscalings", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var table metav1.Table
	if err := json.Unmarshal(body, &table); err != nil {
		t.Fatalf("%s: %v\n%.500s", resp.Status, err, body)
	}
	var normal, wide []string
	for _, c := range table.ColumnDefinitions {
		if c.Priority == 0 {
			normal = append(normal, c.Name)
		} else {
			wide = append(wide, c.Name)
		}
	}
	if diff := cmp.Diff([]string{"Name", "Target", "Model", "Min", "Max", "Current", "Desired", "Ready", "Reason", "Age"}, normal); diff != "" {
		t.Errorf("kubectl get columns (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Accelerator", "SLO-TTFT", "SLO-ITL", "MetricsReady"}, wide); diff != "" {
		t.Errorf("-o wide columns (-want +got):\n%s", diff)
	}
	if len(table.Rows) != 1 {
		t.Fatalf("%d rows, want 1", len(table.Rows))
	}
	row := map[string]string{}
	for i, c := range table.ColumnDefinitions {
		row[c.Name] = fmt.Sprint(table.Rows[0].Cells[i])
	}
	want := map[string]string{"Name": "cols", "Target": "cols", "Model": "llama-8b", "Min": "1", "Max": "6",
		"Current": "2", "Desired": "3", "Ready": "True", "Reason": wvav1alpha1.ReasonAutoscaling, "Accelerator": "L4"}
	for k, v := range want {
		if row[k] != v {
			t.Errorf("column %s = %q, want %q (row %v)", k, row[k], v, row)
		}
	}
}
