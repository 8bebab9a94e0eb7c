package sim

import (
	"fmt"
	"io"
	"sort"
	"time"
)

// Score summarises one run of one policy.
type Score struct {
	// Policy is the policy's name.
	Policy string
	// Requests is the number of requests that arrived during the run.
	Requests int
	// Finished is the number of requests whose last token came out before the end of the run.
	Finished int
	// Unfinished is the number of requests still waiting or running at the end of the run.
	Unfinished int
	// Rejected is the number of requests too large for any replica's KV cache.
	Rejected int
	// Failed is the number of requests stopped unfinished on a replica whose drain timed out
	// (not counted in Unfinished); they are misses.
	Failed int
	// SLOMet is the number of requests that finished with TTFT and mean ITL within the SLO.
	SLOMet int
	// SLOAttainment is SLOMet / Requests (1 when no request arrived): unfinished and rejected
	// requests count as misses.
	SLOAttainment float64
	// Feasible is the number of requests that can meet the SLO at all: served alone on an idle
	// replica of some variant of the scenario, they do. FeasibleMet counts those that did.
	Feasible, FeasibleMet int
	// FeasibleAttainment is FeasibleMet / Feasible (1 when none is feasible): attainment over
	// the requests that no autoscaler can be blamed for missing.
	FeasibleAttainment float64
	// TTFTP50 and TTFTP99 are percentiles of the time to first token of the requests that got
	// one (nearest rank).
	TTFTP50, TTFTP99 time.Duration
	// ITLP50 and ITLP99 are percentiles of the mean inter-token latency of the finished requests
	// with more than one output token.
	ITLP50, ITLP99 time.Duration
	// GPUHours is the sum over replicas of the time from creation to removal (or to the end of
	// the run) times the replica's GPUs, in hours. A replica Pending for lack of GPUs (see
	// Scenario.GPUs) is billed from when it got them, and not at all when it never did.
	GPUHours float64
	// Cost is the GPU-hours of each variant times its price per GPU-hour.
	Cost float64
	// ScaleEvents counts changes of a variant's replica count.
	ScaleEvents int
	// Reversals counts scale events whose direction is opposite to the variant's previous one.
	Reversals int
	// Preemptions counts preemptions over all replicas.
	Preemptions int
	// Variants breaks the replica figures down per variant, in scenario order.
	Variants []VariantScore
	// Models breaks the request and cost figures down per model, in the order of
	// Scenario.Models; nil when the scenario serves one model.
	Models []ModelScore
}

// ModelScore is one model's share of a run: its requests and the replicas of its variants.
type ModelScore struct {
	// Model is the served model name.
	Model string
	// Requests, Finished, SLOMet, Feasible and FeasibleMet count the model's requests as the
	// Score counts all of them; feasibility is judged on the model's own variants.
	Requests, Finished, SLOMet, Feasible, FeasibleMet int
	// SLOAttainment and FeasibleAttainment are SLOMet / Requests and FeasibleMet / Feasible
	// (1 when the denominator is 0).
	SLOAttainment, FeasibleAttainment float64
	// TTFTP50 and TTFTP99 are percentiles of the model's times to first token.
	TTFTP50, TTFTP99 time.Duration
	// GPUHours and Cost sum the model's variants.
	GPUHours, Cost float64
}

// VariantScore is the replica accounting of one variant over a run.
type VariantScore struct {
	// Name is the variant name.
	Name string
	// GPUHours and Cost are the variant's share of the Score's.
	GPUHours, Cost float64
	// ScaleEvents and Reversals are the variant's share of the Score's.
	ScaleEvents, Reversals int
	// PeakReplicas is the largest replica count the variant had.
	PeakReplicas int
	// ReplicasCreated counts the replicas created during the run (initial ones excluded).
	ReplicasCreated int
}

