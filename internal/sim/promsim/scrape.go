package promsim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/vllmmetrics"
)

// Defaults of the scrape model.
const (
	// DefaultScrapeInterval is the scrape interval of the pods (the e2e PodMonitors' 15 s).
	DefaultScrapeInterval = 15 * time.Second
	// DefaultDiscoveryInterval is how often new and vanished targets take effect: Prometheus
	// applies service-discovery updates every 5 s.
	DefaultDiscoveryInterval = 5 * time.Second
	// DefaultJob is the job label of the scraped series.
	DefaultJob = "vllm"
	// metricsPort is the port in the instance label (vLLM serves /metrics on its API port).
	metricsPort = "8000"
)

// Target labels Prometheus adds to every scraped series (a PodMonitor's relabelling).
const (
	LabelJob       = "job"
	LabelInstance  = "instance"
	LabelNamespace = "namespace"
	LabelPod       = "pod"
	// MetricUp is the series of each scrape's health: 1 when the scrape succeeded, else 0.
	MetricUp = "up"
)

// ScrapeConfig is the scrape model.
type ScrapeConfig struct {
	// Interval is each target's scrape interval.
	Interval time.Duration
	// Jitter is the largest deviation of a scrape from its slot, drawn uniformly in
	// [-Jitter, +Jitter] per scrape; 0 scrapes exactly on the slots. It must be below Interval/2.
	Jitter time.Duration
	// FailureRate is the probability that a scrape of a serving pod fails (0 to 1). A failed
	// scrape records up 0 and, as Prometheus does, staleness markers for the series of the
	// previous scrape.
	FailureRate float64
	// Seed seeds each target's phase, jitter and failures (per pod name, so independent of the
	// order in which pods appear).
	Seed uint64
	// Job is the job label; empty means DefaultJob.
	Job string
	// Gateway also scrapes the inference gateway every Interval (from time zero): the requests
	// of each model waiting in the router (sim.GatewayQueues) as GatewayQueueMetric, the
	// series the production collector's scale-from-zero demand reads. Never fails.
	Gateway bool
}

// The gateway's scrape target.
const (
	// GatewayQueueMetric is the gateway's flow-control queue (promsource.MetricFlowControlQueueSize).
	GatewayQueueMetric = "llm_d_epp_flow_control_queue_size"
	// GatewayJob and GatewayInstance label the gateway's series.
	GatewayJob      = "epp"
	GatewayInstance = "epp:9090"
)

// DefaultScrapeConfig returns a 15 s interval without jitter or failures.
func DefaultScrapeConfig() ScrapeConfig {
	return ScrapeConfig{Interval: DefaultScrapeInterval, Job: DefaultJob}
}

// Validate reports every rule c breaks.
func (c ScrapeConfig) Validate() error {
	var errs []error
	if c.Interval <= 0 {
		errs = append(errs, fmt.Errorf("scrape interval must be positive, got %s", c.Interval))
	}
	if c.Jitter < 0 || 2*c.Jitter >= c.Interval {
		errs = append(errs, fmt.Errorf("scrape jitter must be >= 0 and below half the interval %s, got %s", c.Interval, c.Jitter))
	}
	if !(c.FailureRate >= 0 && c.FailureRate <= 1) {
		errs = append(errs, fmt.Errorf("scrape failure rate must be between 0 and 1, got %g", c.FailureRate))
	}
	return errors.Join(errs...)
}

// target is one pod as a scrape target.
type target struct {
	pod    sim.Pod
	expo   *vllmmetrics.Exposition
	base   labels.Labels // job, instance, namespace, pod
	phase  time.Duration // slot k is at phase + k*interval
	slot   int64         // index of the next slot
	next   time.Duration // time of the next scrape (slot plus jitter)
	rng    *rand.Rand
	series map[string]labels.Labels // the series of the last scrape, by labels string
}

// Scraper scrapes the pods of a simulated cluster into a TSDB on Prometheus' schedule: each pod
// is a target with its own phase in the interval; pods that appear or vanish take effect at the
// next service-discovery update. It implements sim.Observer.
type Scraper struct {
	cfg     ScrapeConfig
	db      *TSDB
	start   time.Time
	targets map[string]*target
	order   []string // target names, sorted
	nextSD  time.Duration
	cluster sim.Cluster
	scrapes int
	failed  int
	gwNext  time.Duration // the gateway's next scrape, with cfg.Gateway
}

var _ sim.Observer = (*Scraper)(nil)

// NewScraper returns a scraper writing into db; start is the wall-clock time of the scenario's
// time zero (the timestamps of the samples).
func NewScraper(cfg ScrapeConfig, db *TSDB, start time.Time) (*Scraper, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Job == "" {
		cfg.Job = DefaultJob
	}
	return &Scraper{cfg: cfg, db: db, start: start, targets: map[string]*target{}}, nil
}

