package sim

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

// DefaultTail is how long NewScenario keeps simulating after the last arrival, so that the
// requests in flight can finish.
const DefaultTail = 5 * time.Minute

// DefaultStart is the wall-clock time of a scenario's time zero unless set: what Collect and
// Policy.Decide see as "now" at the start of a run.
var DefaultStart = time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)

// SLO holds the per-request service-level targets.
type SLO struct {
	// TTFT is the largest acceptable time to first token.
	TTFT time.Duration
	// ITL is the largest acceptable mean inter-token latency of a request.
	ITL time.Duration
}

// DefaultSLO returns TTFT 2 s and mean ITL 50 ms: an interactive chat service. The A100-40GB
// and H100-80GB profiles meet it at moderate load; the L4 cannot (its batch-1 step alone takes
// 71 ms, and each 1k-token prefill stalls the batch for about 300 ms): use ITL 150 ms with it.
func DefaultSLO() SLO {
	return SLO{TTFT: 2 * time.Second, ITL: 50 * time.Millisecond}
}

// Met reports whether the finished request r met both targets.
func (s SLO) Met(r *Request) bool {
	return r.Finished >= 0 && r.TTFT() <= s.TTFT && r.ITL() <= s.ITL
}

// Scenario is one simulated situation: the variants of one or more models sharing a fleet, the
// request stream they serve, and how the cluster is observed. Policies are compared by running
// the same scenario.
type Scenario struct {
	// Name labels the scenario in reports.
	Name string
	// Start is the wall-clock time of the scenario's time zero.
	Start time.Time
	// Requests is the stream, sorted by arrival.
	Requests []workload.Request
	// Variants are the models' variants (each serves VariantSpec.ModelID); names must be unique.
	// The router spreads each request over the ready replicas of its model's variants.
	Variants []VariantSpec
	// Duration is how much virtual time a run covers; requests arriving later are not replayed
	// and requests unfinished at the end count as unfinished.
	Duration time.Duration
	// ScrapeInterval is how often the replicas' gauges are sampled for Collect.
	ScrapeInterval time.Duration
	// PeakWindow is the window of the fleet's Collect: peak readings over it (max_over_time), or
	// the latest scrape when 0.
	PeakWindow time.Duration
	// SLO holds the targets the Score measures attainment of.
	SLO SLO
	// Seed seeds the variants' start-up jitter (VariantSpec.StartupJitter).
	Seed uint64
	// GPUs is the cluster's GPU inventory: the GPUs of each accelerator type, keyed by profile
	// name (Profile.Name). Replicas beyond it stay Pending (see ReplicaState). An accelerator
	// it does not list, and every accelerator when it is nil, is unlimited.
	GPUs map[string]int
}

// NewScenario returns a scenario with the given stream and variants, starting at DefaultStart,
// lasting until DefaultTail after the last arrival, scraped every DefaultScrapeInterval with a
// DefaultPeakWindow, and scored against DefaultSLO.
func NewScenario(name string, reqs []workload.Request, variants ...VariantSpec) Scenario {
	var last time.Duration
	if len(reqs) > 0 {
		last = reqs[len(reqs)-1].Arrival
	}
	return Scenario{
		Name:           name,
		Start:          DefaultStart,
		Requests:       reqs,
		Variants:       variants,
		Duration:       last + DefaultTail,
		ScrapeInterval: DefaultScrapeInterval,
		PeakWindow:     DefaultPeakWindow,
		SLO:            DefaultSLO(),
	}
}

// Models returns the models the variants serve, in the order of their first variant.
func (s Scenario) Models() []string {
	var out []string
	for _, v := range s.Variants {
		if !slices.Contains(out, v.ModelID) {
			out = append(out, v.ModelID)
		}
	}
	return out
}

// Validate reports every rule s breaks, joined into one error.
func (s Scenario) Validate() error {
	var errs []error
	if len(s.Variants) == 0 {
		errs = append(errs, errors.New("at least one variant is required"))
	}
	seen := map[string]bool{}
	for _, v := range s.Variants {
		if err := v.Validate(); err != nil {
			errs = append(errs, err)
		}
		if seen[v.Name] {
			errs = append(errs, fmt.Errorf("variant name %q is used twice", v.Name))
		}
		seen[v.Name] = true
	}
	for _, acc := range slices.Sorted(maps.Keys(s.GPUs)) {
		if s.GPUs[acc] < 0 {
			errs = append(errs, fmt.Errorf("the inventory of %s must be >= 0 GPUs, got %d", acc, s.GPUs[acc]))
		}
	}
	if s.Duration <= 0 {
		errs = append(errs, fmt.Errorf("duration must be positive, got %s", s.Duration))
	}
	if s.ScrapeInterval <= 0 {
		errs = append(errs, fmt.Errorf("scrape interval must be positive, got %s", s.ScrapeInterval))
	}
	if s.PeakWindow < 0 {
		errs = append(errs, fmt.Errorf("peak window must be >= 0, got %s", s.PeakWindow))
	}
	if s.SLO.TTFT <= 0 || s.SLO.ITL <= 0 {
		errs = append(errs, fmt.Errorf("SLO targets must be positive, got TTFT %s and ITL %s", s.SLO.TTFT, s.SLO.ITL))
	}
	for i := 1; i < len(s.Requests); i++ {
		if s.Requests[i].Arrival < s.Requests[i-1].Arrival {
			errs = append(errs, fmt.Errorf("requests must be sorted by arrival: request %d arrives before request %d", i, i-1))
			break
		}
	}
	if models := s.Models(); len(s.Variants) > 0 {
		for i, r := range s.Requests {
			if (r.Model == "" && len(models) > 1) || (r.Model != "" && !slices.Contains(models, r.Model)) {
				errs = append(errs, fmt.Errorf("request %d asks for model %q: requests must name one of the scenario's models %q (empty only with one model)",
					i, r.Model, models))
				break
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("scenario %q: %w", s.Name, err)
	}
	return nil
}
