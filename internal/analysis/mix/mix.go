package mix

import (
	"fmt"
	"math"
	"sort"
)

// Variant is one variant's part of the problem.
type Variant struct {
	// Cost is the cost of one replica (>= 0; NaN and negative read as 0, +Inf as maxCost).
	Cost float64
	// Capacity is the demand one replica covers (>= 0; 0, NaN or negative = unusable).
	Capacity float64
	// Current is the variant's current (spec) replicas: replicas up to it cost no start penalty.
	Current int
	// Min and Max bound the variant's replicas (Min < 0 reads as 0, Max < Min as Min).
	Min, Max int
}

// Config tunes Solve.
type Config struct {
	// WarmPreference is the penalty for starting a replica beyond Current, as a fraction of the
	// replica's cost, in [0, 1]; out of range reads as 0.
	WarmPreference float64
}

// Result is the chosen fleet.
type Result struct {
	// Replicas holds x_v, in the order of the variants; always within [Min, Max].
	Replicas []int
	// Cost is Σ cost_v·x_v; Objective adds the start penalties.
	Cost, Objective float64
	// Capacity is Σ capacity_v·x_v.
	Capacity float64
	// Feasible is false when even every variant at Max does not cover the demand; Replicas is
	// then every usable variant at Max (and unusable ones at Min).
	Feasible bool
	// Optimal is false when the search hit its node limit (MaxNodes) before proving the fleet
	// cheapest; the fleet is then the best found, still feasible.
	Optimal bool
	// Reason says so in one sentence.
	Reason string
}

// MaxNodes bounds the branch-and-bound search. Random problems of six variants with 1000
// replicas each take a few hundred nodes; degenerate ones (zero costs, capacities of 1e-300)
// could otherwise take exponentially many.
const MaxNodes = 100000

const (
	maxCost     = 1e15
	maxCapacity = 1e15
	// maxReplicas bounds each variant's count (the API's int32).
	maxReplicas = math.MaxInt32
	// relTol is the relative tolerance of the demand check.
	relTol = 1e-9
)

// item is a sanitised variant.
type item struct {
	cost, cap, pen float64
	cur, lo, hi    int
}

func sanitize(v Variant, warm float64) item {
	it := item{cost: v.Cost, cap: v.Capacity}
	if !(it.cost > 0) {
		it.cost = 0
	}
	it.cost = min(it.cost, maxCost)
	if !(it.cap > 0) {
		it.cap = 0
	}
	it.cap = min(it.cap, maxCapacity)
	it.pen = warm * it.cost
	it.lo = min(max(v.Min, 0), maxReplicas)
	it.hi = min(max(v.Max, it.lo), maxReplicas)
	it.cur = min(max(v.Current, 0), maxReplicas)
	return it
}

// cost of x replicas of it, start penalty included.
func (it *item) f(x int) float64 {
	return it.cost*float64(x) + it.pen*float64(max(0, x-it.cur))
}

// piece is a segment of an item's convex cost: up to n extra replicas at rate cost per replica.
type piece struct {
	idx   int
	n     float64
	cost  float64
	ratio float64
}

// Solve returns the cheapest fleet covering demand.
func Solve(vs []Variant, demand float64, cfg Config) Result {
	warm := cfg.WarmPreference
	if !(warm >= 0 && warm <= 1) {
		warm = 0
	}
	items := make([]item, len(vs))
	for i, v := range vs {
		items[i] = sanitize(v, warm)
	}
	s := solver{items: items}
	x := make([]int, len(items))
	base, baseCap := 0.0, 0.0
	maxCap := 0.0
	for i := range items {
		x[i] = items[i].lo
		base += items[i].f(items[i].lo)
		baseCap += items[i].cap * float64(items[i].lo)
		if items[i].cap > 0 {
			maxCap += items[i].cap * float64(items[i].hi)
		} else {
			maxCap += 0
		}
	}
	if math.IsNaN(demand) || demand <= baseCap {
		return s.result(x, true, "The minimum fleet covers the demand.")
	}
	tol := relTol * max(1, demand)
	if maxCap < demand-tol || math.IsInf(demand, 0) {
		for i := range items {
			if items[i].cap > 0 {
				x[i] = items[i].hi
			}
		}
		return s.result(x, false, fmt.Sprintf("Even every variant at its maximum covers only %.4g of the demand %.4g.", maxCap, demand))
	}
	s.prepare()
	s.x = x
	s.best = math.Inf(1)
	s.bestX = make([]int, len(items))
	s.search(0, demand-baseCap, base, tol)
	if s.nodes > MaxNodes {
		r := s.result(s.bestX, true, fmt.Sprintf("The cheapest fleet found within %d search steps (not proven optimal).", MaxNodes))
		r.Optimal = false
		return r
	}
	return s.result(s.bestX, true, "The cheapest fleet that covers the demand.")
}