// Cluster returns the cluster of the last observation, or nil before the first.
func (s *Scraper) Cluster() sim.Cluster { return s.cluster }

// Scrapes returns the number of scrapes so far and how many of them failed.
func (s *Scraper) Scrapes() (total, failed int) { return s.scrapes, s.failed }

// NextObservation implements sim.Observer: the next discovery update or scrape.
func (s *Scraper) NextObservation() time.Duration {
	next := s.nextSD
	if s.cfg.Gateway {
		next = min(next, s.gwNext)
	}
	for _, t := range s.targets {
		next = min(next, t.next)
	}
	return next
}

// Observe implements sim.Observer: at a discovery update it adds the new pods and drops the
// vanished ones (writing staleness markers for their series), then it scrapes the targets due.
func (s *Scraper) Observe(ctx context.Context, at time.Duration, c sim.Cluster) error {
	s.cluster = c
	app := s.db.Appender(ctx)
	err := s.observe(app, at, c)
	if err != nil {
		return errors.Join(err, app.Rollback())
	}
	if err := app.Commit(); err != nil {
		return fmt.Errorf("committing the scrapes at %s: %w", at, err)
	}
	return nil
}

func (s *Scraper) observe(app storage.Appender, at time.Duration, c sim.Cluster) error {
	pods := c.Pods()
	if at == s.nextSD {
		if err := s.discover(app, at, pods); err != nil {
			return err
		}
		s.nextSD += DefaultDiscoveryInterval
	}
	if s.cfg.Gateway && at == s.gwNext {
		if err := s.scrapeGateway(app, at, c); err != nil {
			return err
		}
		s.gwNext += s.cfg.Interval
	}
	// A scrape reaches the pod as it is now, whatever discovery last saw: a pod that has gone
	// since refuses the connection.
	current := make(map[string]sim.ReplicaState, len(pods))
	for _, p := range pods {
		current[p.Name] = p.State
	}
	for _, name := range s.order {
		t := s.targets[name]
		if t.next != at {
			continue
		}
		state, ok := current[name]
		if !ok {
			state = sim.Gone
		}
		t.pod.State = state
		if err := s.scrape(app, t, at); err != nil {
			return err
		}
		t.slot++
		t.next = s.slotTime(t)
	}
	return nil
}

// scrapeGateway records the gateway queue of every model of c at at.
func (s *Scraper) scrapeGateway(app storage.Appender, at time.Duration, c sim.Cluster) error {
	g, ok := c.(sim.GatewayQueues)
	if !ok {
		return nil
	}
	ts := s.start.Add(at).UnixMilli()
	for _, q := range g.GatewayQueues() {
		ls := labels.FromStrings(labels.MetricName, GatewayQueueMetric, LabelJob, GatewayJob, LabelInstance, GatewayInstance,
			LabelNamespace, q.Namespace, "model_name", q.ModelID, "target_model_name", q.ModelID)
		if _, err := app.Append(0, ls, ts, float64(q.Waiting)); err != nil {
			return fmt.Errorf("appending the gateway queue of %s: %w", q.ModelID, err)
		}
	}
	return nil
}

// discover syncs the targets with pods.
func (s *Scraper) discover(app storage.Appender, at time.Duration, pods []sim.Pod) error {
	seen := make(map[string]bool, len(pods))
	for _, p := range pods {
		seen[p.Name] = true
		if t, ok := s.targets[p.Name]; ok {
			t.pod = p
			continue
		}
		t, err := s.newTarget(p, at)
		if err != nil {
			return err
		}
		s.targets[p.Name] = t
		s.order = append(s.order, p.Name)
	}
	slices.Sort(s.order)
	kept := s.order[:0]
	for _, name := range s.order {
		if seen[name] {
			kept = append(kept, name)
			continue
		}
		// The scrape loop of a vanished target stops and marks all its series stale.
		t := s.targets[name]
		if err := s.markStale(app, t, at, nil); err != nil {
			return err
		}
		delete(s.targets, name)
	}
	s.order = kept
	return nil
}

func (s *Scraper) newTarget(p sim.Pod, at time.Duration) (*target, error) {
	expo, err := vllmmetrics.NewExposition(vllmmetrics.ForPod(p))
	if err != nil {
		return nil, err
	}
	rng := s.rngOf(p.Variant, p.Name)
	t := &target{
		pod:  p,
		expo: expo,
		base: labels.FromStrings(LabelJob, s.cfg.Job, LabelInstance, p.Name+":"+metricsPort,
			LabelNamespace, p.Variant.Namespace, LabelPod, p.Name),
		phase:  time.Duration(rng.Int64N(int64(s.cfg.Interval))),
		rng:    rng,
		series: map[string]labels.Labels{},
	}
	// The first slot at or after discovery.
	t.slot = max(0, int64((at-t.phase+s.cfg.Interval-1)/s.cfg.Interval))
	t.next = s.slotTime(t)
	for t.next < at { // jitter may place a slot just before discovery
		t.slot++
		t.next = s.slotTime(t)
	}
	return t, nil
}