func scoreRun(policy string, slo SLO, reqs []Request, f *Fleet, end time.Duration) Score {
	s := Score{Policy: policy, Requests: len(reqs)}
	var ttfts, itls []time.Duration
	// Feasibility is judged on the variants of each request's own model.
	feasible := make([]*feasibility, len(f.pending))
	for m := range feasible {
		var specs []VariantSpec
		for _, v := range f.variants {
			if v.model == m {
				specs = append(specs, v.spec)
			}
		}
		feasible[m] = newFeasibility(specs, slo)
	}
	multi := len(f.models) > 1
	if multi {
		s.Models = make([]ModelScore, len(f.models))
	}
	modelTTFTs := make([][]time.Duration, len(f.models))
	for i := range reqs {
		r := &reqs[i]
		m := f.modelIndex(r)
		var ms *ModelScore
		if multi && m >= 0 {
			ms = &s.Models[m]
			ms.Requests++
			if r.FirstToken >= 0 {
				modelTTFTs[m] = append(modelTTFTs[m], r.TTFT())
			}
			if r.Finished >= 0 && !r.Failed && !r.Rejected {
				ms.Finished++
				if slo.Met(r) {
					ms.SLOMet++
				}
			}
		}
		if m >= 0 && feasible[m].alone(r.InputTokens, r.OutputTokens) {
			s.Feasible++
			if slo.Met(r) {
				s.FeasibleMet++
			}
			if ms != nil {
				ms.Feasible++
				if slo.Met(r) {
					ms.FeasibleMet++
				}
			}
		}
		switch {
		case r.Rejected:
			s.Rejected++
			continue
		case r.Failed:
			s.Failed++
		case r.Finished >= 0:
			s.Finished++
			if slo.Met(r) {
				s.SLOMet++
			}
			if r.OutputTokens > 1 {
				itls = append(itls, r.ITL())
			}
		default:
			s.Unfinished++
		}
		if r.FirstToken >= 0 {
			ttfts = append(ttfts, r.TTFT())
		}
	}
	s.SLOAttainment = 1
	if s.Requests > 0 {
		s.SLOAttainment = float64(s.SLOMet) / float64(s.Requests)
	}
	s.FeasibleAttainment = 1
	if s.Feasible > 0 {
		s.FeasibleAttainment = float64(s.FeasibleMet) / float64(s.Feasible)
	}
	s.TTFTP50, s.TTFTP99 = percentiles(ttfts)
	s.ITLP50, s.ITLP99 = percentiles(itls)

	for _, v := range f.variants {
		vs := VariantScore{Name: v.spec.Name, ScaleEvents: v.events, Reversals: v.reverses, PeakReplicas: v.peak,
			ReplicasCreated: len(v.all) - v.spec.InitialReplicas}
		var seconds float64
		for _, r := range v.all {
			until := end
			if r.state == Gone {
				until = r.removed
			}
			// Billed from when the replica got its GPUs: a Pending one holds none.
			if r.bound >= 0 {
				seconds += (until - r.bound).Seconds()
			}
			s.Preemptions += int(r.srv.counters.Preemptions)
		}
		vs.GPUHours = seconds / 3600 * float64(v.spec.Profile.GPUsPerReplica)
		vs.Cost = vs.GPUHours * v.spec.Profile.CostPerGPUHour
		s.GPUHours += vs.GPUHours
		s.Cost += vs.Cost
		s.ScaleEvents += vs.ScaleEvents
		s.Reversals += vs.Reversals
		s.Variants = append(s.Variants, vs)
		if multi {
			s.Models[v.model].GPUHours += vs.GPUHours
			s.Models[v.model].Cost += vs.Cost
		}
	}
	for i := range s.Models {
		ms := &s.Models[i]
		ms.Model = f.models[i]
		ms.SLOAttainment, ms.FeasibleAttainment = 1, 1
		if ms.Requests > 0 {
			ms.SLOAttainment = float64(ms.SLOMet) / float64(ms.Requests)
		}
		if ms.Feasible > 0 {
			ms.FeasibleAttainment = float64(ms.FeasibleMet) / float64(ms.Feasible)
		}
		ms.TTFTP50, ms.TTFTP99 = percentiles(modelTTFTs[i])
	}
	return s
}

// percentiles returns the nearest-rank 50th and 99th percentiles of ds (0 when empty).
func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return nearestRank(ds, 0.50), nearestRank(ds, 0.99)
}

func nearestRank(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.999999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// WriteScore writes s as a small readable block.
func WriteScore(w io.Writer, s Score) error {
	_, err := fmt.Fprintf(w,
		"policy %s: requests %d finished %d unfinished %d rejected %d failed %d\n"+
			"  SLO attainment %.4f (%d met), feasible %.4f (%d of %d)\n"+
			"  TTFT p50 %s p99 %s, ITL p50 %s p99 %s\n"+
			"  GPU-hours %.4f cost %.4f, scale events %d reversals %d preemptions %d\n",
		s.Policy, s.Requests, s.Finished, s.Unfinished, s.Rejected, s.Failed,
		s.SLOAttainment, s.SLOMet, s.FeasibleAttainment, s.FeasibleMet, s.Feasible,
		s.TTFTP50.Round(time.Millisecond), s.TTFTP99.Round(time.Millisecond), s.ITLP50.Round(100*time.Microsecond), s.ITLP99.Round(100*time.Microsecond),
		s.GPUHours, s.Cost, s.ScaleEvents, s.Reversals, s.Preemptions)
	if err != nil {
		return err
	}
	for _, v := range s.Variants {
		if _, err := fmt.Fprintf(w, "  %s: GPU-hours %.4f cost %.4f, scale events %d reversals %d, peak replicas %d, created %d\n",
			v.Name, v.GPUHours, v.Cost, v.ScaleEvents, v.Reversals, v.PeakReplicas, v.ReplicasCreated); err != nil {
			return err
		}
	}
	for _, m := range s.Models {
		if _, err := fmt.Fprintf(w, "  model %s: requests %d, SLO attainment %.4f (%d met), feasible %.4f (%d of %d), TTFT p50 %s p99 %s, GPU-hours %.4f cost %.4f\n",
			m.Model, m.Requests, m.SLOAttainment, m.SLOMet, m.FeasibleAttainment, m.FeasibleMet, m.Feasible,
			m.TTFTP50.Round(time.Millisecond), m.TTFTP99.Round(time.Millisecond), m.GPUHours, m.Cost); err != nil {
			return err
		}
	}
	return nil
}
