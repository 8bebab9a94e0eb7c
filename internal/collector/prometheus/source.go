package promsource

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
)

// Defaults of the Source options.
const (
	// DefaultWindow is the max_over_time range: the peak of the last minute, so a burst between
	// two cycles is not missed.
	DefaultWindow = time.Minute
	// DefaultStalenessLimit is how old a pod's newest sample may be before it counts as stale.
	DefaultStalenessLimit = 2 * time.Minute
)

// Source reads the vLLM metrics of every target from Prometheus and attributes them to the
// targets' ready pods, which it reads from a (cached) Kubernetes reader. It implements
// collector.Source and is safe for concurrent use.
type Source struct {
	api          QueryAPI
	objects      NamespaceLister // the reader's List unless WithNamespaceLister
	window       time.Duration
	staleAfter   time.Duration
	queryTimeout time.Duration
	metrics      *Metrics
	gateway      GatewayMetric
	// noPodPoints drops the per-pod decode and prefill point queries (WithPodPoints).
	noPodPoints bool
	// noHistograms drops the per-model histogram queries (WithModelHistograms).
	noHistograms bool
}

var _ collector.Source = (*Source)(nil)

// QueryAPI is the one call the Source makes to Prometheus: an instant query evaluated at ts.
// client_golang's promv1.API satisfies it in production; the simulator's in-process PromQL
// engine satisfies it too, so both run the same query building, parsing and pod join.
type QueryAPI interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
}

var _ QueryAPI = promv1.API(nil)

// WithPodPoints sets whether the Source reads each pod's decode point (mean running batch,
// median ITL) and prefill point (mean prefill time, mean prompt, finish rate): five of the
// per-pod queries, each answering one series per pod. Only the slo analyzer's estimator uses
// them; the manager turns them off for the other analyzers, which at 10,000 pods saves
// decoding 50,000 series a cycle. On by default.
func WithPodPoints(on bool) Option {
	return func(s *Source) { s.noPodPoints = !on }
}

// isPodPointQuery reports whether q is one of the queries WithPodPoints(false) drops.
func isPodPointQuery(q Query) bool {
	switch q.Name {
	case QueryRunningMean, QueryITLMedian, QueryPrefillMean, QueryPodPromptMean, QueryPodFinishRate:
		return true
	}
	return false
}

// WithModelHistograms sets whether the Source reads each model's histograms: TTFT, ITL,
// per-request TPOT and output length, the queries whose answers have one series per model and
// bucket bound (about 20 a histogram). Only the slo analyzer reads them (its attainment feedback
// and the output-length shape); the manager turns them off for the other analyzers: at 2,000
// models each answer would hold some 44,000 series, past PROMETHEUS_MAX_SERIES. On by default.
func WithModelHistograms(on bool) Option {
	return func(s *Source) { s.noHistograms = !on }
}

// isHistogramQuery reports whether q is one of the queries WithModelHistograms(false) drops.
func isHistogramQuery(q Query) bool {
	switch q.Name {
	case QueryTTFTBuckets, QueryITLBuckets, QueryRequestTPOTBuckets, QueryOutputLengthBuckets:
		return true
	}
	return false
}

// Option configures a Source.
type Option func(*Source)

// WithWindow sets the range of the max_over_time peaks (default DefaultWindow). Non-positive
// values are ignored.
func WithWindow(d time.Duration) Option {
	return func(s *Source) {
		if d > 0 {
			s.window = d
		}
	}
}

// WithStalenessLimit sets how old a pod's newest sample may be (default DefaultStalenessLimit).
// Prometheus looks back at most 5 minutes (its lookback delta), so larger limits have no effect.
// Non-positive values are ignored.
func WithStalenessLimit(d time.Duration) Option {
	return func(s *Source) {
		if d > 0 {
			s.staleAfter = d
		}
	}
}

// WithQueryTimeout bounds each query (default DefaultQueryTimeout; pass Config.QueryTimeout).
// Non-positive values are ignored.
func WithQueryTimeout(d time.Duration) Option {
	return func(s *Source) {
		if d > 0 {
			s.queryTimeout = d
		}
	}
}

// WithMetrics counts in m the responses the Source abandons (default: counted in metrics that
// are not registered). A nil m is ignored.
func WithMetrics(m *Metrics) Option {
	return func(s *Source) {
		if m != nil {
			s.metrics = m
		}
	}
}

// WithGatewayMetric sets the inference gateway's request counter read as the arrival rate of
// each model where it is present (default DefaultGatewayMetric); the zero GatewayMetric reads
// none. An invalid one (see GatewayMetric.Validate) reads none either.
func WithGatewayMetric(g GatewayMetric) Option {
	return func(s *Source) { s.gateway = g }
}

