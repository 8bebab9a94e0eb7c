package actuator

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// newDirectActuator returns an Actuator on a fresh registry that scales through c.
func newDirectActuator(t *testing.T, c DirectClient) *Actuator {
	t.Helper()
	a, err := New(prometheus.NewRegistry(), c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// getDeployment reads the Deployment back through the API server.
func getDeployment(t *testing.T, ns, name string) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
		t.Fatalf("getting Deployment %s/%s: %v", ns, name, err)
	}
	return d
}

func TestDirectModeScalesTheDeployment(t *testing.T) {
	tests := map[string]struct {
		va        func(ns string) *wvav1alpha1.VariantAutoscaling
		replicas  int32 // the Deployment's spec.replicas before
		target    int   // the decision
		want      int32 // spec.replicas after
		wantWrite bool  // whether the Deployment was written
	}{
		"scales up to the decision": {
			va: func(ns string) *wvav1alpha1.VariantAutoscaling {
				return testutil.VariantAutoscaling("llama").Namespace(ns).Direct().Obj()
			},
			replicas: 2, target: 4, want: 4, wantWrite: true,
		},
		"scales down to the decision": {
			va: func(ns string) *wvav1alpha1.VariantAutoscaling {
				return testutil.VariantAutoscaling("llama").Namespace(ns).Direct().Obj()
			},
			replicas: 5, target: 2, want: 2, wantWrite: true,
		},
		"clamped to maxReplicas": {
			va: func(ns string) *wvav1alpha1.VariantAutoscaling {
				return testutil.VariantAutoscaling("llama").Namespace(ns).Bounds(1, 3).Direct().Obj()
			},
			replicas: 2, target: 5, want: 3, wantWrite: true,
		},
		"clamped to minReplicas": {
			va: func(ns string) *wvav1alpha1.VariantAutoscaling {
				return testutil.VariantAutoscaling("llama").Namespace(ns).Bounds(3, 6).Direct().Obj()
			},
			replicas: 5, target: 1, want: 3, wantWrite: true,
		},
		"never scales to zero": {
			va: func(ns string) *wvav1alpha1.VariantAutoscaling {
				return testutil.VariantAutoscaling("llama").Namespace(ns).Direct().Obj()
			},
			replicas: 2, target: 0, want: 1, wantWrite: true,
		},
		"no write when already there": {
			va: func(ns string) *wvav1alpha1.VariantAutoscaling {
				return testutil.VariantAutoscaling("llama").Namespace(ns).Direct().Obj()
			},
			replicas: 4, target: 4, want: 4, wantWrite: false,
		},
		"metrics mode leaves spec.replicas alone": {
			va: func(ns string) *wvav1alpha1.VariantAutoscaling {
				return testutil.VariantAutoscaling("llama").Namespace(ns).Obj()
			},
			replicas: 2, target: 4, want: 2, wantWrite: false,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ns := newNamespace(t)
			mustCreate(t, testutil.Deployment("llama").Namespace(ns).Replicas(tc.replicas).Obj())
			va := tc.va(ns)
			mustCreate(t, va) // the fixture must pass the CRD's validation
			before := getDeployment(t, ns, "llama")

			a := newDirectActuator(t, k8sClient)
			if _, err := a.Actuate(context.Background(), va, decision("", int(tc.replicas), tc.target)); err != nil {
				t.Fatalf("Actuate: %v", err)
			}

			after := getDeployment(t, ns, "llama")
			if got := *after.Spec.Replicas; got != tc.want {
				t.Errorf("spec.replicas = %d, want %d", got, tc.want)
			}
			if wrote := after.ResourceVersion != before.ResourceVersion; wrote != tc.wantWrite {
				t.Errorf("Deployment written = %v, want %v", wrote, tc.wantWrite)
			}
			// Both modes publish the decision itself, unclamped.
			l := prometheus.Labels{LabelVariantName: "llama", LabelNamespace: ns, LabelAcceleratorType: "L4"}
			if got := promtestutil.ToFloat64(a.metrics.desired.With(l)); got != float64(tc.target) {
				t.Errorf("%s = %v, want %d", DesiredReplicasMetric, got, tc.target)
			}
		})
	}
}

func TestDirectModeMissingDeployment(t *testing.T) {
	ns := newNamespace(t)
	va := testutil.VariantAutoscaling("llama").Namespace(ns).Target("absent").Direct().Obj()
	a := newDirectActuator(t, k8sClient)

	_, err := a.Actuate(context.Background(), va, decision("", 1, 3))
	if !apierrors.IsNotFound(err) {
		t.Fatalf("Actuate for a missing Deployment: err = %v, want NotFound", err)
	}
	if want := "getting Deployment " + ns + "/absent"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say what was attempted (%q)", err, want)
	}
	if got := promtestutil.ToFloat64(a.metrics.errors.WithLabelValues("absent", ns, OperationScale)); got != 1 {
		t.Errorf("%s{operation=scale} = %v, want 1", ActuationErrorsTotalMetric, got)
	}
}

