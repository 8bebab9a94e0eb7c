package actuator

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// newTestActuator returns an Actuator without a scale client, registered on a fresh registry.
func newTestActuator(t *testing.T) (*Actuator, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	a, err := New(reg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a, reg
}

func decision(acc string, current, target int) interfaces.VariantDecision {
	return interfaces.VariantDecision{AcceleratorName: acc, CurrentReplicas: current, TargetReplicas: target}
}

func mustActuate(t *testing.T, a *Actuator, va *wvav1alpha1.VariantAutoscaling, d interfaces.VariantDecision) {
	t.Helper()
	if _, err := a.Actuate(context.Background(), va, d); err != nil {
		t.Fatalf("Actuate(%s, current %d, target %d): %v", client.ObjectKeyFromObject(va), d.CurrentReplicas, d.TargetReplicas, err)
	}
}

// series returns every series of the named metric as "k=v,k=v" (label keys sorted) → value.
func seriesOf(t *testing.T, g prometheus.Gatherer, name string) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var pairs []string
			for _, lp := range m.GetLabel() {
				pairs = append(pairs, lp.GetName()+"="+lp.GetValue())
			}
			sort.Strings(pairs)
			v := m.GetGauge().GetValue()
			if m.GetCounter() != nil {
				v = m.GetCounter().GetValue()
			}
			out[strings.Join(pairs, ",")] = v
		}
	}
	return out
}

func gaugeKey(variant, ns, acc string) string {
	return fmt.Sprintf("accelerator_type=%s,namespace=%s,variant_name=%s", acc, ns, variant)
}

func TestDesiredRatio(t *testing.T) {
	// SPEC §6.1 ratio vectors, plus 0/0.
	tests := map[string]struct {
		current, desired int
		want             float64
	}{
		"scale up":              {current: 2, desired: 5, want: 2.5},
		"current zero":          {current: 0, desired: 3, want: 3},
		"steady":                {current: 4, desired: 4, want: 1},
		"scale down":            {current: 6, desired: 2, want: 1.0 / 3},
		"both zero":             {current: 0, desired: 0, want: 0},
		"scale to zero wanted":  {current: 3, desired: 0, want: 0},
		"current zero desired1": {current: 0, desired: 1, want: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := DesiredRatio(tc.current, tc.desired); got != tc.want {
				t.Errorf("DesiredRatio(%d, %d) = %v, want %v", tc.current, tc.desired, got, tc.want)
			}
		})
	}
}

func TestActuatePublishesGauges(t *testing.T) {
	a, reg := newTestActuator(t)
	va := testutil.VariantAutoscaling("llama-va").Namespace("llm").Target("llama-dep").Obj()
	mustActuate(t, a, va, decision("H100", 2, 5))

	// variant_name is the Deployment, not the VariantAutoscaling.
	want := `
# HELP wva_current_replicas Replicas the variant had (scale target spec.replicas) when the autoscaler decided.
# TYPE wva_current_replicas gauge
wva_current_replicas{accelerator_type="H100",namespace="llm",variant_name="llama-dep"} 2
# HELP wva_desired_ratio Desired replicas divided by current replicas; equal to desired replicas when current is 0.
# TYPE wva_desired_ratio gauge
wva_desired_ratio{accelerator_type="H100",namespace="llm",variant_name="llama-dep"} 2.5
# HELP wva_desired_replicas Replicas the autoscaler wants for the variant (the HPA/KEDA input); variant_name is the scale target Deployment.
# TYPE wva_desired_replicas gauge
wva_desired_replicas{accelerator_type="H100",namespace="llm",variant_name="llama-dep"} 5
`
	if err := promtestutil.GatherAndCompare(reg, strings.NewReader(want),
		DesiredReplicasMetric, CurrentReplicasMetric, DesiredRatioMetric); err != nil {
		t.Error(err)
	}
	// The first publication is no change.
	if n := promtestutil.CollectAndCount(a.metrics.scaling); n != 0 {
		t.Errorf("%s has %d series after the first publication, want 0", ReplicaScalingTotalMetric, n)
	}
}

