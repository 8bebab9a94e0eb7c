package limiter

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// FuzzAllocate checks the invariants on random fleets: every allocation lies in [Min, Max]
// and at most the demand; above the minimums no pool is overdrawn; a limited variant has a
// pool without room for one more replica; and lower priorities change nothing for higher ones
// beyond their minimums.
func FuzzAllocate(f *testing.F) {
	for _, s := range []uint64{1, 2, 3, 42, 1000} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		pools := map[string]Pool{}
		names := []string{}
		for i := range 1 + rng.IntN(4) {
			k := fmt.Sprintf("p%d", i)
			pools[k] = Pool{GPUs: rng.IntN(40), Description: k}
			names = append(names, k)
		}
		demands := make([]Demand, 1+rng.IntN(12))
		for i := range demands {
			lo := rng.IntN(3)
			d := Demand{Variant: fmt.Sprintf("v%d", i), Priority: rng.IntN(3), GPUsPerReplica: rng.IntN(5),
				Min: lo, Max: lo + rng.IntN(10), Want: rng.IntN(15) - 2}
			for _, k := range names {
				if rng.IntN(2) == 0 {
					d.Pools = append(d.Pools, k)
				}
			}
			if rng.IntN(8) == 0 {
				d.Pools = append(d.Pools, "absent")
			}
			demands[i] = d
		}
		res := Allocate(demands, pools)
		if len(res.Allocations) != len(demands) {
			t.Fatalf("%d allocations for %d demands", len(res.Allocations), len(demands))
		}
		aboveMin := map[string]int{}
		minUse := map[string]int{}
		for i, d := range demands {
			a := res.Allocations[i]
			if a.Replicas < d.Min || a.Replicas > max(d.Max, d.Min) || a.Replicas > max(d.Want, d.Min) {
				t.Fatalf("%s: %d replicas outside [%d, %d] or above want %d", d.Variant, a.Replicas, d.Min, d.Max, d.Want)
			}
			for _, p := range d.Pools {
				if d.GPUsPerReplica > 0 {
					aboveMin[p] += (a.Replicas - d.Min) * d.GPUsPerReplica
					minUse[p] += d.Min * d.GPUsPerReplica
				}
			}
			if a.Limited() && d.GPUsPerReplica > 0 && res.Remaining[a.LimitedBy] >= d.GPUsPerReplica {
				t.Fatalf("%s limited by %q, which has %d GPUs left", d.Variant, a.LimitedBy, res.Remaining[a.LimitedBy])
			}
		}
		for k, p := range pools {
			if aboveMin[k] > 0 && minUse[k]+aboveMin[k] > p.GPUs {
				t.Fatalf("pool %s of %d GPUs overdrawn: minimums %d + %d above", k, p.GPUs, minUse[k], aboveMin[k])
			}
			if res.Remaining[k] != p.GPUs-minUse[k]-aboveMin[k] {
				t.Fatalf("pool %s remaining %d, want %d", k, res.Remaining[k], p.GPUs-minUse[k]-aboveMin[k])
			}
		}
		// Lower priorities take nothing from higher ones beyond their minimums: with every
		// variant below priority p wanting only its minimum, those at p or above get the same.
		for p := range 3 {
			capped := make([]Demand, len(demands))
			for i, d := range demands {
				capped[i] = d
				if d.Priority > p {
					capped[i].Want = d.Min
				}
			}
			again := Allocate(capped, pools)
			for i, d := range demands {
				if d.Priority <= p && again.Allocations[i].Replicas != res.Allocations[i].Replicas {
					t.Fatalf("%s (priority %d) gets %d replicas, but %d when priorities above %d want only their minimums",
						d.Variant, d.Priority, res.Allocations[i].Replicas, again.Allocations[i].Replicas, p)
				}
			}
		}
	})
}
