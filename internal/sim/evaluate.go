package sim

import (
	"fmt"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

// evaluateHorizon bounds how long Attainment lets requests finish after the last arrival.
const evaluateHorizon = 24 * time.Hour

// Attainment serves reqs (sorted by arrival) on a fixed fleet of n ready replicas of variant v
// behind the least-loaded router, lets every request finish, and returns the share of requests
// that met slo (1 when reqs is empty). It is the building block of the oracle: "could n replicas,
// available at once, have served this traffic?".
func Attainment(v VariantSpec, n int, reqs []workload.Request, slo SLO) (float64, error) {
	if err := v.Validate(); err != nil {
		return 0, err
	}
	if n < 1 {
		return 0, fmt.Errorf("replicas must be positive, got %d", n)
	}
	if len(reqs) == 0 {
		return 1, nil
	}
	v.InitialReplicas, v.MaxReplicas = n, 0
	f := newFleet(Scenario{Variants: []VariantSpec{v}}, true)
	rs := make([]Request, len(reqs))
	for i, w := range reqs {
		rs[i] = newRequest(i, w)
		f.advanceTo(w.Arrival)
		f.dispatch(&rs[i])
	}
	f.advanceTo(reqs[len(reqs)-1].Arrival + evaluateHorizon)
	met := 0
	for i := range rs {
		if slo.Met(&rs[i]) {
			met++
		}
	}
	return float64(met) / float64(len(rs)), nil
}

// BestAttainment returns the share of reqs that meet slo when each is served alone on an idle
// replica of variant v: the most any number of replicas can reach, since sharing a replica only
// delays a request. Requests that miss even alone (say, a prompt too long for the TTFT target)
// are the intrinsic misses of a window.
func BestAttainment(v VariantSpec, reqs []workload.Request, slo SLO) (float64, error) {
	if err := v.Validate(); err != nil {
		return 0, err
	}
	if len(reqs) == 0 {
		return 1, nil
	}
	alone := newFeasibility([]VariantSpec{v}, slo)
	met := 0
	for _, w := range reqs {
		if alone.alone(w.InputTokens, w.OutputTokens) {
			met++
		}
	}
	return float64(met) / float64(len(reqs)), nil
}

// feasibility answers, with a memo per request shape, whether a request meets the SLO when
// served alone on an idle replica of any of a set of variants.
type feasibility struct {
	variants []VariantSpec
	slo      SLO
	memo     map[[2]int]bool
}

func newFeasibility(variants []VariantSpec, slo SLO) *feasibility {
	return &feasibility{variants: variants, slo: slo, memo: map[[2]int]bool{}}
}

// alone reports whether a request of in prompt and out output tokens meets the SLO alone on an
// idle replica of some variant.
func (f *feasibility) alone(in, out int) bool {
	k := [2]int{in, out}
	if ok, seen := f.memo[k]; seen {
		return ok
	}
	ok := false
	for _, v := range f.variants {
		s := NewServer(v.Profile, 0)
		r := newRequest(0, workload.Request{InputTokens: in, OutputTokens: out})
		s.Enqueue(&r, 0)
		s.AdvanceTo(evaluateHorizon)
		if f.slo.Met(&r) {
			ok = true
			break
		}
	}
	f.memo[k] = ok
	return ok
}
