package promsource

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
)

// maxListedPods caps the pods named in a status message.
const maxListedPods = 5

// seriesKey identifies the series of one pod for one served model.
type seriesKey struct{ namespace, pod, model string }

// podKey identifies one pod.
type podKey struct{ namespace, pod string }

// reading is what one cycle's queries returned for one pod and model. Invalid values (NaN,
// ±Inf, negative) are not stored; their text is kept for the status message.
type reading struct {
	kv, waiting, running          float64
	hasKV, hasWaiting, hasRunning bool
	// runningMean and itlMedian are the decode point of the pod (0 when not read).
	runningMean, itlMedian float64
	// prefillMean (seconds), promptMean (tokens) and finishRate (requests per second) are the
	// prefill point of the pod (0 when not read).
	prefillMean, promptMean, finishRate float64
	badKV, badWaiting                   string
	// last is the time of the newest vllm:num_requests_waiting sample; zero when absent.
	last time.Time
}

// readings are the parsed results of one cycle.
type readings struct {
	series map[seriesKey]*reading
	// kvTokens is the KV-cache capacity of each pod in tokens.
	kvTokens map[podKey]float64
}

// parseReadings turns the query results (by Query.Name) into per-pod readings.
func parseReadings(results map[string]model.Vector) readings {
	r := readings{series: make(map[seriesKey]*reading, len(results[QueryRequestsWaiting])),
		kvTokens: make(map[podKey]float64, len(results[QueryKvCacheBlocks]))}
	// The readings are allocated side by side, a slab at a time: one pod's series usually
	// come in every query.
	var slab []reading
	get := func(s *model.Sample) *reading {
		ns, pod := podOf(s.Metric)
		if ns == "" || pod == "" {
			return nil
		}
		k := seriesKey{ns, pod, string(s.Metric[labelModelName])}
		p := r.series[k]
		if p == nil {
			if len(slab) == cap(slab) {
				slab = make([]reading, 0, max(len(results[QueryRequestsWaiting]), 64))
			}
			slab = append(slab, reading{})
			p = &slab[len(slab)-1]
			r.series[k] = p
		}
		return p
	}
	for _, s := range results[QueryKvCacheUsage] {
		if p := get(s); p != nil {
			v := float64(s.Value)
			if !validValue(v) {
				p.badKV = formatValue(v)
			} else if !p.hasKV || v > p.kv {
				p.kv, p.hasKV = min(v, 1), true
			}
		}
	}
	for _, s := range results[QueryRequestsWaiting] {
		if p := get(s); p != nil {
			v := float64(s.Value)
			if !validValue(v) {
				p.badWaiting = formatValue(v)
			} else if !p.hasWaiting || v > p.waiting {
				p.waiting, p.hasWaiting = v, true
			}
		}
	}
	for _, s := range results[QueryRequestsRunning] {
		if p := get(s); p != nil {
			if v := float64(s.Value); validValue(v) && (!p.hasRunning || v > p.running) {
				p.running, p.hasRunning = v, true
			}
		}
	}
	for _, s := range results[QueryRunningMean] {
		if p := get(s); p != nil {
			if v := float64(s.Value); validValue(v) {
				p.runningMean = max(p.runningMean, v)
			}
		}
	}
	for _, s := range results[QueryITLMedian] {
		if p := get(s); p != nil {
			// NaN when no token was produced in the window; +Inf past the last bound.
			if v := float64(s.Value); validValue(v) && !math.IsInf(v, 0) {
				p.itlMedian = max(p.itlMedian, v)
			}
		}
	}
	for _, q := range []struct {
		name string
		dst  func(*reading) *float64
	}{{QueryPrefillMean, func(p *reading) *float64 { return &p.prefillMean }}, {QueryPodPromptMean, func(p *reading) *float64 { return &p.promptMean }},
		{QueryPodFinishRate, func(p *reading) *float64 { return &p.finishRate }}} {
		for _, s := range results[q.name] {
			if p := get(s); p != nil {
				// NaN (the means) or 0 (the rate) when no request finished in the window.
				if v := float64(s.Value); validValue(v) && !math.IsInf(v, 0) && v > 0 {
					*q.dst(p) = max(*q.dst(p), v)
				}
			}
		}
	}
	for _, s := range results[QueryLastSample] {
		if p := get(s); p != nil {
			if v := float64(s.Value); validValue(v) {
				if t := time.UnixMilli(int64(math.Round(v * 1000))); t.After(p.last) {
					p.last = t
				}
			}
		}
	}
	// One series per (pod, engine) is expected; a data-parallel pod runs several engines, each
	// with its own KV cache, so the pod's capacity is the sum over its engines.
	type engineKey struct {
		podKey
		engine string
	}
	perEngine := make(map[engineKey]float64, len(results[QueryKvCacheBlocks]))
	for _, s := range results[QueryKvCacheBlocks] {
		ns, pod := podOf(s.Metric)
		tokens, ok := cacheTokens(s.Metric)
		if ns == "" || pod == "" || !ok {
			continue
		}
		k := engineKey{podKey{ns, pod}, string(s.Metric[labelEngine])}
		perEngine[k] = max(perEngine[k], tokens)
	}
	for k, t := range perEngine {
		r.kvTokens[k.podKey] += t
	}
	return r
}