// New returns a Source querying api (normally a promv1.API) and listing Deployments and Pods
// through reader (normally the manager's cached client), unless WithNamespaceLister gives a
// lister that reads them without copies.
func New(api QueryAPI, reader client.Reader, opts ...Option) *Source {
	s := &Source{api: api, objects: readerLister{reader}, window: DefaultWindow, staleAfter: DefaultStalenessLimit, queryTimeout: DefaultQueryTimeout,
		metrics: unregisteredMetrics(), gateway: DefaultGatewayMetric}
	for _, o := range opts {
		o(s)
	}
	return s
}

// liveTarget is a target whose Deployment exists.
type liveTarget struct {
	collector.Target
	dep *appsv1.Deployment
}

// Collect observes targets at now. It lists the Deployments and the pods of each namespace
// of the targets once, and issues len(BuildQueries(...)) + len(BuildModelQueries(...)) queries in
// parallel for all targets together (none when no target's Deployment exists). An error of a
// per-pod query fails the collection; an error of a per-model query is reported in the
// Missing signals of every model, whose other signals and the pod observations stand.
func (s *Source) Collect(ctx context.Context, targets []collector.Target, now time.Time) (collector.Snapshot, error) {
	start := time.Now()
	snap := collector.Snapshot{Variants: make(map[types.NamespacedName]collector.VariantObservation, len(targets)), CollectedAt: now}

	deps, err := s.deployments(ctx, targets)
	if err != nil {
		return collector.Snapshot{CollectedAt: now}, err
	}
	live := make([]liveTarget, 0, len(targets))
	for _, t := range targets {
		dep, missing := deployment(deps, t)
		if missing != "" {
			snap.Variants[t.VariantAutoscaling] = collector.VariantObservation{Metrics: collector.Status{
				Reason: wvav1alpha1.ReasonMetricsMissing, Message: missing}}
			continue
		}
		live = append(live, liveTarget{Target: t, dep: dep})
	}
	if len(live) == 0 {
		return snap, nil
	}

	pods, err := s.attribute(ctx, live)
	if err != nil {
		return collector.Snapshot{CollectedAt: now}, err
	}

	sel := targets // the live targets in order: all of them unless a Deployment is missing
	if len(live) < len(targets) {
		sel = make([]collector.Target, len(live))
		for i, lt := range live {
			sel[i] = lt.Target
		}
	}
	selector := SelectorFor(sel)
	queries := BuildQueries(selector, s.window)
	if s.noPodPoints {
		queries = slices.DeleteFunc(queries, isPodPointQuery)
	}
	modelQueries := BuildModelQueries(selector, s.window, s.gateway)
	if s.noHistograms {
		modelQueries = slices.DeleteFunc(modelQueries, isHistogramQuery)
	}
	var mres modelResults
	var wg sync.WaitGroup
	wg.Go(func() {
		mres = s.runModelQueries(ctx, modelQueries, now)
		mres.noHistograms = s.noHistograms
	})
	results, err := s.runQueries(ctx, queries, now)
	wg.Wait()
	snap.Queries = len(queries) + len(modelQueries)
	if err != nil {
		return collector.Snapshot{CollectedAt: now, Queries: snap.Queries}, err
	}
	snap.Models = observeModels(sel, mres, s.window, s.gateway)
	r := parseReadings(results)
	for i, lt := range live {
		snap.Variants[lt.VariantAutoscaling] = observe(lt.Target, lt.dep, pods[i], r, now, s.window, s.staleAfter)
	}
	log.FromContext(ctx).V(4).Info("Collected vLLM metrics", "targets", len(targets), "found", len(live),
		"queries", snap.Queries, "series", len(r.series), "duration", time.Since(start))
	return snap, nil
}

// deployments reads the Deployments of every namespace of targets once, by namespace and name.
// They are the cache's own objects (see NamespaceLister), never modified.
func (s *Source) deployments(ctx context.Context, targets []collector.Target) (map[types.NamespacedName]*appsv1.Deployment, error) {
	namespaces := map[string]struct{}{}
	for _, t := range targets {
		if t.Deployment != "" {
			namespaces[t.VariantAutoscaling.Namespace] = struct{}{}
		}
	}
	out := make(map[types.NamespacedName]*appsv1.Deployment, len(targets))
	for _, ns := range slices.Sorted(maps.Keys(namespaces)) {
		list, err := s.objects.Deployments(ctx, ns)
		if err != nil {
			return nil, fmt.Errorf("listing Deployments in namespace %s: %w", ns, err)
		}
		for _, d := range list {
			out[types.NamespacedName{Namespace: d.Namespace, Name: d.Name}] = d
		}
	}
	return out, nil
}

