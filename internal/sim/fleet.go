package sim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
)

// Defaults of a variant and of a fleet's metrics pipeline.
const (
	// DefaultNamespace is the namespace of the simulated variants.
	DefaultNamespace = "sim"
	// DefaultStartupDelay is how long a new replica takes to serve (model load).
	DefaultStartupDelay = 120 * time.Second
	// DefaultDrainTimeout is how long a removed replica may take to finish its requests before
	// it is stopped and they fail (the pod's termination grace period).
	DefaultDrainTimeout = 10 * time.Minute
	// DefaultScrapeInterval is how often the replicas' gauges are sampled, like a Prometheus
	// scrape (the e2e ServiceMonitors scrape every 15 s).
	DefaultScrapeInterval = 15 * time.Second
	// DefaultPeakWindow is the window of Collect's peak readings, like the collector's
	// max_over_time[1m].
	DefaultPeakWindow = time.Minute
)

// Status reasons of the Source observations, in the vocabulary of the MetricsAvailable condition.
const (
	ReasonMetricsFound   = "MetricsFound"
	ReasonMetricsMissing = "MetricsMissing"
)

// VariantSpec describes one variant: the Deployment of replicas of the model on one accelerator
// type, scaled by one VariantAutoscaling.
type VariantSpec struct {
	// Name is the name of the VariantAutoscaling and of its scale-target Deployment; it prefixes
	// the replica (pod) names.
	Name string
	// Namespace is the namespace of the VariantAutoscaling and the Deployment.
	Namespace string
	// ModelID is the served model name.
	ModelID string
	// Profile is the performance and cost model of one replica.
	Profile Profile
	// StartupDelay is how long a new replica holds its GPUs before it serves; 0 means at once.
	StartupDelay time.Duration
	// StartupJitter spreads the start-up delay: each new replica's delay is drawn uniformly from
	// [StartupDelay - StartupJitter, StartupDelay + StartupJitter] (at least 0), seeded by the
	// scenario's Seed, the variant's name and the replica's index, so that the n-th replica of
	// a variant starts in the same time in every run of the scenario.
	StartupJitter time.Duration
	// DrainTimeout is how long a removed replica may drain: requests it still holds after it
	// are stopped and count as failed. 0 means no limit; NewVariant sets DefaultDrainTimeout.
	DrainTimeout time.Duration
	// InitialReplicas is the number of replicas, ready, at time zero.
	InitialReplicas int
	// MaxReplicas caps the replicas a policy can ask for; 0 means no cap.
	MaxReplicas int
}

// NewVariant returns a variant named name of the given profile, in DefaultNamespace, serving the
// profile's model, with DefaultStartupDelay and one initial replica.
func NewVariant(name string, p Profile) VariantSpec {
	return VariantSpec{
		Name:            name,
		Namespace:       DefaultNamespace,
		ModelID:         p.Model,
		Profile:         p,
		StartupDelay:    DefaultStartupDelay,
		DrainTimeout:    DefaultDrainTimeout,
		InitialReplicas: 1,
	}
}

// MinStartupDelay is the shortest start-up delay a new replica of v can have.
func (v VariantSpec) MinStartupDelay() time.Duration {
	return max(v.StartupDelay-v.StartupJitter, 0)
}

// startupDelay is the start-up delay of the replica of v with index id in a scenario seeded
// with seed.
func (v VariantSpec) startupDelay(seed uint64, id int) time.Duration {
	if v.StartupJitter <= 0 {
		return v.StartupDelay
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(v.Name))
	x := splitmix64(seed ^ splitmix64(h.Sum64()^uint64(id)))
	u := float64(x>>11) / (1 << 53) // uniform in [0, 1)
	d := float64(v.StartupDelay) + (2*u-1)*float64(v.StartupJitter)
	return max(time.Duration(math.Round(d)), 0)
}

// splitmix64 is a bijective 64-bit mixer (SplitMix64's finaliser).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Key is the NamespacedName of the variant's VariantAutoscaling.
func (v VariantSpec) Key() types.NamespacedName {
	return types.NamespacedName{Namespace: v.Namespace, Name: v.Name}
}