// rngOf returns the random source of a pod's target, seeded by the scrape seed and the pod's
// namespace and name; its first draw is the phase.
func (s *Scraper) rngOf(v sim.VariantSpec, pod string) *rand.Rand {
	h := fnv.New64a()
	_, _ = io.WriteString(h, v.Namespace+"/"+pod)
	return rand.New(rand.NewPCG(s.cfg.Seed, h.Sum64()))
}

// phaseOf returns the phase the target of pod would get.
func (s *Scraper) phaseOf(v sim.VariantSpec, pod string) time.Duration {
	return time.Duration(s.rngOf(v, pod).Int64N(int64(s.cfg.Interval)))
}

// slotTime is the time of t's current slot, jittered; jitter keeps scrapes in order because it is
// below half the interval.
func (s *Scraper) slotTime(t *target) time.Duration {
	at := t.phase + time.Duration(t.slot)*s.cfg.Interval
	if s.cfg.Jitter > 0 {
		at += time.Duration(t.rng.Int64N(int64(2*s.cfg.Jitter)+1)) - s.cfg.Jitter
	}
	return at
}

// scrape scrapes t at at: a pod that is still starting does not listen yet, and a scrape may fail
// at random; both record up 0 and mark the previous scrape's series stale.
func (s *Scraper) scrape(app storage.Appender, t *target, at time.Duration) error {
	s.scrapes++
	ts := s.start.Add(at).UnixMilli()
	fail := t.pod.State != sim.Serving && t.pod.State != sim.Draining
	if s.cfg.FailureRate > 0 && t.rng.Float64() < s.cfg.FailureRate {
		fail = true
	}
	if fail {
		s.failed++
		if _, err := app.Append(0, withName(t.base, MetricUp), ts, 0); err != nil {
			return fmt.Errorf("appending up of %s: %w", t.pod.Name, err)
		}
		return s.markStale(app, t, at, nil)
	}
	text, err := t.expo.Text()
	if err != nil {
		return fmt.Errorf("scraping %s: %w", t.pod.Name, err)
	}
	p, err := textparse.New(text, string(vllmmetrics.TextFormat), labels.NewSymbolTable(), textparse.ParserOptions{})
	if err != nil {
		return fmt.Errorf("parsing the exposition of %s: %w", t.pod.Name, err)
	}
	now := make(map[string]labels.Labels, len(t.series))
	var lset labels.Labels
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("parsing the exposition of %s: %w", t.pod.Name, err)
		}
		if e != textparse.EntrySeries {
			continue
		}
		_, _, v := p.Series()
		p.Labels(&lset)
		ls := withTarget(lset, t.base)
		if _, err := app.Append(0, ls, ts, v); err != nil {
			return fmt.Errorf("appending %s of %s: %w", ls, t.pod.Name, err)
		}
		now[ls.String()] = ls
	}
	if _, err := app.Append(0, withName(t.base, MetricUp), ts, 1); err != nil {
		return fmt.Errorf("appending up of %s: %w", t.pod.Name, err)
	}
	if err := s.markStale(app, t, at, now); err != nil {
		return err
	}
	t.series = now
	return nil
}

// markStale appends staleness markers at at for the series of t's last scrape that are not in
// keep, and forgets them.
func (s *Scraper) markStale(app storage.Appender, t *target, at time.Duration, keep map[string]labels.Labels) error {
	ts := s.start.Add(at).UnixMilli()
	stale := math.Float64frombits(value.StaleNaN)
	keys := make([]string, 0, len(t.series))
	for k := range t.series {
		if _, ok := keep[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, err := app.Append(0, t.series[k], ts, stale); err != nil {
			return fmt.Errorf("marking %s stale: %w", k, err)
		}
		delete(t.series, k)
	}
	return nil
}

// withTarget adds the target labels to a scraped series; an exposed label that clashes with a
// target label is kept as exported_<name>, as Prometheus does without honor_labels.
func withTarget(exposed, target labels.Labels) labels.Labels {
	b := labels.NewBuilder(exposed)
	target.Range(func(l labels.Label) {
		if v := exposed.Get(l.Name); v != "" {
			b.Set("exported_"+l.Name, v)
		}
		b.Set(l.Name, l.Value)
	})
	return b.Labels()
}

func withName(base labels.Labels, name string) labels.Labels {
	return labels.NewBuilder(base).Set(labels.MetricName, name).Labels()
}
