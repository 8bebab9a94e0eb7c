package promsource

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// podFixture returns a pod of Deployment dep (namespace "ns") controlled by ReplicaSet rs.
func podFixture(name, rs string, ready bool, labels map[string]string) corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: labels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs, UID: "u", Controller: ptr.To(true)}}},
		Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}},
	}
}

// withScheduled adds a PodScheduled condition to p.
func withScheduled(p corev1.Pod, status corev1.ConditionStatus, reason string) corev1.Pod {
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodScheduled, Status: status, Reason: reason})
	return p
}

// sample builds a vector element for pod p of model m in namespace "ns".
func sample(p, m string, v float64) *model.Sample {
	return &model.Sample{Metric: model.Metric{"namespace": "ns", "pod": model.LabelValue(p), "model_name": model.LabelValue(m)}, Value: model.SampleValue(v)}
}

// series describes one pod's readings for the table tests; nil fields are absent series.
type series struct {
	kv, waiting, running *float64
	age                  *time.Duration
}

func f(v float64) *float64 { return &v }

func ago(d time.Duration) *time.Duration { return &d }

func resultsFor(m string, pods map[string]series, now time.Time) map[string]model.Vector {
	out := map[string]model.Vector{}
	for p, s := range pods {
		if s.kv != nil {
			out[QueryKvCacheUsage] = append(out[QueryKvCacheUsage], sample(p, m, *s.kv))
		}
		if s.waiting != nil {
			out[QueryRequestsWaiting] = append(out[QueryRequestsWaiting], sample(p, m, *s.waiting))
		}
		if s.running != nil {
			out[QueryRequestsRunning] = append(out[QueryRequestsRunning], sample(p, m, *s.running))
		}
		if s.age != nil {
			ts := float64(now.Add(-*s.age).UnixMilli()) / 1000
			out[QueryLastSample] = append(out[QueryLastSample], sample(p, m, ts))
		}
	}
	return out
}

// fresh is a complete, fresh reading.
func fresh(kv, waiting, running float64) series {
	return series{kv: f(kv), waiting: f(waiting), running: f(running), age: ago(5 * time.Second)}
}