// Target is the collector target that observes the variant.
func (v VariantSpec) Target() collector.Target {
	return collector.Target{VariantAutoscaling: v.Key(), ModelID: v.ModelID, Deployment: v.Name}
}

// Validate reports every rule v breaks, joined into one error.
func (v VariantSpec) Validate() error {
	var errs []error
	if v.Name == "" {
		errs = append(errs, errors.New("name must not be empty"))
	}
	if err := v.Profile.Validate(); err != nil {
		errs = append(errs, err)
	}
	if v.StartupDelay < 0 || v.StartupJitter < 0 || v.DrainTimeout < 0 {
		errs = append(errs, fmt.Errorf("startup delay, startup jitter and drain timeout must be >= 0, got %s, %s and %s", v.StartupDelay, v.StartupJitter, v.DrainTimeout))
	}
	if v.InitialReplicas < 0 || v.MaxReplicas < 0 {
		errs = append(errs, fmt.Errorf("initial and max replicas must be >= 0, got %d and %d", v.InitialReplicas, v.MaxReplicas))
	}
	if v.MaxReplicas > 0 && v.InitialReplicas > v.MaxReplicas {
		errs = append(errs, fmt.Errorf("initial replicas %d exceed max replicas %d", v.InitialReplicas, v.MaxReplicas))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("variant %q: %w", v.Name, err)
	}
	return nil
}

// ReplicaState is the lifecycle stage of a replica.
type ReplicaState int

const (
	// Starting replicas hold their GPUs but do not serve yet (model load).
	Starting ReplicaState = iota
	// Serving replicas are ready and take requests from the router.
	Serving
	// Draining replicas were removed: they take no new request and finish what they have.
	Draining
	// Gone replicas have released their GPUs.
	Gone
	// Pending replicas were created but wait for GPUs: the scenario's inventory of their
	// accelerator is taken. They hold no GPU, do not serve and are not billed; they start
	// (Starting, then Serving after the start-up delay) when GPUs free up, oldest first.
	Pending
)

// sample is one scrape of a replica's gauges.
type sample struct {
	at time.Duration
	g  Gauges
}

// replica is one pod of a variant.
type replica struct {
	name    string
	id      int // index within the variant, from 1
	state   ReplicaState
	created time.Duration
	bound   time.Duration // when the replica got its GPUs (= created unless it was Pending); -1 while Pending
	readyAt time.Duration
	drained time.Duration // when draining started
	removed time.Duration // when the GPUs were released (Gone)
	srv     *Server
	samples []sample
}

// variantState is the fleet's view of one variant.
type variantState struct {
	spec     VariantSpec
	model    int        // index of the variant's model in Fleet.models
	live     []*replica // starting, serving and draining replicas in creation order
	all      []*replica // every replica ever created
	desired  int        // the scale target's spec replicas: starting + serving
	nextID   int
	events   int
	reverses int
	lastDir  int
	peak     int
}

// Fleet is the simulated cluster of one or more models: the replicas of each variant behind a
// least-loaded router that sends each request to its model's replicas, and the Prometheus-like
// sampling of their gauges. It implements collector.Source. A Fleet is driven by one goroutine
// (Run); it is not safe for concurrent use.
type Fleet struct {
	start    time.Time
	seed     uint64
	now      time.Duration
	window   time.Duration
	instant  bool
	variants []*variantState
	models   []string       // the served models, in the order of their first variant
	pending  []reqDeque     // per model: requests waiting in the router for a ready replica
	gpus     map[string]int // Scenario.GPUs: the inventory per accelerator (profile name); nil: unlimited
}

// newFleet creates the fleet of sc with each variant's initial replicas ready at time zero.
// instant makes every replica created later ready at once.
func newFleet(sc Scenario, instant bool) *Fleet {
	f := &Fleet{start: sc.Start, seed: sc.Seed, window: sc.PeakWindow, instant: instant, models: sc.Models(), gpus: sc.GPUs}
	f.pending = make([]reqDeque, max(len(f.models), 1))
	for _, spec := range sc.Variants {
		v := &variantState{spec: spec, model: slices.Index(f.models, spec.ModelID)}
		f.variants = append(f.variants, v)
		for range spec.InitialReplicas {
			f.newReplica(v, true)
		}
		v.desired = spec.InitialReplicas
		v.peak = v.desired
	}
	return f
}