func TestActuateGaugeValues(t *testing.T) {
	tests := map[string]struct {
		d                        interfaces.VariantDecision
		wantAcc                  string
		wantDesired, wantCurrent float64
		wantRatio                float64
	}{
		"ratio rule with current zero":  {d: decision("A100", 0, 3), wantAcc: "A100", wantDesired: 3, wantCurrent: 0, wantRatio: 3},
		"scale down":                    {d: decision("A100", 6, 2), wantAcc: "A100", wantDesired: 2, wantCurrent: 6, wantRatio: 1.0 / 3},
		"desired zero is published":     {d: decision("A100", 2, 0), wantAcc: "A100", wantDesired: 0, wantCurrent: 2, wantRatio: 0},
		"accelerator from the VA label": {d: decision("", 4, 4), wantAcc: "L4", wantDesired: 4, wantCurrent: 4, wantRatio: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a, _ := newTestActuator(t)
			va := testutil.VariantAutoscaling("v").Namespace("ns").Obj() // accelerator label L4
			mustActuate(t, a, va, tc.d)
			l := prometheus.Labels{LabelVariantName: "v", LabelNamespace: "ns", LabelAcceleratorType: tc.wantAcc}
			for metric, c := range map[string]struct {
				vec  *prometheus.GaugeVec
				want float64
			}{
				DesiredReplicasMetric: {a.metrics.desired, tc.wantDesired},
				CurrentReplicasMetric: {a.metrics.current, tc.wantCurrent},
				DesiredRatioMetric:    {a.metrics.ratio, tc.wantRatio},
			} {
				if n := promtestutil.CollectAndCount(c.vec); n != 1 {
					t.Errorf("%s has %d series, want 1", metric, n)
				}
				if got := promtestutil.ToFloat64(c.vec.With(l)); got != c.want {
					t.Errorf("%s%v = %v, want %v", metric, l, got, c.want)
				}
			}
		})
	}
}

func TestScalingCounterDirection(t *testing.T) {
	a, reg := newTestActuator(t)
	va := testutil.VariantAutoscaling("v").Namespace("ns").Obj()
	for _, target := range []int{2, 4, 4, 3, 5, 5} {
		mustActuate(t, a, va, decision("L4", 2, target))
	}
	want := map[string]float64{
		"direction=up,namespace=ns,variant_name=v":   2, // 2→4, 3→5
		"direction=down,namespace=ns,variant_name=v": 1, // 4→3
	}
	if diff := cmp.Diff(want, seriesOf(t, reg, ReplicaScalingTotalMetric)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", ReplicaScalingTotalMetric, diff)
	}
}

