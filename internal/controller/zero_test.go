package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/actuator"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	promsource "github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector/prometheus"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/saturation"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// wallTime evaluates the Source's queries at the wall-clock time: the engine runs on a fake clock
// stepped over the retention, while the test Prometheus holds only the last seconds of samples.
type wallTime struct{ s *promsource.Source }

func (w wallTime) Collect(ctx context.Context, targets []collector.Target, _ time.Time) (collector.Snapshot, error) {
	return w.s.Collect(ctx, targets, time.Now())
}

func (w wallTime) WaitingDemand(ctx context.Context, models []collector.IdleModel, _ time.Time) (map[collector.ModelKey]float64, error) {
	return w.s.WaitingDemand(ctx, models, time.Now())
}

// TestScaleToZeroAndBackOnGatewayDemand runs the engine, the controller and the actuator on the
// real API server with the real Prometheus source: a model of two variants (cheap in Metrics
// mode, dear in Direct mode), idle for its 10-minute retention on the engine's fake clock, goes
// to zero: the Direct variant's Deployment is scaled to 0 and the Metrics variant publishes
// wva_desired_replicas 0 for its HPA. When the inference gateway's flow-control queue shows
// requests for the model, one poll of the scale-from-zero loop sets the cheapest variant's
// Deployment (Metrics mode: no HPA acts at zero in time) to 1 and its decision to 1.
func TestScaleToZeroAndBackOnGatewayDemand(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	const modelID = "granite-zero"
	idleBody := func() string {
		var b strings.Builder
		b.WriteString(testutil.VLLMExposition(
			testutil.VLLMSample{Model: modelID, Namespace: ns, Pod: "cheap-" + testutil.ReplicaSetHash + "-0", KvUsage: 0.01},
			testutil.VLLMSample{Model: modelID, Namespace: ns, Pod: "dear-" + testutil.ReplicaSetHash + "-0", KvUsage: 0.01}))
		b.WriteString("# TYPE vllm:request_success_total counter\n")
		for _, pod := range []string{"cheap", "dear"} {
			fmt.Fprintf(&b, "vllm:request_success_total{model_name=%q,namespace=%q,pod=%q} 42\n", modelID, ns, pod+"-"+testutil.ReplicaSetHash+"-0")
		}
		return b.String()
	}
	metricsSrv := testutil.StartMetricsServer(t, idleBody())
	prom := testutil.StartPrometheus(t, metricsSrv.Addr)

	reg := prometheus.NewRegistry()
	act, err := actuator.New(reg, k8sClient)
	if err != nil {
		t.Fatal(err)
	}
	vas := map[string]*wvav1alpha1.VariantAutoscaling{}
	deploys := map[string]*appsv1.Deployment{}
	for name, cost := range map[string]string{"cheap": "5", "dear": "20"} {
		d := testutil.Deployment(name).Namespace(ns).Replicas(1).Obj()
		if err := k8sClient.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
		if _, err := testutil.ServingPods(ctx, k8sClient, d, 1); err != nil {
			t.Fatal(err)
		}
		w := testutil.VariantAutoscaling(name).Namespace(ns).Model(modelID).Target(name).Cost(cost).Accelerator("H100").ScaleToZero(600, "")
		if name == "dear" {
			w = w.Direct()
		}
		va := w.Obj()
		actuated.delegate(client.ObjectKeyFromObject(va), act)
		if err := k8sClient.Create(ctx, va); err != nil {
			t.Fatal(err)
		}
		waitCached(t, client.ObjectKeyFromObject(va))
		vas[name], deploys[name] = va, d
	}

	// Both pods scraped twice, so the request rate reads 0 rather than missing.
	pctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := prom.WaitFor(pctx, `count(rate(vllm:request_success_total{namespace="`+ns+`"}[1m]))`, func(v model.Vector) bool {
		return len(v) == 1 && v[0].Value == 2
	}); err != nil {
		t.Fatal(err)
	}

	src := wallTime{promsource.New(prom.API, cachedClient)}
	clk := clocktesting.NewFakeClock(time.Now())
	engine, err := saturation.New(src, inNamespace{vaCache, ns}, common.NewGlobalConfig(), decisions, trigger,
		saturation.WithClock(clk), saturation.WithRegisterer(prometheus.NewRegistry()), saturation.WithScaleDownStabilization(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	replicas := func(name string) (int32, error) {
		d := &appsv1.Deployment{}
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(deploys[name]), d); err != nil {
			return 0, err
		}
		return ptr.Deref(d.Spec.Replicas, 1), nil
	}
	expect := func(name string, deployReplicas int32, desired int, reason string) {
		t.Helper()
		eventually(t, timeout, func() error {
			got, err := getVA(ctx, client.ObjectKeyFromObject(vas[name]))
			if err != nil {
				return err
			}
			n, err := replicas(name)
			if err != nil {
				return err
			}
			c := meta.FindStatusCondition(got.Status.Conditions, wvav1alpha1.ConditionOptimizationReady)
			if n != deployReplicas || got.Status.OptimizedAlloc.Replicas != desired || c == nil || c.Reason != reason {
				return fmt.Errorf("%s: Deployment at %d, desired %d, OptimizationReady %+v; want %d, %d, %s", name, n,
					got.Status.OptimizedAlloc.Replicas, c, deployReplicas, desired, reason)
			}
			return nil
		})
	}
	cycle := func(step time.Duration) {
		t.Helper()
		clk.Step(step)
		if err := engine.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// Idle, within the retention: the model keeps its cheap replica.
	cycle(0)
	cycle(9 * time.Minute)
	expect("cheap", 1, 1, wvav1alpha1.ReasonOptimizationSucceeded)

	// Idle for the retention: both variants go to 0.
	cycle(time.Minute)
	expect("dear", 0, 0, wvav1alpha1.ReasonScaledToZero)
	expect("cheap", 1, 0, wvav1alpha1.ReasonScaledToZero) // Metrics mode: the HPA's move
	if v, err := gauge(reg, actuator.DesiredReplicasMetric, "cheap"); err != nil || v != 0 {
		t.Errorf("wva_desired_replicas of cheap = %g (%v), want 0", v, err)
	}

	// The HPA (minReplicas 0) follows; the ReplicaSet controllers remove the pods.
	if err := k8sClient.Patch(ctx, deploys["cheap"], client.RawPatch(types.MergePatchType, []byte(`{"spec":{"replicas":0}}`))); err != nil {
		t.Fatal(err)
	}
	if err := k8sClient.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	metricsSrv.Set("")
	eventually(t, timeout, func() error {
		var pods corev1.PodList
		if err := cachedClient.List(ctx, &pods, client.InNamespace(ns)); err != nil || len(pods.Items) > 0 {
			return fmt.Errorf("%d pods cached (%v)", len(pods.Items), err)
		}
		return nil
	})
	cycle(time.Hour)
	expect("cheap", 0, 0, wvav1alpha1.ReasonScaledToZero)

	// Nothing waits: a poll leaves the model at zero.
	fz := engine.FromZero(src, act, 0)
	if err := fz.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := replicas("cheap"); err != nil || n != 0 {
		t.Fatalf("cheap at %d replicas (%v) with no demand, want 0", n, err)
	}

	// Requests wait in the gateway's queue: one poll brings the cheap variant back.
	metricsSrv.Set(fmt.Sprintf("# TYPE %s gauge\n%s{namespace=%q,inference_pool=\"pool\",model_name=%q,target_model_name=%q,fairness_id=\"a\",priority=\"0\"} 3\n",
		promsource.MetricFlowControlQueueSize, promsource.MetricFlowControlQueueSize, ns, modelID, modelID))
	if _, err := prom.WaitFor(pctx, promsource.MetricFlowControlQueueSize+`{namespace="`+ns+`"}`, func(v model.Vector) bool { return len(v) == 1 }); err != nil {
		t.Fatal(err)
	}
	if err := fz.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := replicas("cheap"); err != nil || n != 1 {
		t.Fatalf("cheap at %d replicas (%v) after the poll, want 1", n, err)
	}
	expect("cheap", 1, 1, wvav1alpha1.ReasonOptimizationSucceeded)
	expect("dear", 0, 0, wvav1alpha1.ReasonScaledToZero)
	if v, err := gauge(reg, actuator.DesiredReplicasMetric, "cheap"); err != nil || v != 1 {
		t.Errorf("wva_desired_replicas of cheap = %g (%v), want 1", v, err)
	}
	// The next cycle, with the new replica not yet ready, keeps it.
	cycle(time.Second)
	expect("cheap", 1, 1, wvav1alpha1.ReasonOptimizationSucceeded)
}

// gauge returns the value of the series of metric whose variant_name is deployment.
func gauge(reg *prometheus.Registry, metric, deployment string) (float64, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return 0, err
	}
	for _, mf := range mfs {
		if mf.GetName() != metric {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == actuator.LabelVariantName && l.GetValue() == deployment {
					return m.GetGauge().GetValue(), nil
				}
			}
		}
	}
	return 0, fmt.Errorf("no %s series for %s", metric, deployment)
}

// TestScaleToZeroValidation: the API server rejects scaleToZero without minReplicas 0 and a
// retention outside 0..86400.
func TestScaleToZeroValidation(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	noMin := testutil.VariantAutoscaling("no-min").Namespace(ns).Target("d").ScaleToZero(600, "").Obj()
	noMin.Spec.MinReplicas = nil
	long := testutil.VariantAutoscaling("long").Namespace(ns).Target("d").ScaleToZero(86401, "").Obj()
	for va, want := range map[*wvav1alpha1.VariantAutoscaling]string{
		noMin: "spec.scaleToZero needs spec.minReplicas: 0",
		long:  "spec.scaleToZero.retentionSeconds must be between 0 and 86400",
	} {
		if err := k8sClient.Create(ctx, va); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("creating %s: %v, want %q", va.Name, err, want)
		}
	}
	ok := testutil.VariantAutoscaling("ok").Namespace(ns).Target("d").ScaleToZero(0, "sum(q)").Obj()
	if err := k8sClient.Create(ctx, ok); err != nil {
		t.Errorf("creating a valid scaleToZero: %v", err)
	}
}