// newReplica creates a replica of v at the fleet's current time: serving at once when ready is
// true or the fleet is instant, else starting (ready after the variant's start-up delay). When
// the inventory of v's accelerator has no room for it, it is Pending instead.
func (f *Fleet) newReplica(v *variantState, ready bool) *replica {
	v.nextID++
	r := &replica{
		name:    fmt.Sprintf("%s-%05d", v.spec.Name, v.nextID),
		id:      v.nextID,
		created: f.now,
		removed: -1,
	}
	if f.fits(v) {
		f.bind(v, r, ready)
	} else {
		// An idle server, so that the replica's (empty) metrics can be read while it waits.
		r.state, r.bound, r.readyAt, r.srv = Pending, -1, -1, NewServer(v.spec.Profile, 0)
	}
	v.live = append(v.live, r)
	v.all = append(v.all, r)
	return r
}

// bind gives replica r of v its GPUs at the fleet's current time: it starts, or serves at once
// when ready is true or the fleet is instant.
func (f *Fleet) bind(v *variantState, r *replica, ready bool) {
	r.state, r.bound = Starting, f.now
	r.readyAt = f.now + v.spec.startupDelay(f.seed, r.id)
	if f.instant || ready {
		r.readyAt = f.now
		r.state = Serving
	}
	r.srv = NewServer(v.spec.Profile, r.readyAt)
}

// gpusOf is the GPUs one replica of v holds.
func gpusOf(v *variantState) int { return max(v.spec.Profile.GPUsPerReplica, 1) }

// GPUsInUse returns the GPUs held (by starting, serving and draining replicas) per accelerator
// (profile name).
func (f *Fleet) GPUsInUse() map[string]int {
	out := map[string]int{}
	for _, v := range f.variants {
		for _, r := range v.live {
			if r.state != Pending {
				out[v.spec.Profile.Name] += gpusOf(v)
			}
		}
	}
	return out
}

// fits reports whether one more replica of v fits in the inventory of its accelerator; always
// true without an inventory or for an accelerator it does not list.
func (f *Fleet) fits(v *variantState) bool {
	limit, ok := f.gpus[v.spec.Profile.Name]
	if !ok {
		return true
	}
	return f.GPUsInUse()[v.spec.Profile.Name]+gpusOf(v) <= limit
}

// schedulePending binds Pending replicas to the GPUs that are free, oldest first (ties in
// scenario order), as the scheduler binds Pending pods when GPUs free up.
func (f *Fleet) schedulePending() {
	if len(f.gpus) == 0 {
		return
	}
	bound := false
	for {
		var best *replica
		var bestV *variantState
		for _, v := range f.variants {
			for _, r := range v.live {
				if r.state == Pending && f.fits(v) && (best == nil || r.created < best.created) {
					best, bestV = r, v
				}
			}
		}
		if best == nil {
			break
		}
		f.bind(bestV, best, false)
		bound = true
	}
	if bound && f.instant {
		f.dispatchPending()
	}
}

// Variants returns the specs of the fleet's variants, in scenario order.
func (f *Fleet) Variants() []VariantSpec {
	out := make([]VariantSpec, len(f.variants))
	for i, v := range f.variants {
		out[i] = v.spec
	}
	return out
}

// Now is the fleet's virtual time.
func (f *Fleet) Now() time.Time { return f.start.Add(f.now) }

// nextReady is the earliest time a starting replica becomes ready, or -1.
func (f *Fleet) nextReady() time.Duration {
	next := time.Duration(-1)
	for _, v := range f.variants {
		for _, r := range v.live {
			if r.state == Starting && (next < 0 || r.readyAt < next) {
				next = r.readyAt
			}
		}
	}
	return next
}