// podOf returns the namespace and pod of a series, reading pod_name when pod is absent.
func podOf(m model.Metric) (namespace, pod string) {
	pod = string(m[labelPod])
	if pod == "" {
		pod = string(m[labelPodName])
	}
	return string(m[labelNamespace]), pod
}

// cacheTokens returns num_gpu_blocks × block_size of a vllm:cache_config_info series.
func cacheTokens(m model.Metric) (float64, bool) {
	blocks, err1 := strconv.ParseFloat(string(m[labelNumGPUBlocks]), 64)
	size, err2 := strconv.ParseFloat(string(m[labelBlockSize]), 64)
	if err1 != nil || err2 != nil || !validValue(blocks) || !validValue(size) || blocks == 0 || size == 0 {
		return 0, false // e.g. num_gpu_blocks="None" before the engine has profiled memory
	}
	return blocks * size, true
}

// validValue rejects NaN, ±Inf and negative readings.
func validValue(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0
}

func formatValue(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// podJoin attributes pods to Deployments in one pass over the pods: a pod's controlling
// ReplicaSet, named "<deployment>-<hash>", names the one Deployment it can belong to, which is
// looked up among the Deployments added to the join. The pod belongs to it when the
// Deployment's selector matches the pod's labels (so Deployments with overlapping selectors do
// not share pods) and the pod is not being deleted. The join keeps pointers into the pods and
// Deployments it is given, which must outlive it and are not modified.
type podJoin struct {
	index map[types.NamespacedName]int // Deployment → its position in deps and pods
	deps  []*appsv1.Deployment
	pods  [][]*corev1.Pod
	// compiled holds, by position, the selectors that are not made of matchLabels only,
	// compiled at their Deployment's first pod; labels.Nothing() for an invalid one.
	compiled map[int]labels.Selector
}

// newPodJoin returns an empty join with room for n Deployments.
func newPodJoin(n int) *podJoin {
	return &podJoin{index: make(map[types.NamespacedName]int, n), deps: make([]*appsv1.Deployment, 0, n),
		pods: make([][]*corev1.Pod, 0, n)}
}

// add adds dep and returns its position; a Deployment added again keeps its first position.
func (j *podJoin) add(dep *appsv1.Deployment) int {
	k := types.NamespacedName{Namespace: dep.Namespace, Name: dep.Name}
	if i, ok := j.index[k]; ok {
		return i
	}
	i := len(j.deps)
	j.index[k] = i
	j.deps = append(j.deps, dep)
	j.pods = append(j.pods, nil)
	return i
}

// addPods attributes pods, listed in namespace, to the Deployments added so far.
func (j *podJoin) addPods(namespace string, pods []*corev1.Pod) {
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		name, ok := owningDeployment(p)
		if !ok {
			continue
		}
		d, ok := j.index[types.NamespacedName{Namespace: namespace, Name: name}]
		if ok && j.selects(d, p.Labels) {
			j.pods[d] = append(j.pods[d], p)
		}
	}
}

// podsOf returns the pods attributed to the Deployment at position i, in the order given.
func (j *podJoin) podsOf(i int) []*corev1.Pod { return j.pods[i] }

// selects reports whether the selector of the Deployment at position d matches l. A selector
// made only of matchLabels is compared with the labels directly; the others go through
// LabelSelectorAsSelector once per cycle, and an invalid one (which the API server rejects)
// matches no pod.
func (j *podJoin) selects(d int, l map[string]string) bool {
	sel := j.deps[d].Spec.Selector
	if m, ok := matchLabelsOnly(sel); ok {
		return hasLabels(l, m)
	}
	compiled, ok := j.compiled[d]
	if !ok {
		var err error
		if compiled, err = metav1.LabelSelectorAsSelector(sel); err != nil {
			compiled = labels.Nothing()
		}
		if j.compiled == nil {
			j.compiled = map[int]labels.Selector{}
		}
		j.compiled[d] = compiled
	}
	return compiled.Matches(labels.Set(l))
}

// matchLabelsOnly returns the labels of a selector made only of matchLabels, which the pod
// labels can be compared with directly; the others go through LabelSelectorAsSelector. The
// labels are not validated: a pod's labels are valid, so an invalid key or value matches no pod,
// as LabelSelectorAsSelector's error attributes none.
func matchLabelsOnly(sel *metav1.LabelSelector) (map[string]string, bool) {
	if sel == nil || len(sel.MatchExpressions) > 0 || len(sel.MatchLabels) == 0 {
		return nil, false
	}
	return sel.MatchLabels, true
}