// deployment returns t's Deployment from deps, or a message saying why there is none.
func deployment(deps map[types.NamespacedName]*appsv1.Deployment, t collector.Target) (*appsv1.Deployment, string) {
	key := types.NamespacedName{Namespace: t.VariantAutoscaling.Namespace, Name: t.Deployment}
	if t.Deployment == "" {
		return nil, "The VariantAutoscaling names no scale target Deployment"
	}
	dep := deps[key]
	if dep == nil {
		return nil, fmt.Sprintf("Scale target Deployment %s does not exist", key)
	}
	if dep.DeletionTimestamp != nil {
		return nil, fmt.Sprintf("Scale target Deployment %s is being deleted", key)
	}
	return dep, ""
}

// attribute reads the pods of every namespace of live once and returns the pods of each
// target's Deployment, in the order of live. It is linear in pods + targets: one podJoin of
// the targets' Deployments, and one pass over each namespace's pods. The pods are the cache's
// own objects (see NamespaceLister), never modified; only pointers to them are kept.
func (s *Source) attribute(ctx context.Context, live []liveTarget) ([][]*corev1.Pod, error) {
	join := newPodJoin(len(live))
	at := make([]int, len(live)) // position of each target's Deployment in join
	namespaces := map[string]struct{}{}
	for i, lt := range live {
		at[i] = join.add(lt.dep)
		namespaces[lt.dep.Namespace] = struct{}{}
	}
	for _, ns := range slices.Sorted(maps.Keys(namespaces)) {
		pods, err := s.objects.Pods(ctx, ns)
		if err != nil {
			return nil, fmt.Errorf("listing pods in namespace %s: %w", ns, err)
		}
		join.addPods(ns, pods)
	}
	out := make([][]*corev1.Pod, len(live))
	for i, d := range at {
		out[i] = join.podsOf(d)
	}
	return out, nil
}

// runQueries issues queries in parallel, evaluated at now, and returns their vectors by name.
// When several fail, the first failure (in query order) is returned with the count of the others.
func (s *Source) runQueries(ctx context.Context, queries []Query, now time.Time) (map[string]model.Vector, error) {
	vecs := make([]model.Vector, len(queries))
	errs := make([]error, len(queries))
	var wg sync.WaitGroup
	for i, q := range queries {
		wg.Go(func() { vecs[i], errs[i] = s.query(ctx, q, now) })
	}
	wg.Wait()

	var first error
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
			if first == nil {
				first = err
			}
		}
	}
	switch {
	case failed == 1:
		return nil, first
	case failed > 1:
		return nil, fmt.Errorf("%w (and %d more of %d queries failed)", first, failed-1, len(queries))
	}
	out := make(map[string]model.Vector, len(queries))
	for i, q := range queries {
		out[q.Name] = vecs[i]
	}
	return out, nil
}

// runModelQueries issues queries in parallel, evaluated at now, and returns their vectors and
// errors by name.
func (s *Source) runModelQueries(ctx context.Context, queries []Query, now time.Time) modelResults {
	vecs := make([]model.Vector, len(queries))
	errs := make([]error, len(queries))
	var wg sync.WaitGroup
	for i, q := range queries {
		wg.Go(func() { vecs[i], errs[i] = s.query(ctx, q, now) })
	}
	wg.Wait()
	res := modelResults{vectors: make(map[string]model.Vector, len(queries)), errs: map[string]error{}}
	for i, q := range queries {
		if errs[i] != nil {
			res.errs[q.Name] = errs[i]
			continue
		}
		res.vectors[q.Name] = vecs[i]
	}
	return res
}

// query runs one instant query with the per-query timeout.
func (s *Source) query(ctx context.Context, q Query, now time.Time) (model.Vector, error) {
	ctx, cancel := context.WithTimeout(ctx, s.queryTimeout)
	defer cancel()
	v, warnings, _, err := s.api.Query(ctx, q.PromQL, now, promv1.WithTimeout(s.queryTimeout))
	if err != nil {
		s.metrics.countLimit(q.Name, err)
		return nil, fmt.Errorf("querying %s: %w", q.Name, err)
	}
	if len(warnings) > 0 {
		log.FromContext(ctx).V(1).Info("Prometheus query returned warnings", "query", q.Name, "warnings", warnings)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		typ := "nil"
		if v != nil {
			typ = v.Type().String()
		}
		return nil, fmt.Errorf("querying %s: Prometheus returned a %s result, want an instant vector", q.Name, typ)
	}
	return vec, nil
}