// advanceTo moves the fleet to time t: replicas whose start-up ends by t become ready, every
// serving or draining replica runs its steps up to t, and drained replicas release their GPUs.
// Requests waiting in the router go to the replicas that became ready.
func (f *Fleet) advanceTo(t time.Duration) {
	f.now = t
	ready, released := false, false
	for _, v := range f.variants {
		kept := v.live[:0]
		for _, r := range v.live {
			if r.state == Pending {
				kept = append(kept, r)
				continue
			}
			if r.state == Starting {
				if r.readyAt > t {
					kept = append(kept, r)
					continue
				}
				r.state = Serving
				ready = true
			}
			if r.state == Draining && v.spec.DrainTimeout > 0 && r.drained+v.spec.DrainTimeout <= t {
				// The termination grace period ends: what the replica still holds fails.
				deadline := r.drained + v.spec.DrainTimeout
				r.srv.AdvanceTo(deadline)
				if !r.srv.Idle() {
					r.srv.Abort()
					r.state = Gone
					r.removed = deadline
					released = true
					continue
				}
			}
			r.srv.AdvanceTo(t)
			if r.state == Draining && r.srv.Idle() {
				r.state = Gone
				r.removed = max(r.drained, r.srv.LastBusy())
				released = true
				continue
			}
			kept = append(kept, r)
		}
		clear(v.live[len(kept):])
		v.live = kept
	}
	if released {
		f.schedulePending()
	}
	if ready {
		f.dispatchPending()
	}
}

// dispatchPending sends the requests waiting in the router to ready replicas of their models,
// in arrival order.
func (f *Fleet) dispatchPending() {
	for m := range f.pending {
		q := &f.pending[m]
		for q.len() > 0 {
			if !f.route(q.front(), m) {
				break
			}
			q.popFront()
		}
	}
}

// modelIndex is the index of the model r asks for: its Model, or the only model when empty.
// It is -1 for a model the fleet does not serve (Scenario.Validate rejects those).
func (f *Fleet) modelIndex(r *Request) int {
	if r.Model == "" {
		return 0
	}
	return slices.Index(f.models, r.Model)
}

// dispatch sends r, arriving now, to the least-loaded ready replica of its model, or queues it
// in the router when none is ready.
func (f *Fleet) dispatch(r *Request) {
	m := f.modelIndex(r)
	if m < 0 {
		return
	}
	if f.pending[m].len() > 0 || !f.route(r, m) {
		r.Gateway = true
		f.pending[m].pushBack(r)
	}
}

// waiting returns the number of requests waiting in the router, over all models.
func (f *Fleet) waiting() int {
	n := 0
	for i := range f.pending {
		n += f.pending[i].len()
	}
	return n
}

// route sends r to the least-loaded serving replica of a variant of model m and reports whether
// one was ready. Load is Server.Load; ties go to the replica with fewer requests, then to the
// earlier variant and the older replica.
func (f *Fleet) route(r *Request, m int) bool {
	var best *replica
	var bestLoad float64
	var bestCount int
	for _, v := range f.variants {
		if v.model != m {
			continue
		}
		for _, c := range v.live {
			if c.state != Serving {
				continue
			}
			load := c.srv.Load()
			g := c.srv.running + c.srv.waiting.len()
			if best == nil || load < bestLoad || (load == bestLoad && g < bestCount) {
				best, bestLoad, bestCount = c, load, g
			}
		}
	}
	if best == nil {
		return false
	}
	r.Replica = best.name
	best.srv.Enqueue(r, f.now)
	return true
}

