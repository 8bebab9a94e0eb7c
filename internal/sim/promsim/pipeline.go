package promsim

import (
	"context"
	"errors"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	promsource "github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector/prometheus"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
)

// ErrNotObserved is returned by Collect before the first observation of the cluster.
var ErrNotObserved = errors.New("the simulated Prometheus has not observed the cluster yet: pass the Pipeline to sim.Run with sim.WithObserver")

// Pipeline is the production metrics path in the simulator: the Scraper fills the TSDB, and
// Collect runs the production collector (promsource.Source) over the TSDB's PromQL engine and the
// KubeStore, synced with the cluster first. Pass it to sim.Run with sim.WithObserver and give it
// to the engine as its collector.Source.
type Pipeline struct {
	db      *TSDB
	scraper *Scraper
	kube    *KubeStore
	source  *promsource.Source
}

var (
	_ collector.Source = (*Pipeline)(nil)
	_ sim.Observer     = (*Pipeline)(nil)
)

// NewPipeline returns a pipeline scraping as cfg says, with the scenario's time zero at start;
// opts configure the production Source (window, staleness limit). Close it after the run.
func NewPipeline(cfg ScrapeConfig, start time.Time, opts ...promsource.Option) (*Pipeline, error) {
	db, err := NewTSDB()
	if err != nil {
		return nil, err
	}
	scraper, err := NewScraper(cfg, db, start)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	kube, err := NewKubeStore(start)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return &Pipeline{db: db, scraper: scraper, kube: kube, source: promsource.New(db, kube.Reader(), opts...)}, nil
}

// NextObservation implements sim.Observer.
func (p *Pipeline) NextObservation() time.Duration { return p.scraper.NextObservation() }

// Observe implements sim.Observer.
func (p *Pipeline) Observe(ctx context.Context, at time.Duration, c sim.Cluster) error {
	return p.scraper.Observe(ctx, at, c)
}

// Collect implements collector.Source: it syncs the Kubernetes objects with the cluster and runs
// the production collector at now.
func (p *Pipeline) Collect(ctx context.Context, targets []collector.Target, now time.Time) (collector.Snapshot, error) {
	c := p.scraper.Cluster()
	if c == nil {
		return collector.Snapshot{CollectedAt: now}, ErrNotObserved
	}
	if err := p.kube.Sync(ctx, c.Variants(), c.Pods()); err != nil {
		return collector.Snapshot{CollectedAt: now}, err
	}
	return p.source.Collect(ctx, targets, now)
}

// WaitingDemand runs the production collector's scale-from-zero demand query
// (promsource.Source.WaitingDemand) over the TSDB: with ScrapeConfig.Gateway, the gateway queue
// of the simulated router.
func (p *Pipeline) WaitingDemand(ctx context.Context, models []collector.IdleModel, now time.Time) (map[collector.ModelKey]float64, error) {
	return p.source.WaitingDemand(ctx, models, now)
}

// TSDB returns the pipeline's TSDB (for queries of one's own).
func (p *Pipeline) TSDB() *TSDB { return p.db }

// Kube returns the pipeline's store of Kubernetes objects.
func (p *Pipeline) Kube() *KubeStore { return p.kube }

// Scraper returns the pipeline's scraper.
func (p *Pipeline) Scraper() *Scraper { return p.scraper }

// Close releases the TSDB.
func (p *Pipeline) Close() error { return p.db.Close() }
