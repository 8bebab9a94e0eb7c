package workload

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// DefaultJitter is the default spread of the copies that Scale adds: each copy arrives at a
// uniformly random time within this long after its original.
const DefaultJitter = time.Second

// Scale returns a stream whose arrival rate is k times that of reqs, keeping its shape over time
// and its token-length distribution:
//
//   - k = 1 returns a copy of reqs;
//   - k > 1 keeps every request at its recorded time and adds floor(k)-1 copies of it, plus one
//     more with probability k-floor(k); each copy arrives at the original's time plus a uniform
//     random delay in [0, jitter) and has the original's token counts;
//   - 0 < k < 1 keeps each request with probability k (thinning).
//
// The result is sorted by arrival; the same reqs, k, seed and jitter always give the same
// stream. k must be positive and jitter must not be negative.
func Scale(reqs []Request, k float64, seed uint64, jitter time.Duration) ([]Request, error) {
	if !(k > 0) || math.IsInf(k, 0) {
		return nil, fmt.Errorf("rate scale must be a positive number, got %g", k)
	}
	if jitter < 0 {
		return nil, fmt.Errorf("jitter must not be negative, got %s", jitter)
	}
	if k == 1 {
		return append([]Request(nil), reqs...), nil
	}
	rng := rand.New(rand.NewPCG(seed, 0x5ca1e))
	whole := math.Floor(k)
	frac := k - whole
	out := make([]Request, 0, int(math.Ceil(k*float64(len(reqs))))+16)
	for _, r := range reqs {
		copies := int(whole)
		if rng.Float64() < frac {
			copies++
		}
		for c := range copies {
			cp := r
			if c > 0 && jitter > 0 {
				cp.Arrival += time.Duration(rng.Int64N(int64(jitter)))
			}
			out = append(out, cp)
		}
	}
	sortByArrival(out)
	return out, nil
}