// scale sets the replica count (the Deployment's spec replicas) of the named variant to n,
// capped by its MaxReplicas. Scaling up creates starting replicas; scaling down removes starting
// replicas first (newest first), then the most recently ready ones, which drain. It reports
// whether the count changed.
func (f *Fleet) scale(name string, n int) (bool, error) {
	i := slices.IndexFunc(f.variants, func(v *variantState) bool { return v.spec.Name == name })
	if i < 0 {
		return false, fmt.Errorf("unknown variant %q", name)
	}
	v := f.variants[i]
	n = max(n, 0)
	if v.spec.MaxReplicas > 0 {
		n = min(n, v.spec.MaxReplicas)
	}
	if n == v.desired {
		return false, nil
	}
	dir := 1
	if n < v.desired {
		dir = -1
	}
	v.events++
	if v.lastDir != 0 && dir != v.lastDir {
		v.reverses++
	}
	v.lastDir = dir
	for ; v.desired < n; v.desired++ {
		f.newReplica(v, false)
	}
	if f.instant {
		f.dispatchPending()
	}
	for ; v.desired > n; v.desired-- {
		f.removeOne(v)
	}
	v.peak = max(v.peak, v.desired)
	return true, nil
}

// removeOne removes the newest starting replica of v, or else the most recently ready serving
// one, which starts draining.
func (f *Fleet) removeOne(v *variantState) {
	var victim *replica
	for _, r := range v.live {
		switch {
		case r.state == Pending:
			if victim == nil || victim.state != Pending || r.created >= victim.created {
				victim = r
			}
		case victim != nil && victim.state == Pending:
		case r.state == Starting:
			if victim == nil || victim.state != Starting || r.created >= victim.created {
				victim = r
			}
		case r.state == Serving && (victim == nil || (victim.state == Serving && r.readyAt >= victim.readyAt)):
			victim = r
		}
	}
	if victim == nil {
		return
	}
	if victim.state == Pending {
		victim.state, victim.removed = Gone, victim.created
		v.live = slices.DeleteFunc(v.live, func(r *replica) bool { return r == victim })
		return
	}
	if victim.state == Starting || victim.srv.Idle() {
		victim.state = Gone
		victim.removed = f.now
		v.live = slices.DeleteFunc(v.live, func(r *replica) bool { return r == victim })
		f.schedulePending()
		return
	}
	victim.state = Draining
	victim.drained = f.now
}

// scrapeAll samples the gauges of every serving replica at the fleet's current time and drops
// samples that fell out of the peak window.
func (f *Fleet) scrapeAll() {
	for _, v := range f.variants {
		for _, r := range v.live {
			if r.state != Serving {
				continue
			}
			r.samples = append(r.samples, sample{at: f.now, g: r.srv.Gauges()})
			cut := 0
			for cut < len(r.samples)-1 && r.samples[cut].at <= f.now-f.window {
				cut++
			}
			if cut > 0 {
				r.samples = append(r.samples[:0], r.samples[cut:]...)
			}
		}
	}
}

// Collect implements collector.Source with the fleet's peak window: see Window.
func (f *Fleet) Collect(ctx context.Context, targets []collector.Target, now time.Time) (collector.Snapshot, error) {
	return f.collect(ctx, targets, now, f.window)
}

// Window returns a collector.Source that reads the fleet through a window of length w: each
// ready replica reports the peak (max_over_time) of each gauge over the scrapes in (now-w, now],
// or its latest scrape when w is 0. Replicas not scraped within the window report nothing.
//
// For each target (matched to a variant by namespace and Deployment name) the observation has
// CurrentReplicas = replicas created and not draining (the Deployment's spec replicas),
// ReadyReplicas = serving replicas, KvCacheTokens = the profile's KV capacity, and the Metrics
// status the Prometheus source would give: {Available: true, Reason: MetricsFound} when every
// ready replica reported (or the Deployment has no replica at all), otherwise Available false
// with reason MetricsMissing — no replica ready yet, or a ready replica not scraped yet, in which
// case Pods still holds the replicas that reported. A target with no matching variant has
// TargetFound false.
func (f *Fleet) Window(w time.Duration) collector.Source {
	return windowSource{f: f, w: w}
}

type windowSource struct {
	f *Fleet
	w time.Duration
}

// Collect implements collector.Source through the window.
func (s windowSource) Collect(ctx context.Context, targets []collector.Target, now time.Time) (collector.Snapshot, error) {
	return s.f.collect(ctx, targets, now, s.w)
}