func TestObserve(t *testing.T) {
	const m = "llama"
	tgt := collector.Target{ModelID: m, Deployment: "dep"}
	labels := map[string]string{"app": "dep"}
	readyPods := func(names ...string) []corev1.Pod {
		var out []corev1.Pod
		for _, n := range names {
			out = append(out, podFixture(n, "dep-5d4f7", true, labels))
		}
		return out
	}
	found := func(msg string) collector.Status {
		return collector.Status{Available: true, Reason: wvav1alpha1.ReasonMetricsFound, Message: msg}
	}
	missing := func(msg string) collector.Status {
		return collector.Status{Reason: wvav1alpha1.ReasonMetricsMissing, Message: msg}
	}
	stale := func(msg string) collector.Status {
		return collector.Status{Reason: wvav1alpha1.ReasonMetricsStale, Message: msg}
	}
	const hints = "; check that a ServiceMonitor, PodMonitor or scrape config scrapes the pods, that their model_name label " +
		"equals spec.modelID, and that the series carry namespace and pod labels"

	cases := map[string]struct {
		replicas *int32
		pods     []corev1.Pod
		series   map[string]series
		other    map[string]series // series under another model name
		want     collector.VariantObservation
	}{
		"all fresh, sorted by pod": {
			replicas: ptr.To[int32](2),
			pods:     readyPods("dep-5d4f7-b", "dep-5d4f7-a"),
			series:   map[string]series{"dep-5d4f7-a": fresh(0.5, 2, 7), "dep-5d4f7-b": fresh(0.25, 0, 3)},
			want: collector.VariantObservation{TargetFound: true, CurrentReplicas: 2, ReadyReplicas: 2,
				Pods: []analysis.PodMetrics{
					{Name: "dep-5d4f7-a", KvCacheUsage: 0.5, QueueLength: 2, RunningRequests: 7},
					{Name: "dep-5d4f7-b", KvCacheUsage: 0.25, QueueLength: 0, RunningRequests: 3},
				},
				Metrics: found("Fresh vLLM metrics were read for all 2 ready pods")},
		},
		"kv above 1 is clamped, running is optional, nil replicas count as 1": {
			pods:   readyPods("dep-5d4f7-a"),
			series: map[string]series{"dep-5d4f7-a": {kv: f(1.7), waiting: f(4), age: ago(0)}},
			want: collector.VariantObservation{TargetFound: true, CurrentReplicas: 1, ReadyReplicas: 1,
				Pods:    []analysis.PodMetrics{{Name: "dep-5d4f7-a", KvCacheUsage: 1, QueueLength: 4}},
				Metrics: found("Fresh vLLM metrics were read for all 1 ready pods")},
		},
		"NaN, Inf and negative values make their pod not report": {
			replicas: ptr.To[int32](4),
			pods:     readyPods("dep-5d4f7-a", "dep-5d4f7-b", "dep-5d4f7-c", "dep-5d4f7-d"),
			series: map[string]series{
				"dep-5d4f7-a": fresh(0.1, 1, 1),
				"dep-5d4f7-b": {kv: f(math.NaN()), waiting: f(1), age: ago(time.Second)},
				"dep-5d4f7-c": {kv: f(0.2), waiting: f(math.Inf(1)), age: ago(time.Second)},
				"dep-5d4f7-d": {kv: f(-0.1), waiting: f(0), running: f(math.NaN()), age: ago(time.Second)},
			},
			want: collector.VariantObservation{TargetFound: true, CurrentReplicas: 4, ReadyReplicas: 4,
				Pods: []analysis.PodMetrics{{Name: "dep-5d4f7-a", KvCacheUsage: 0.1, QueueLength: 1, RunningRequests: 1}},
				Metrics: missing("3 of 4 ready pods report no metrics (dep-5d4f7-b: KV-cache usage is NaN; " +
					"dep-5d4f7-c: waiting-queue length is +Inf; dep-5d4f7-d: KV-cache usage is -0.1)")},
		},
		"invalid running is only dropped": {
			replicas: ptr.To[int32](1),
			pods:     readyPods("dep-5d4f7-a"),
			series:   map[string]series{"dep-5d4f7-a": {kv: f(0.3), waiting: f(0), running: f(-1), age: ago(0)}},
			want: collector.VariantObservation{TargetFound: true, CurrentReplicas: 1, ReadyReplicas: 1,
				Pods:    []analysis.PodMetrics{{Name: "dep-5d4f7-a", KvCacheUsage: 0.3}},
				Metrics: found("Fresh vLLM metrics were read for all 1 ready pods")},
		},
		"no pod reports": {
			replicas: ptr.To[int32](2),
			pods:     readyPods("dep-5d4f7-a", "dep-5d4f7-b"),
			series:   map[string]series{"dep-5d4f7-b": {kv: f(0.3), age: ago(0)}},
			want: collector.VariantObservation{TargetFound: true, CurrentReplicas: 2, ReadyReplicas: 2,
				Metrics: missing(`None of the 2 ready pods reports vLLM metrics for model "llama" (dep-5d4f7-a: no series; ` +
					`dep-5d4f7-b: no waiting-queue series)` + hints)},
		},
		"series under another model name are not this variant's": {
			replicas: ptr.To[int32](1),
			pods:     readyPods("dep-5d4f7-a"),
			other:    map[string]series{"dep-5d4f7-a": fresh(0.9, 9, 9)},
			want: collector.VariantObservation{TargetFound: true, CurrentReplicas: 1, ReadyReplicas: 1,
				Metrics: missing(`None of the 1 ready pods reports vLLM metrics for model "llama" (dep-5d4f7-a: no series)` + hints)},
		},
		"series without a current sample (staleness-marked)": {
			replicas: ptr.To[int32](1),
			pods:     readyPods("dep-5d4f7-a"),
			series:   map[string]series{"dep-5d4f7-a": {kv: f(0.3), waiting: f(1)}},
			want: collector.VariantObservation{TargetFound: true, CurrentReplicas: 1, ReadyReplicas: 1,
				Metrics: missing(`None of the 1 ready pods reports vLLM metrics for model "llama" ` +
					`(dep-5d4f7-a: no current vllm:num_requests_waiting sample)` + hints)},
		},
		"all stale": {
			replicas: ptr.To[int32](2),
			pods:     readyPods("dep-5d4f7-a", "dep-5d4f7-b"),
			series: map[string]series{
				"dep-5d4f7-a": {waiting: f(1), age: ago(150 * time.Second)},
				"dep-5d4f7-b": {kv: f(0.2), waiting: f(1), age: ago(4 * time.Minute)},
			},
			want: collector.VariantObservation{TargetFound: true, CurrentReplicas: 2, ReadyReplicas: 2,
				Metrics: stale("The vLLM metrics of all 2 ready pods are older than the staleness limit of 2m0s " +
					"(dep-5d4f7-a: newest sample at 2026-03-01T11:57:30Z, older than 2m0s; dep-5d4f7-b: newest sample at 2026-03-01T11:56:00Z, older than 2m0s); check that Prometheus is still scraping them")},
		},
		"some stale": {
			replicas: ptr.To[int32](2),
			pods:     readyPods("dep-5d4f7-a", "dep-5d4f7-b"),
			series:   map[string]series{"dep-5d4f7-a": fresh(0.4, 0, 1), "dep-5d4f7-b": {waiting: f(1), age: ago(3 * time.Minute)}},
			want: collector.VariantObservation{TargetFound: true, CurrentReplicas: 2, ReadyReplicas: 2,
				Pods:    []analysis.PodMetrics{{Name: "dep-5d4f7-a", KvCacheUsage: 0.4, RunningRequests: 1}},
				Metrics: stale("1 of 2 ready pods report stale metrics (dep-5d4f7-b: newest sample at 2026-03-01T11:57:00Z, older than 2m0s)")},
		},
		"sample before the window but within the staleness limit": {
			replicas: ptr.To[int32](2),
			pods:     readyPods("dep-5d4f7-a", "dep-5d4f7-b"),
			series:   map[string]series{"dep-5d4f7-a": fresh(0.4, 0, 1), "dep-5d4f7-b": {waiting: f(1), age: ago(90 * time.Second)}},
			want: collector.VariantObservation{TargetFound: true, CurrentReplicas: 2, ReadyReplicas: 2,
				Pods:    []analysis.PodMetrics{{Name: "dep-5d4f7-a", KvCacheUsage: 0.4, RunningRequests: 1}},
				Metrics: stale("1 of 2 ready pods report stale metrics (dep-5d4f7-b: newest sample at 2026-03-01T11:58:30Z, before the 1m0s query window)")},
		},
		"stale and missing is missing": {
			replicas: ptr.To[int32](3),
			pods:     readyPods("dep-5d4f7-a", "dep-5d4f7-b", "dep-5d4f7-c"),
			series:   map[string]series{"dep-5d4f7-a": fresh(0.4, 0, 1), "dep-5d4f7-b": {waiting: f(1), age: ago(3 * time.Minute)}},
			want: collector.VariantObservation{TargetFound: true, CurrentReplicas: 3, ReadyReplicas: 3,
				Pods: []analysis.PodMetrics{{Name: "dep-5d4f7-a", KvCacheUsage: 0.4, RunningRequests: 1}},
				Metrics: missing("2 of 3 ready pods report no metrics (dep-5d4f7-b: newest sample at 2026-03-01T11:57:00Z, older than 2m0s; " +
					"dep-5d4f7-c: no series)")},
		},
		"not-ready pods are not expected to report": {
			replicas: ptr.To[int32](2),
			pods:     append(readyPods("dep-5d4f7-a"), podFixture("dep-5d4f7-b", "dep-5d4f7", false, labels)),
			series:   map[string]series{"dep-5d4f7-a": fresh(0.4, 0, 1)},
			want: collector.VariantObservation{TargetFound: true, CurrentReplicas: 2, ReadyReplicas: 1, StartingReplicas: 1,
				Pods:    []analysis.PodMetrics{{Name: "dep-5d4f7-a", KvCacheUsage: 0.4, RunningRequests: 1}},
				Metrics: found("Fresh vLLM metrics were read for all 1 ready pods")},
		},
		"unschedulable pods are counted apart from starting ones": {
			replicas: ptr.To[int32](5),
			pods: append(readyPods("dep-5d4f7-a"),
				withScheduled(podFixture("dep-5d4f7-b", "dep-5d4f7", false, labels), corev1.ConditionTrue, ""),
				withScheduled(podFixture("dep-5d4f7-c", "dep-5d4f7", false, labels), corev1.ConditionFalse, corev1.PodReasonUnschedulable),
				withScheduled(podFixture("dep-5d4f7-d", "dep-5d4f7", false, labels), corev1.ConditionFalse, corev1.PodReasonUnschedulable),
				// PodScheduled=False for another reason (e.g. a scheduling gate) is not the scheduler's verdict.
				withScheduled(podFixture("dep-5d4f7-e", "dep-5d4f7", false, labels), corev1.ConditionFalse, corev1.PodReasonSchedulingGated)),
			series: map[string]series{"dep-5d4f7-a": fresh(0.4, 0, 1)},
			want: collector.VariantObservation{TargetFound: true, CurrentReplicas: 5, ReadyReplicas: 1, StartingReplicas: 2,
				UnschedulableReplicas: 2,
				Pods:                  []analysis.PodMetrics{{Name: "dep-5d4f7-a", KvCacheUsage: 0.4, RunningRequests: 1}},
				Metrics:               found("Fresh vLLM metrics were read for all 1 ready pods")},
		},
		"zero replicas: nothing to measure": {
			replicas: ptr.To[int32](0),
			want: collector.VariantObservation{TargetFound: true,
				Metrics: found("Deployment ns/dep has 0 replicas, so there is nothing to measure")},
		},
		"replicas starting": {
			replicas: ptr.To[int32](2),
			pods:     []corev1.Pod{podFixture("dep-5d4f7-a", "dep-5d4f7", false, labels)},
			want: collector.VariantObservation{TargetFound: true, CurrentReplicas: 2, StartingReplicas: 1,
				Metrics: missing("None of the 2 replicas of Deployment ns/dep is ready yet, so no pod can report metrics")},
		},
		"more than five pods missing are summarised": {
			replicas: ptr.To[int32](7),
			pods:     readyPods("dep-5d4f7-a", "dep-5d4f7-b", "dep-5d4f7-c", "dep-5d4f7-d", "dep-5d4f7-e", "dep-5d4f7-f", "dep-5d4f7-g"),
			series:   map[string]series{"dep-5d4f7-a": fresh(0, 0, 0)},
			want: collector.VariantObservation{TargetFound: true, CurrentReplicas: 7, ReadyReplicas: 7,
				Pods: []analysis.PodMetrics{{Name: "dep-5d4f7-a"}},
				Metrics: missing("6 of 7 ready pods report no metrics (dep-5d4f7-b: no series; dep-5d4f7-c: no series; " +
					"dep-5d4f7-d: no series; dep-5d4f7-e: no series; dep-5d4f7-f: no series; and 1 more)")},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dep := testutil.Deployment("dep").Namespace("ns").Obj()
			dep.Spec.Replicas = tc.replicas
			res := resultsFor(m, tc.series, t0)
			for q, v := range resultsFor("other", tc.other, t0) {
				res[q] = append(res[q], v...)
			}
			got := observe(tgt, dep, pointers(tc.pods), parseReadings(res), t0, DefaultWindow, DefaultStalenessLimit)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("observation (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStaleMessageDoesNotAge checks that the message about stale metrics stays the same from
// one cycle to the next while no new sample arrives: the status is written only when it
// changes, and a message carrying the age of the samples changed every cycle.
func TestStaleMessageDoesNotAge(t *testing.T) {
	dep := testutil.Deployment("dep").Namespace("ns").Obj()
	dep.Spec.Replicas = ptr.To[int32](2)
	pods := []corev1.Pod{podFixture("dep-5d4f7-a", "dep-5d4f7", true, map[string]string{"app": "dep"}),
		podFixture("dep-5d4f7-b", "dep-5d4f7", true, map[string]string{"app": "dep"})}
	res := resultsFor("llama", map[string]series{
		"dep-5d4f7-a": fresh(0.4, 0, 1),                           // fresh at t0, before the window a minute later
		"dep-5d4f7-b": {waiting: f(1), age: ago(3 * time.Minute)}, // stale all along
	}, t0)
	tgt := collector.Target{ModelID: "llama", Deployment: "dep"}
	var msgs []string
	for _, now := range []time.Time{t0.Add(70 * time.Second), t0.Add(100 * time.Second)} {
		msgs = append(msgs, observe(tgt, dep, pointers(pods), parseReadings(res), now, DefaultWindow, DefaultStalenessLimit).Metrics.Message)
	}
	if msgs[0] != msgs[1] {
		t.Errorf("the message changed between two cycles without new samples:\n%s\n%s", msgs[0], msgs[1])
	}
}

func TestParseReadings(t *testing.T) {
	info := func(pod, engine, blocks, size string) *model.Sample {
		return &model.Sample{Metric: model.Metric{"namespace": "ns", "pod": model.LabelValue(pod), "engine": model.LabelValue(engine),
			"num_gpu_blocks": model.LabelValue(blocks), "block_size": model.LabelValue(size)}, Value: 1}
	}
	res := map[string]model.Vector{
		QueryKvCacheUsage: {
			{Metric: model.Metric{"namespace": "ns", "pod_name": "legacy", "model_name": "m"}, Value: 0.5},
			{Metric: model.Metric{"pod": "no-namespace", "model_name": "m"}, Value: 0.5},
			{Metric: model.Metric{"namespace": "ns", "model_name": "m"}, Value: 0.5},
		},
		QueryKvCacheBlocks: {
			info("single", "0", "1000", "16"),
			info("dp", "0", "1000", "16"), info("dp", "1", "1000", "16"),
			info("restarted", "0", "1000", "16"), info("restarted", "0", "2000", "16"),
			info("profiling", "0", "None", "16"),
		},
	}
	r := parseReadings(res)
	if got := len(r.series); got != 1 {
		t.Errorf("%d series kept, want 1 (only the pod_name one): %v", got, r.series)
	}
	if p := r.series[seriesKey{"ns", "legacy", "m"}]; p == nil || !p.hasKV || p.kv != 0.5 {
		t.Errorf("pod_name fallback: got %+v", p)
	}
	wantTokens := map[podKey]float64{{"ns", "single"}: 16000, {"ns", "dp"}: 32000, {"ns", "restarted"}: 32000}
	if diff := cmp.Diff(wantTokens, r.kvTokens); diff != "" {
		t.Errorf("KV tokens (-want +got):\n%s", diff)
	}
}

func TestKvCacheTokensSmallestReplica(t *testing.T) {
	labels := map[string]string{"app": "dep"}
	pods := []corev1.Pod{podFixture("dep-5d4f7-a", "dep-5d4f7", true, labels), podFixture("dep-5d4f7-b", "dep-5d4f7", true, labels)}
	r := readings{series: map[seriesKey]*reading{}, kvTokens: map[podKey]float64{{"ns", "dep-5d4f7-a"}: 40000, {"ns", "dep-5d4f7-b"}: 30000, {"ns", "elsewhere"}: 1}}
	dep := testutil.Deployment("dep").Namespace("ns").Replicas(2).Obj()
	got := observe(collector.Target{ModelID: "m", Deployment: "dep"}, dep, pointers(pods), r, t0, DefaultWindow, time.Minute)
	if got.KvCacheTokens != 30000 {
		t.Errorf("KvCacheTokens = %v, want 30000 (the smaller replica)", got.KvCacheTokens)
	}
}

func TestControlledPods(t *testing.T) {
	dep := testutil.Deployment("llama").Namespace("ns").Obj() // selector app=llama
	app := map[string]string{"app": "llama"}
	deleting := podFixture("llama-5d4f7-del", "llama-5d4f7", true, app)
	deleting.DeletionTimestamp = &metav1.Time{Time: t0}
	noOwner := podFixture("llama-bare", "x", true, app)
	noOwner.OwnerReferences = nil
	notController := podFixture("llama-5d4f7-nc", "llama-5d4f7", true, app)
	notController.OwnerReferences[0].Controller = nil
	otherGroup := podFixture("llama-5d4f7-og", "llama-5d4f7", true, app)
	otherGroup.OwnerReferences[0].APIVersion = "example.com/v1"
	statefulSet := podFixture("llama-0", "llama", true, app)
	statefulSet.OwnerReferences[0].Kind = "StatefulSet"

	pods := []corev1.Pod{
		podFixture("llama-5d4f7-a", "llama-5d4f7", true, app),
		podFixture("llama-6c8b9-b", "llama-6c8b9", false, app),            // older ReplicaSet during a rollout
		podFixture("llama-canary-7f9c-a", "llama-canary-7f9c", true, app), // overlapping selector, other Deployment
		podFixture("llama-5d4f7-x", "llama-5d4f7", true, map[string]string{"app": "other"}),
		podFixture("llama-", "llama-", true, app),
		deleting, noOwner, notController, otherGroup, statefulSet,
	}
	var got []string
	for _, p := range controlledPods(dep, pods) {
		got = append(got, p.Name)
	}
	if diff := cmp.Diff([]string{"llama-5d4f7-a", "llama-6c8b9-b"}, got); diff != "" {
		t.Errorf("controlled pods (-want +got):\n%s", diff)
	}

	bad := dep.DeepCopy()
	bad.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Bogus"}}}
	if got := controlledPods(bad, pods); got != nil {
		t.Errorf("invalid selector matched %d pods", len(got))
	}
}

// controlledPods returns the pods of nsPods that belong to dep.
func controlledPods(dep *appsv1.Deployment, nsPods []corev1.Pod) []*corev1.Pod {
	return attributePods(map[string]*appsv1.Deployment{dep.Name: dep}, nsPods)[dep.Name]
}

// attributePods returns the pods of nsPods (namespace "ns") that belong to each of deps (by
// name), as Collect attributes them.
func attributePods(deps map[string]*appsv1.Deployment, nsPods []corev1.Pod) map[string][]*corev1.Pod {
	join := newPodJoin(len(deps))
	at := map[string]int{}
	for name, dep := range deps {
		at[name] = join.add(dep)
	}
	join.addPods("ns", pointers(nsPods))
	out := map[string][]*corev1.Pod{}
	for name, d := range at {
		if ps := join.podsOf(d); ps != nil {
			out[name] = ps
		}
	}
	return out
}

// TestAttributePods checks that one pass over a namespace's pods gives each Deployment its own
// pods, Deployments with overlapping selectors and names that are prefixes of each other
// included.
func TestAttributePods(t *testing.T) {
	app := map[string]string{"app": "llama"}
	llama := testutil.Deployment("llama").Namespace("ns").Obj() // selector app=llama
	canary := testutil.Deployment("llama-canary").Namespace("ns").Obj()
	canary.Spec.Selector.MatchLabels = app // overlaps llama's
	bad := testutil.Deployment("bad").Namespace("ns").Obj()
	bad.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Bogus"}}}
	pods := []corev1.Pod{
		podFixture("llama-5d4f7-a", "llama-5d4f7", true, app),
		podFixture("llama-canary-7f9c-a", "llama-canary-7f9c", true, app),
		podFixture("llama-6c8b9-b", "llama-6c8b9", false, app),
		podFixture("llama-canary-7f9c-b", "llama-canary-7f9c", true, app),
		podFixture("bad-5d4f7-a", "bad-5d4f7", true, app),
		podFixture("other-5d4f7-a", "other-5d4f7", true, app), // no such target
	}
	got := map[string][]string{}
	for dep, ps := range attributePods(map[string]*appsv1.Deployment{"llama": llama, "llama-canary": canary, "bad": bad}, pods) {
		for _, p := range ps {
			got[dep] = append(got[dep], p.Name)
		}
	}
	want := map[string][]string{"llama": {"llama-5d4f7-a", "llama-6c8b9-b"}, "llama-canary": {"llama-canary-7f9c-a", "llama-canary-7f9c-b"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("attributed pods (-want +got):\n%s", diff)
	}
}

// TestScalarQueries checks that observeModels reads every scalar query of signalSource.
func TestScalarQueries(t *testing.T) {
	if len(scalarQueries) != len(signalSource) {
		t.Errorf("%d scalar queries, %d in signalSource", len(scalarQueries), len(signalSource))
	}
	for _, q := range scalarQueries {
		if _, ok := signalSource[q]; !ok {
			t.Errorf("scalar query %s is not in signalSource", q)
		}
	}
}