func TestForgetDeletesExactlyThatVariant(t *testing.T) {
	a, reg := newTestActuator(t)
	keep := testutil.VariantAutoscaling("keep").Namespace("ns").Obj()
	gone := testutil.VariantAutoscaling("gone").Namespace("ns").Obj()
	// Same Deployment name in another namespace must survive too.
	other := testutil.VariantAutoscaling("gone").Namespace("other").Obj()
	for _, va := range []*wvav1alpha1.VariantAutoscaling{keep, gone, other} {
		mustActuate(t, a, va, decision("L4", 1, 2))
		mustActuate(t, a, va, decision("L4", 2, 3))
	}

	a.Forget(client.ObjectKeyFromObject(gone))
	a.Forget(types.NamespacedName{Namespace: "ns", Name: "never-seen"}) // no-op

	wantGauges := map[string]float64{gaugeKey("keep", "ns", "L4"): 3, gaugeKey("gone", "other", "L4"): 3}
	for _, m := range []string{DesiredReplicasMetric, CurrentReplicasMetric, DesiredRatioMetric} {
		got := seriesOf(t, reg, m)
		if diff := cmp.Diff(sortedKeys(wantGauges), sortedKeys(got)); diff != "" {
			t.Errorf("%s series after Forget (-want +got):\n%s", m, diff)
		}
	}
	wantCounter := map[string]float64{
		"direction=up,namespace=ns,variant_name=keep":    1,
		"direction=up,namespace=other,variant_name=gone": 1,
	}
	if diff := cmp.Diff(wantCounter, seriesOf(t, reg, ReplicaScalingTotalMetric)); diff != "" {
		t.Errorf("%s after Forget (-want +got):\n%s", ReplicaScalingTotalMetric, diff)
	}

	// Forgetting twice is harmless; the survivors are untouched.
	a.Forget(client.ObjectKeyFromObject(gone))
	if got := seriesOf(t, reg, DesiredReplicasMetric); len(got) != 2 {
		t.Errorf("%s has %d series after a second Forget, want 2", DesiredReplicasMetric, len(got))
	}
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestRelabelDeletesOldSeries(t *testing.T) {
	tests := map[string]struct {
		before, after *wvav1alpha1.VariantAutoscaling
		accBefore     string
		accAfter      string
		wantGauge     string
		wantCounter   map[string]float64
	}{
		"accelerator changed": {
			before:    testutil.VariantAutoscaling("v").Namespace("ns").Obj(),
			after:     testutil.VariantAutoscaling("v").Namespace("ns").Obj(),
			accBefore: "A100", accAfter: "H100",
			wantGauge: gaugeKey("v", "ns", "H100"),
			// Same Deployment: the counter continues (1 → 2, then 2 → 5 under the new label).
			wantCounter: map[string]float64{"direction=up,namespace=ns,variant_name=v": 2},
		},
		"accelerator label changed, decision names none": {
			before:      testutil.VariantAutoscaling("v").Namespace("ns").Accelerator("A100").Obj(),
			after:       testutil.VariantAutoscaling("v").Namespace("ns").Accelerator("H100").Obj(),
			wantGauge:   gaugeKey("v", "ns", "H100"),
			wantCounter: map[string]float64{"direction=up,namespace=ns,variant_name=v": 2},
		},
		"target renamed": {
			before:    testutil.VariantAutoscaling("v").Namespace("ns").Target("old-dep").Obj(),
			after:     testutil.VariantAutoscaling("v").Namespace("ns").Target("new-dep").Obj(),
			accBefore: "L4", accAfter: "L4",
			wantGauge: gaugeKey("new-dep", "ns", "L4"),
			// A new Deployment starts without history; old-dep's counter is gone.
			wantCounter: map[string]float64{},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a, reg := newTestActuator(t)
			mustActuate(t, a, tc.before, decision(tc.accBefore, 1, 1))
			mustActuate(t, a, tc.before, decision(tc.accBefore, 1, 2)) // old target gets a counter series
			mustActuate(t, a, tc.after, decision(tc.accAfter, 2, 5))

			for _, m := range []string{DesiredReplicasMetric, CurrentReplicasMetric, DesiredRatioMetric} {
				if diff := cmp.Diff([]string{tc.wantGauge}, sortedKeys(seriesOf(t, reg, m))); diff != "" {
					t.Errorf("%s series (-want +got):\n%s", m, diff)
				}
			}
			if got := seriesOf(t, reg, DesiredReplicasMetric)[tc.wantGauge]; got != 5 {
				t.Errorf("%s{%s} = %v, want 5", DesiredReplicasMetric, tc.wantGauge, got)
			}
			if diff := cmp.Diff(tc.wantCounter, seriesOf(t, reg, ReplicaScalingTotalMetric)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", ReplicaScalingTotalMetric, diff)
			}

			a.Forget(client.ObjectKeyFromObject(tc.after))
			for _, m := range []string{DesiredReplicasMetric, ReplicaScalingTotalMetric} {
				if got := seriesOf(t, reg, m); len(got) != 0 {
					t.Errorf("%s after Forget = %v, want no series", m, got)
				}
			}
		})
	}
}

func TestTwoVariantAutoscalingsForOneDeployment(t *testing.T) {
	a, reg := newTestActuator(t)
	first := testutil.VariantAutoscaling("first").Namespace("ns").Target("dep").Accelerator("A100").Obj()
	second := testutil.VariantAutoscaling("second").Namespace("ns").Target("dep").Accelerator("H100").Obj()
	mustActuate(t, a, first, decision("", 1, 2))

	_, err := a.Actuate(context.Background(), second, decision("", 1, 7))
	if !errors.Is(err, ErrTargetClaimed) {
		t.Fatalf("Actuate for a second VariantAutoscaling of the same Deployment: err = %v, want ErrTargetClaimed", err)
	}
	if diff := cmp.Diff(map[string]float64{gaugeKey("dep", "ns", "A100"): 2}, seriesOf(t, reg, DesiredReplicasMetric)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", DesiredReplicasMetric, diff)
	}
	if got := promtestutil.ToFloat64(a.metrics.errors.WithLabelValues("dep", "ns", OperationPublish)); got != 1 {
		t.Errorf("%s{operation=publish} = %v, want 1", ActuationErrorsTotalMetric, got)
	}

	// Once the first is gone, the second takes over; the error count survives because the
	// second still names the Deployment.
	a.Forget(client.ObjectKeyFromObject(first))
	mustActuate(t, a, second, decision("", 1, 7))
	if diff := cmp.Diff(map[string]float64{gaugeKey("dep", "ns", "H100"): 7}, seriesOf(t, reg, DesiredReplicasMetric)); diff != "" {
		t.Errorf("%s after takeover (-want +got):\n%s", DesiredReplicasMetric, diff)
	}
	if n := promtestutil.CollectAndCount(a.metrics.errors); n != 1 {
		t.Errorf("%s has %d series after takeover, want 1", ActuationErrorsTotalMetric, n)
	}
	a.Forget(client.ObjectKeyFromObject(second))
	if n := promtestutil.CollectAndCount(a.metrics.errors); n != 0 {
		t.Errorf("%s has %d series after both were forgotten, want 0", ActuationErrorsTotalMetric, n)
	}
}