func (f *Fleet) collect(ctx context.Context, targets []collector.Target, now time.Time, w time.Duration) (collector.Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return collector.Snapshot{}, err
	}
	at := now.Sub(f.start)
	snap := collector.Snapshot{Variants: make(map[types.NamespacedName]collector.VariantObservation, len(targets)), CollectedAt: now}
	for _, t := range targets {
		i := slices.IndexFunc(f.variants, func(v *variantState) bool {
			return v.spec.Name == t.Deployment && v.spec.Namespace == t.VariantAutoscaling.Namespace
		})
		if i < 0 {
			snap.Variants[t.VariantAutoscaling] = collector.VariantObservation{
				Metrics: collector.Status{Reason: ReasonMetricsMissing, Message: fmt.Sprintf("Deployment %s not found.", t.Deployment)},
			}
			continue
		}
		v := f.variants[i]
		obs := collector.VariantObservation{
			TargetFound:     true,
			CurrentReplicas: v.desired,
			KvCacheTokens:   float64(v.spec.Profile.KVCacheTokens),
		}
		for _, r := range v.live {
			if r.state != Serving {
				continue
			}
			obs.ReadyReplicas++
			if pm, ok := r.peak(at, w); ok {
				obs.Pods = append(obs.Pods, pm)
			}
		}
		sort.Slice(obs.Pods, func(a, b int) bool { return obs.Pods[a].Name < obs.Pods[b].Name })
		obs.Metrics = status(v.spec, obs)
		snap.Variants[t.VariantAutoscaling] = obs
	}
	return snap, nil
}

// status classifies an observation like the Prometheus source does (docs/metrics-collection.md,
// "Statuses"); in the simulator a ready pod lacks metrics only until its first scrape.
func status(spec VariantSpec, obs collector.VariantObservation) collector.Status {
	dep := spec.Namespace + "/" + spec.Name
	switch {
	case obs.ReadyReplicas > 0 && len(obs.Pods) == obs.ReadyReplicas:
		return collector.Status{Available: true, Reason: ReasonMetricsFound,
			Message: fmt.Sprintf("Fresh vLLM metrics were read for all %d ready pods.", obs.ReadyReplicas)}
	case obs.ReadyReplicas == 0 && obs.CurrentReplicas == 0:
		return collector.Status{Available: true, Reason: ReasonMetricsFound,
			Message: fmt.Sprintf("Deployment %s has 0 replicas, so there is nothing to measure.", dep)}
	case obs.ReadyReplicas == 0:
		return collector.Status{Reason: ReasonMetricsMissing,
			Message: fmt.Sprintf("None of the %d replicas of Deployment %s is ready yet, so no pod can report metrics.", obs.CurrentReplicas, dep)}
	default:
		return collector.Status{Reason: ReasonMetricsMissing,
			Message: fmt.Sprintf("%d of %d ready pods report no metrics (not scraped yet).", obs.ReadyReplicas-len(obs.Pods), obs.ReadyReplicas)}
	}
}

// peak returns the replica's readings over the window of length w ending at at.
func (r *replica) peak(at, w time.Duration) (analysis.PodMetrics, bool) {
	pm := analysis.PodMetrics{Name: r.name}
	found := false
	for i := len(r.samples) - 1; i >= 0; i-- {
		s := r.samples[i]
		if s.at > at {
			continue
		}
		if w == 0 {
			if !found {
				pm.KvCacheUsage, pm.QueueLength, pm.RunningRequests = s.g.KVCacheUsage, float64(s.g.Waiting), float64(s.g.Running)
				found = true
			}
			break
		}
		if s.at <= at-w {
			break
		}
		found = true
		pm.KvCacheUsage = max(pm.KvCacheUsage, s.g.KVCacheUsage)
		pm.QueueLength = max(pm.QueueLength, float64(s.g.Waiting))
		pm.RunningRequests = max(pm.RunningRequests, float64(s.g.Running))
	}
	return pm, found
}