func TestDirectModeRetriesConflicts(t *testing.T) {
	ns := newNamespace(t)
	mustCreate(t, testutil.Deployment("llama").Namespace(ns).Replicas(2).Obj())
	va := testutil.VariantAutoscaling("llama").Namespace(ns).Direct().Obj()

	var updates atomic.Int32
	c := interceptor.NewClient(k8sClient, interceptor.Funcs{
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			if updates.Add(1) == 1 {
				// Someone else scales the Deployment between our read and our write.
				d := getDeployment(t, ns, "llama")
				d.Spec.Replicas = ptr.To[int32](3)
				if err := c.Update(ctx, d); err != nil {
					return err
				}
			}
			return c.SubResource(sub).Update(ctx, obj, opts...)
		},
	})
	a := newDirectActuator(t, c)
	if _, err := a.Actuate(context.Background(), va, decision("", 2, 4)); err != nil {
		t.Fatalf("Actuate: %v", err)
	}
	if got := *getDeployment(t, ns, "llama").Spec.Replicas; got != 4 {
		t.Errorf("spec.replicas = %d, want 4", got)
	}
	if got := updates.Load(); got != 2 {
		t.Errorf("scale updates = %d, want 2 (one conflict, one retry)", got)
	}
}

func TestDirectModeUpdateFails(t *testing.T) {
	ns := newNamespace(t)
	mustCreate(t, testutil.Deployment("llama").Namespace(ns).Replicas(2).Obj())
	va := testutil.VariantAutoscaling("llama").Namespace(ns).Direct().Obj()
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments/scale"}, "llama", errors.New("RBAC"))
	c := interceptor.NewClient(k8sClient, interceptor.Funcs{
		SubResourceUpdate: func(context.Context, client.Client, string, client.Object, ...client.SubResourceUpdateOption) error {
			return forbidden
		},
	})
	a := newDirectActuator(t, c)

	_, err := a.Actuate(context.Background(), va, decision("", 2, 4))
	if !apierrors.IsForbidden(err) {
		t.Fatalf("Actuate: err = %v, want Forbidden", err)
	}
	if want := "updating scale of Deployment " + ns + "/llama from 2 to 4 replicas"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say what was attempted (%q)", err, want)
	}
	if got := *getDeployment(t, ns, "llama").Spec.Replicas; got != 2 {
		t.Errorf("spec.replicas = %d after a failed update, want 2", got)
	}
	if got := promtestutil.ToFloat64(a.metrics.errors.WithLabelValues("llama", ns, OperationScale)); got != 1 {
		t.Errorf("%s{operation=scale} = %v, want 1", ActuationErrorsTotalMetric, got)
	}
}

// TestDecisionAgeAtActuation: a changed decision is observed once at its publication and once
// at its scale write, aged from the engine cycle that computed it; an unchanged decision
// applied again is not observed.
func TestDecisionAgeAtActuation(t *testing.T) {
	ns := newNamespace(t)
	mustCreate(t, testutil.Deployment("llama").Namespace(ns).Replicas(2).Obj())
	va := testutil.VariantAutoscaling("llama").Namespace(ns).Direct().Obj()
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	a, err := New(prometheus.NewRegistry(), k8sClient, WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	apply := func(target int, age time.Duration) {
		t.Helper()
		d := decision("", 2, target)
		d.LastRunTime = clk.Now().Add(-age)
		if _, err := a.Actuate(context.Background(), va, d); err != nil {
			t.Fatal(err)
		}
	}
	check := func(step string, op string, count uint64, sum float64) {
		t.Helper()
		m := &dto.Metric{}
		if err := a.metrics.age.WithLabelValues(op).(prometheus.Histogram).Write(m); err != nil {
			t.Fatal(err)
		}
		if h := m.GetHistogram(); h.GetSampleCount() != count || h.GetSampleSum() != sum {
			t.Errorf("%s: %s{operation=%q} count %d sum %g, want %d and %g", step, DecisionAgeMetric, op,
				h.GetSampleCount(), h.GetSampleSum(), count, sum)
		}
	}
	apply(4, 3*time.Second)
	check("new decision", OperationPublish, 1, 3)
	check("new decision", OperationScale, 1, 3)
	apply(4, 30*time.Second)
	check("unchanged decision", OperationPublish, 1, 3)
	check("unchanged decision", OperationScale, 1, 3)
	apply(6, 500*time.Millisecond)
	check("second change", OperationPublish, 2, 3.5)
	check("second change", OperationScale, 2, 3.5)
}