// hasLabels reports whether l holds every label of want.
func hasLabels(l, want map[string]string) bool {
	for k, v := range want {
		if got, ok := l[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// owningDeployment returns the name of the Deployment that can own pod: its controller must be
// an apps ReplicaSet named "<deployment>-<hash>", the name a Deployment gives its ReplicaSets,
// where the hash is not empty and holds no "-".
func owningDeployment(pod *corev1.Pod) (string, bool) {
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || ref.Kind != "ReplicaSet" {
		return "", false
	}
	if gv, err := schema.ParseGroupVersion(ref.APIVersion); err != nil || gv.Group != appsv1.GroupName {
		return "", false
	}
	i := strings.LastIndexByte(ref.Name, '-')
	if i <= 0 || i == len(ref.Name)-1 {
		return "", false
	}
	return ref.Name[:i], true
}

// podReady reports whether the PodReady condition is True.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podUnschedulable reports whether the scheduler found no node for p (PodScheduled=False with
// reason Unschedulable).
func podUnschedulable(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled {
			return c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable
		}
	}
	return false
}

// startupSamples returns the start-up delays (Ready since - created) of the ready pods that
// became ready most recently, newest first, at most collector.MaxStartupSamples. A pod without
// both times, or whose Ready time is not after its creation, gives none.
func startupSamples(pods []*corev1.Pod) []time.Duration {
	type sample struct {
		at    time.Time
		delay time.Duration
	}
	var buf [4]sample
	all := buf[:0]
	for _, p := range pods {
		for _, c := range p.Status.Conditions {
			if c.Type != corev1.PodReady {
				continue
			}
			created, at := p.CreationTimestamp.Time, c.LastTransitionTime.Time
			if c.Status == corev1.ConditionTrue && !created.IsZero() && at.After(created) {
				all = append(all, sample{at: at, delay: at.Sub(created)})
			}
			break
		}
	}
	slices.SortFunc(all, func(a, b sample) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return cmp.Compare(a.delay, b.delay)
	})
	out := make([]time.Duration, 0, min(len(all), collector.MaxStartupSamples))
	for _, s := range all[:min(len(all), collector.MaxStartupSamples)] {
		out = append(out, s.delay)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// verdict is the outcome for one ready pod.
type verdict struct {
	pod     string
	metrics analysis.PodMetrics
	fresh   bool
	stale   bool
	problem string
}

// judge decides whether the reading of one ready pod can be used.
func judge(pod string, r *reading, now time.Time, window, staleAfter time.Duration) verdict {
	v := verdict{pod: pod}
	switch {
	case r == nil:
		v.problem = "no series"
	case r.last.IsZero():
		v.problem = "no current " + MetricRequestsWaiting + " sample"
	// The problem names the time of the newest sample, not its age: the message must not
	// change from one cycle to the next while nothing new arrives (the status is written only
	// when it changes).
	case now.Sub(r.last) > staleAfter:
		v.stale = true
		v.problem = "newest sample at " + sampleTime(r.last) + ", older than " + staleAfter.String()
	case ((!r.hasKV && r.badKV == "") || (!r.hasWaiting && r.badWaiting == "")) && now.Sub(r.last) > window:
		// The sample exists but lies before the max_over_time window, so there is no peak.
		v.stale = true
		v.problem = "newest sample at " + sampleTime(r.last) + ", before the " + window.String() + " query window"
	case !r.hasKV && r.badKV != "":
		v.problem = "KV-cache usage is " + r.badKV
	case !r.hasKV:
		v.problem = "no KV-cache usage series"
	case !r.hasWaiting && r.badWaiting != "":
		v.problem = "waiting-queue length is " + r.badWaiting
	case !r.hasWaiting:
		v.problem = "no waiting-queue series"
	default:
		v.fresh = true
		v.metrics = analysis.PodMetrics{Name: pod, KvCacheUsage: r.kv, QueueLength: r.waiting}
		if r.hasRunning {
			v.metrics.RunningRequests = r.running
		}
		if r.runningMean > 0 && r.itlMedian > 0 {
			v.metrics.MeanRunningRequests, v.metrics.ITLMedianSeconds = r.runningMean, r.itlMedian
		}
		if r.prefillMean > 0 && r.promptMean > 0 {
			v.metrics.MeanPromptTokens, v.metrics.MeanPrefillSeconds, v.metrics.FinishRate = r.promptMean, r.prefillMean, r.finishRate
		}
	}
	return v
}

// sampleTime formats the time of a sample for a status message: UTC, to the second.
func sampleTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// observe builds the observation of target t whose Deployment is dep and whose pods (already
// attributed with a podJoin) are pods. window is the max_over_time range of the queries and
// staleAfter the staleness limit.
func observe(t collector.Target, dep *appsv1.Deployment, pods []*corev1.Pod, r readings, now time.Time, window, staleAfter time.Duration) collector.VariantObservation {
	obs := collector.VariantObservation{TargetFound: true, CurrentReplicas: 1}
	if dep.Spec.Replicas != nil {
		obs.CurrentReplicas = int(*dep.Spec.Replicas)
	}
	var buf [4]string // most targets have a few ready pods
	ready := buf[:0]
	for i := range pods {
		switch {
		case podReady(pods[i]):
			ready = append(ready, pods[i].Name)
		case podUnschedulable(pods[i]):
			obs.UnschedulableReplicas++
		default:
			obs.StartingReplicas++
		}
	}
	slices.Sort(ready)
	obs.ReadyReplicas = len(ready)
	obs.StartupSamples = startupSamples(pods)

	if len(ready) == 0 {
		depName := dep.Namespace + "/" + dep.Name
		if obs.CurrentReplicas == 0 {
			obs.Metrics = collector.Status{Available: true, Reason: wvav1alpha1.ReasonMetricsFound,
				Message: fmt.Sprintf("Deployment %s has 0 replicas, so there is nothing to measure", depName)}
		} else {
			obs.Metrics = collector.Status{Reason: wvav1alpha1.ReasonMetricsMissing,
				Message: fmt.Sprintf("None of the %d replicas of Deployment %s is ready yet, so no pod can report metrics", obs.CurrentReplicas, depName)}
		}
		return obs
	}

	var bad []verdict
	allStale := true
	for _, pod := range ready {
		v := judge(pod, r.series[seriesKey{dep.Namespace, pod, t.ModelID}], now, window, staleAfter)
		if v.fresh {
			obs.Pods = append(obs.Pods, v.metrics)
		} else {
			bad = append(bad, v)
			allStale = allStale && v.stale
		}
		if tok, ok := r.kvTokens[podKey{dep.Namespace, pod}]; ok && (obs.KvCacheTokens == 0 || tok < obs.KvCacheTokens) {
			obs.KvCacheTokens = tok // the smallest replica: capacity is never overestimated
		}
	}

	switch {
	case len(bad) == 0:
		obs.Metrics = collector.Status{Available: true, Reason: wvav1alpha1.ReasonMetricsFound, Message: freshMessage(len(ready))}
	case allStale && len(bad) == len(ready):
		obs.Metrics = collector.Status{Reason: wvav1alpha1.ReasonMetricsStale,
			Message: fmt.Sprintf("The vLLM metrics of all %d ready pods are older than the staleness limit of %s (%s); "+
				"check that Prometheus is still scraping them", len(ready), staleAfter, describe(bad))}
	case allStale:
		obs.Metrics = collector.Status{Reason: wvav1alpha1.ReasonMetricsStale,
			Message: fmt.Sprintf("%d of %d ready pods report stale metrics (%s)", len(bad), len(ready), describe(bad))}
	case len(bad) == len(ready):
		obs.Metrics = collector.Status{Reason: wvav1alpha1.ReasonMetricsMissing,
			Message: fmt.Sprintf("None of the %d ready pods reports vLLM metrics for model %q (%s); check that a ServiceMonitor, "+
				"PodMonitor or scrape config scrapes the pods, that their model_name label equals spec.modelID, "+
				"and that the series carry namespace and pod labels", len(ready), t.ModelID, describe(bad))}
	default:
		obs.Metrics = collector.Status{Reason: wvav1alpha1.ReasonMetricsMissing,
			Message: fmt.Sprintf("%d of %d ready pods report no metrics (%s)", len(bad), len(ready), describe(bad))}
	}
	return obs
}

// freshFormat is the message of a target whose ready pods all have fresh metrics.
const freshFormat = "Fresh vLLM metrics were read for all %d ready pods"

// freshMessages are the messages of freshMessage for up to 16 ready pods, formatted once.
var freshMessages = func() []string {
	out := make([]string, 17)
	for n := range out {
		out[n] = fmt.Sprintf(freshFormat, n)
	}
	return out
}()

// freshMessage says that the metrics of all n ready pods were fresh.
func freshMessage(n int) string {
	if n < len(freshMessages) {
		return freshMessages[n]
	}
	return fmt.Sprintf(freshFormat, n)
}

// describe lists the first maxListedPods problems as "pod: problem; ...".
func describe(vs []verdict) string {
	parts := make([]string, 0, min(len(vs), maxListedPods)+1)
	for i, v := range vs {
		if i == maxListedPods {
			parts = append(parts, fmt.Sprintf("and %d more", len(vs)-maxListedPods))
			break
		}
		parts = append(parts, v.pod+": "+v.problem)
	}
	return strings.Join(parts, "; ")
}