// ReplicaMetrics is the vLLM metrics of one live replica.
type ReplicaMetrics struct {
	// Name is the replica (pod) name.
	Name string
	// State is the replica's lifecycle stage.
	State ReplicaState
	// Gauges are the replica's current gauges.
	Gauges Gauges
	// Counters are the replica's cumulative counters.
	Counters Counters
	// Histograms are the replica's request histograms.
	Histograms Histograms
}

// Metrics returns the current vLLM metrics of every live replica of the named variant, in
// creation order, or nil for an unknown variant.
func (f *Fleet) Metrics(variant string) []ReplicaMetrics {
	for _, v := range f.variants {
		if v.spec.Name != variant {
			continue
		}
		out := make([]ReplicaMetrics, 0, len(v.live))
		for _, r := range v.live {
			out = append(out, r.metrics())
		}
		return out
	}
	return nil
}

// metrics returns the replica's current vLLM metrics.
func (r *replica) metrics() ReplicaMetrics {
	return ReplicaMetrics{Name: r.name, State: r.state, Gauges: r.srv.Gauges(), Counters: r.srv.Counters(), Histograms: r.srv.Histograms()}
}

// Pod is one live replica as the cluster shows it: a pod of its variant's Deployment whose vLLM
// server exposes metrics.
type Pod struct {
	// Name is the pod name.
	Name string
	// Variant is the variant whose Deployment owns the pod.
	Variant VariantSpec
	// State is the replica's lifecycle stage: Starting pods are not ready yet, Draining pods are
	// terminating (and still serve what they have).
	State ReplicaState
	// Created and ReadyAt are when the pod was created and when it became (or becomes) ready,
	// from the scenario's start.
	Created, ReadyAt time.Duration
	// Read returns the pod's current vLLM metrics.
	Read func() ReplicaMetrics
}

// Pods returns the live pods of every variant (starting, serving and draining), variants in
// scenario order and pods in creation order.
func (f *Fleet) Pods() []Pod {
	var out []Pod
	for _, v := range f.variants {
		for _, r := range v.live {
			out = append(out, Pod{Name: r.name, Variant: v.spec, State: r.state, Created: r.created, ReadyAt: r.readyAt, Read: r.metrics})
		}
	}
	return out
}

// GatewayQueue is the number of requests of one model waiting in the router (the inference
// gateway's flow-control queue) because none of the model's replicas is ready.
type GatewayQueue struct {
	// Namespace is the namespace of the model's first variant; ModelID is the served model.
	Namespace, ModelID string
	// Waiting is the number of requests queued.
	Waiting int
}

// GatewayQueues is implemented by clusters whose router queues requests as the inference
// gateway does; Fleet implements it.
type GatewayQueues interface {
	// GatewayQueues returns the queue of every model, in scenario order.
	GatewayQueues() []GatewayQueue
}

// GatewayQueues implements GatewayQueues.
func (f *Fleet) GatewayQueues() []GatewayQueue {
	out := make([]GatewayQueue, 0, len(f.models))
	for m, model := range f.models {
		q := GatewayQueue{ModelID: model, Waiting: f.pending[m].len()}
		for _, v := range f.variants {
			if v.model == m {
				q.Namespace = v.spec.Namespace
				break
			}
		}
		out = append(out, q)
	}
	return out
}

// WaitingDemand implements the engine's scale-from-zero demand source over the fleet's own
// gateway queues (the idealised counterpart of the gateway metric the production collector
// reads): the requests waiting for each of models that the fleet serves.
func (f *Fleet) WaitingDemand(_ context.Context, models []collector.IdleModel, _ time.Time) (map[collector.ModelKey]float64, error) {
	out := map[collector.ModelKey]float64{}
	for _, q := range f.GatewayQueues() {
		k := collector.ModelKey{Namespace: q.Namespace, ModelID: q.ModelID}
		if slices.ContainsFunc(models, func(m collector.IdleModel) bool { return m.Model == k }) {
			out[k] = float64(q.Waiting)
		}
	}
	return out, nil
}

var (
	_ collector.Source = (*Fleet)(nil)
	_ Cluster          = (*Fleet)(nil)
	_ GatewayQueues    = (*Fleet)(nil)
)
