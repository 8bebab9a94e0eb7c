package limiter

import (
	"cmp"
	"container/heap"
	"fmt"
	"maps"
	"slices"
)

// Pool is a number of GPUs that several variants draw from: the free GPUs of one accelerator
// type, or a quota on it (cluster-wide or for one namespace).
type Pool struct {
	// GPUs is what the pool holds.
	GPUs int
	// Description names the limit in reasons and status, e.g. "the H100 GPU inventory".
	Description string
}

// Demand is what one variant wants.
type Demand struct {
	// Variant identifies the variant uniquely (e.g. "namespace/name").
	Variant string
	// Priority orders the variants: a lower number is served first.
	Priority int
	// GPUsPerReplica is what one replica takes from each of Pools; 0 or less: the variant
	// needs no GPU and is never limited.
	GPUsPerReplica int
	// Pools names the pools (keys of the pools map) every replica draws from.
	Pools []string
	// Min and Max bound the replicas; the allocation never leaves [Min, Max], and Min is
	// granted even when the pools cannot hold it.
	Min, Max int
	// Want is the replicas the analyzer asked for.
	Want int
}

// Allocation is what one variant gets.
type Allocation struct {
	Variant string
	// Replicas is the granted replica count, in [Min, Max] and at most max(Want, Min).
	Replicas int
	// Want is the demand, within the bounds.
	Want int
	// LimitedBy is the key of the pool that stopped the variant short of Want ("" when it got
	// Want; of several without room, the smallest); Limit is that pool's description and size, e.g. "the H100 GPU inventory (16 GPUs)".
	LimitedBy, Limit string
	// OverMinimum is set when the minimum alone needs more GPUs than a pool holds; the
	// minimum is granted anyway and the replicas above it may stay Pending.
	OverMinimum string
}

// Limited reports whether the variant got fewer replicas than it wanted.
func (a Allocation) Limited() bool { return a.Replicas < a.Want }

// Result is the outcome of Allocate.
type Result struct {
	// Allocations holds one entry per demand, in the order of the demands.
	Allocations []Allocation
	// Remaining is each pool's GPUs left after the allocation (negative when minimums exceed it).
	Remaining map[string]int
	// Steps says, in order, what the allocation did (for `wva explain` and logs).
	Steps []string
}

// Allocate shares pools among demands. Every demand first gets Min. Then the priority levels
// are served in order (lower number first); within a level the GPUs are water-filled by
// demand: one replica at a time, to the variant holding the fewest GPUs among those whose next
// replica fits all its pools and that want more (ties by Variant), so a small demand is
// served whole and large ones share the rest evenly. A pool named by a demand but absent from
// pools does not limit it. Demands with equal Variant keys are a caller error and are treated
// as distinct.
func Allocate(demands []Demand, pools map[string]Pool) Result {
	n := len(demands)
	res := Result{Allocations: make([]Allocation, n), Remaining: make(map[string]int, len(pools))}
	for k, p := range pools {
		res.Remaining[k] = p.GPUs
	}
	want := make([]int, n)
	lo := make([]int, n)
	for i, d := range demands {
		lo[i] = max(d.Min, 0)
		hi := max(d.Max, lo[i])
		want[i] = min(max(d.Want, lo[i]), hi)
		res.Allocations[i] = Allocation{Variant: d.Variant, Replicas: lo[i], Want: want[i]}
		g := max(d.GPUsPerReplica, 0)
		if g == 0 {
			res.Allocations[i].Replicas = want[i]
			continue
		}
		for _, p := range d.Pools {
			if _, ok := res.Remaining[p]; ok {
				res.Remaining[p] -= lo[i] * g
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(pools)) {
		if r := res.Remaining[k]; r < 0 {
			res.Steps = append(res.Steps, fmt.Sprintf("Minimums need %d GPUs more than %s holds (%d GPUs).", -r, pools[k].Description, pools[k].GPUs))
		}
	}

	// Priority levels, most important first; each level's members by Variant.
	levels := map[int][]int{}
	for i, d := range demands {
		if d.GPUsPerReplica > 0 && want[i] > lo[i] {
			levels[d.Priority] = append(levels[d.Priority], i)
		}
	}
	fits := func(i int) bool {
		for _, p := range demands[i].Pools {
			if r, ok := res.Remaining[p]; ok && r < demands[i].GPUsPerReplica {
				return false
			}
		}
		return true
	}
	for _, prio := range slices.Sorted(maps.Keys(levels)) {
		members := levels[prio]
		// A min-heap on (GPUs held, Variant). Pools only shrink, so a variant whose next
		// replica does not fit never will in this allocation and leaves the heap.
		h := &fillHeap{demands: demands, allocs: res.Allocations}
		for _, i := range members {
			h.items = append(h.items, i)
		}
		heap.Init(h)
		granted := 0
		for h.Len() > 0 {
			i := h.items[0]
			if res.Allocations[i].Replicas >= want[i] || !fits(i) {
				heap.Pop(h)
				continue
			}
			res.Allocations[i].Replicas++
			granted++
			for _, p := range demands[i].Pools {
				if _, ok := res.Remaining[p]; ok {
					res.Remaining[p] -= demands[i].GPUsPerReplica
				}
			}
			heap.Fix(h, 0)
		}
		res.Steps = append(res.Steps, fmt.Sprintf("Priority %d: %d replicas granted above the minimums to %d variants.", prio, granted, len(members)))
	}

	for i, d := range demands {
		a := &res.Allocations[i]
		for _, p := range d.Pools {
			pool, ok := pools[p]
			if !ok {
				continue
			}
			if a.OverMinimum == "" && d.GPUsPerReplica > 0 && res.Remaining[p] < 0 && lo[i] > 0 {
				a.OverMinimum = fmt.Sprintf("%s (%d GPUs)", pool.Description, pool.GPUs)
			}
			// Of the pools without room, name the smallest: the most specific limit.
			if a.Limited() && res.Remaining[p] < d.GPUsPerReplica && (a.LimitedBy == "" || pool.GPUs < pools[a.LimitedBy].GPUs) {
				a.LimitedBy, a.Limit = p, fmt.Sprintf("%s (%d GPUs)", pool.Description, pool.GPUs)
			}
		}
		if a.Limited() {
			res.Steps = append(res.Steps, fmt.Sprintf("%s: %d of %d replicas (priority %d, %d GPUs each), limited by %s.",
				d.Variant, a.Replicas, a.Want, d.Priority, d.GPUsPerReplica, a.Limit))
		}
	}
	return res
}

// fillHeap orders demand indices by GPUs held, then Variant.
type fillHeap struct {
	items   []int
	demands []Demand
	allocs  []Allocation
}

func (h *fillHeap) Len() int { return len(h.items) }
func (h *fillHeap) Less(a, b int) bool {
	i, j := h.items[a], h.items[b]
	gi, gj := h.allocs[i].Replicas*h.demands[i].GPUsPerReplica, h.allocs[j].Replicas*h.demands[j].GPUsPerReplica
	if gi != gj {
		return gi < gj
	}
	return cmp.Less(h.demands[i].Variant, h.demands[j].Variant) || (h.demands[i].Variant == h.demands[j].Variant && i < j)
}
func (h *fillHeap) Swap(a, b int) { h.items[a], h.items[b] = h.items[b], h.items[a] }
func (h *fillHeap) Push(x any)    { h.items = append(h.items, x.(int)) }
func (h *fillHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}