type solver struct {
	items  []item
	order  []int   // usable items, best cost per capacity first
	pieces []piece // pieces of usable items by ratio
	depth  []int   // depth of each item in order
	x      []int
	best   float64
	bestX  []int
	nodes  int
}

func (s *solver) result(x []int, feasible bool, reason string) Result {
	r := Result{Replicas: make([]int, len(x)), Feasible: feasible, Optimal: true, Reason: reason}
	for i, it := range s.items {
		n := min(max(x[i], it.lo), it.hi)
		r.Replicas[i] = n
		r.Cost += it.cost * float64(n)
		r.Objective += it.f(n)
		r.Capacity += it.cap * float64(n)
	}
	return r
}

func (s *solver) prepare() {
	s.depth = make([]int, len(s.items))
	for i, it := range s.items {
		s.depth[i] = -1
		if it.cap > 0 && it.hi > it.lo {
			s.order = append(s.order, i)
		}
	}
	sort.SliceStable(s.order, func(a, b int) bool {
		ia, ib := s.items[s.order[a]], s.items[s.order[b]]
		return ia.cost/ia.cap < ib.cost/ib.cap
	})
	for d, i := range s.order {
		s.depth[i] = d
		it := s.items[i]
		free := min(max(it.cur-it.lo, 0), it.hi-it.lo) // extra replicas without start penalty
		if free > 0 {
			s.pieces = append(s.pieces, piece{idx: i, n: float64(free), cost: it.cost, ratio: it.cost / it.cap})
		}
		if rest := it.hi - it.lo - free; rest > 0 {
			s.pieces = append(s.pieces, piece{idx: i, n: float64(rest), cost: it.cost + it.pen, ratio: (it.cost + it.pen) / it.cap})
		}
	}
	sort.SliceStable(s.pieces, func(a, b int) bool { return s.pieces[a].ratio < s.pieces[b].ratio })
}

// bound is the linear relaxation's cost of covering need with the items at depth >= d (their
// extra replicas above Min); +Inf when they cannot.
func (s *solver) bound(d int, need float64) float64 {
	if need <= 0 {
		return 0
	}
	c := 0.0
	for _, p := range s.pieces {
		if s.depth[p.idx] < d {
			continue
		}
		capacity := p.n * s.items[p.idx].cap
		if capacity >= need {
			return c + need*p.ratio
		}
		c += p.n * p.cost
		need -= capacity
	}
	return math.Inf(1)
}

// search assigns the item at depth d; need is the demand left, cost the objective so far (every
// item at depth >= d at its Min).
func (s *solver) search(d int, need, cost, tol float64) {
	s.nodes++
	if need <= tol {
		if cost < s.best {
			s.best = cost
			copy(s.bestX, s.x)
		}
		return
	}
	if d == len(s.order) || (s.nodes > MaxNodes && !math.IsInf(s.best, 1)) {
		return
	}
	i := s.order[d]
	it := &s.items[i]
	base := it.f(it.lo)
	span := it.hi - it.lo
	// No more extra replicas than cover the need alone.
	top := min(span, int(math.Min(math.Ceil((need-tol)/it.cap), float64(span))))
	if d == len(s.order)-1 {
		// The last item is determined.
		if float64(top)*it.cap >= need-tol {
			s.x[i] = it.lo + top
			s.search(d+1, need-float64(top)*it.cap, cost-base+it.f(it.lo+top), tol)
			s.x[i] = it.lo
		}
		return
	}
	prev := math.Inf(1)
	for e := top; e >= 0; e-- {
		c := cost - base + it.f(it.lo+e)
		rest := need - float64(e)*it.cap
		lb := c + s.bound(d+1, rest)
		if lb >= s.best-1e-9*math.Abs(s.best) {
			// The bound is convex in e: once it rises while above the incumbent, it keeps rising.
			if lb > prev {
				break
			}
			prev = lb
			continue
		}
		prev = lb
		s.x[i] = it.lo + e
		s.search(d+1, rest, c, tol)
		s.x[i] = it.lo
	}
}