func TestActuateRejectsNegativeReplicas(t *testing.T) {
	a, reg := newTestActuator(t)
	va := testutil.VariantAutoscaling("v").Obj()
	if _, err := a.Actuate(context.Background(), va, decision("L4", 1, -1)); err == nil {
		t.Fatal("Actuate with target -1 succeeded, want an error")
	}
	if got := seriesOf(t, reg, DesiredReplicasMetric); len(got) != 0 {
		t.Errorf("%s = %v after a rejected decision, want no series", DesiredReplicasMetric, got)
	}
}

func TestDirectWithoutScaleClient(t *testing.T) {
	a, reg := newTestActuator(t)
	va := testutil.VariantAutoscaling("v").Namespace("ns").Direct().Obj()
	_, err := a.Actuate(context.Background(), va, decision("L4", 1, 3))
	if !errors.Is(err, ErrNoScaleClient) {
		t.Fatalf("Actuate in Direct mode without a scale client: err = %v, want ErrNoScaleClient", err)
	}
	// The gauges are still published.
	if diff := cmp.Diff(map[string]float64{gaugeKey("v", "ns", "L4"): 3}, seriesOf(t, reg, DesiredReplicasMetric)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", DesiredReplicasMetric, diff)
	}
	if got := promtestutil.ToFloat64(a.metrics.errors.WithLabelValues("v", "ns", OperationScale)); got != 1 {
		t.Errorf("%s{operation=scale} = %v, want 1", ActuationErrorsTotalMetric, got)
	}
}

func TestNewFailsOnDuplicateRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(reg, nil); err != nil {
		t.Fatalf("first New: %v", err)
	}
	if _, err := New(reg, nil); err == nil {
		t.Error("second New on the same registry succeeded, want an AlreadyRegistered error")
	}
}

func TestMetricsLint(t *testing.T) {
	a, reg := newTestActuator(t)
	mustActuate(t, a, testutil.VariantAutoscaling("v").Obj(), decision("L4", 1, 2))
	mustActuate(t, a, testutil.VariantAutoscaling("v").Obj(), decision("L4", 1, 3))
	problems, err := promtestutil.GatherAndLint(reg)
	if err != nil {
		t.Fatalf("GatherAndLint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

func TestDirectReplicas(t *testing.T) {
	tests := map[string]struct {
		va     *wvav1alpha1.VariantAutoscaling
		target int
		want   int32
	}{
		"unbounded":              {va: testutil.VariantAutoscaling("v").Obj(), target: 4, want: 4},
		"above max":              {va: testutil.VariantAutoscaling("v").Bounds(1, 3).Obj(), target: 5, want: 3},
		"below min":              {va: testutil.VariantAutoscaling("v").Bounds(3, 6).Obj(), target: 1, want: 3},
		"within bounds":          {va: testutil.VariantAutoscaling("v").Bounds(2, 6).Obj(), target: 4, want: 4},
		"zero becomes one":       {va: testutil.VariantAutoscaling("v").Obj(), target: 0, want: 1},
		"zero with a min":        {va: testutil.VariantAutoscaling("v").Bounds(2, 4).Obj(), target: 0, want: 2},
		"huge target is clamped": {va: testutil.VariantAutoscaling("v").Obj(), target: 1 << 40, want: 1<<31 - 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := DirectReplicas(tc.va, tc.target); got != tc.want {
				t.Errorf("DirectReplicas(target %d) = %d, want %d", tc.target, got, tc.want)
			}
		})
	}
}
