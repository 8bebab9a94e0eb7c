package policy

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// This file holds the hindsight planner behind the oracles: given, for every window of a run and
// every variant, how many replicas of that variant alone would serve the window's arrivals within
// the SLO goal, it finds the cheapest replica schedule over the whole run.
//
// The model (stated once, used by both oracles):
//   - A mix of variants serves a window when its replicas add up to the window's demand in units
//     of each variant's own requirement: sum over v of x[v] / need[v] >= 1. With one variant this
//     is x >= need, exactly what the per-window search measured; with several it assumes the
//     router spreads load in proportion to capacity.
//   - A replica costs its price per hour for every hour it exists. With start-up, a replica that
//     starts serving at window w was created the variant's start-up delay earlier and is paid for
//     from then (the same accounting as the simulator's GPU-hours); a replica that stops is gone
//     at once (no drain).
//   - The fleet at time zero is free to choose and ready at once, like every policy's initial
//     replicas; later replicas can only be ordered from time zero on.
//
// Under that model the planner is exact: dynamic programming over windows whose state is the
// replica vector, with the min over the previous state taken one variant at a time (the cost of
// a transition is a sum of per-variant terms, so the minimisation separates). TestPlanMatches
// BruteForce checks it against enumerating every schedule on small cases.

// planMaxStates bounds the state space (the product over variants of 1 + the most replicas any
// window needs of it); past it the planner refuses rather than run for hours.
const planMaxStates = 2_000_000

// unusable marks a variant that cannot serve a window at the goal however many replicas it has.
const unusable = math.MaxInt

// planWindow is one window of the planner's input.
type planWindow struct {
	// length is how long the window lasts.
	length time.Duration
	// busy is false for a window without arrivals: any fleet, even none, serves it.
	busy bool
	// need[v] is the fewest replicas of variant v alone that serve the window (unusable when
	// none do).
	need []int
}

// planVariant is one variant as the planner sees it.
type planVariant struct {
	// costPerHour is the price of one replica for one hour.
	costPerHour float64
	// gpus is the number of GPUs one replica holds.
	gpus int
	// startup is how long a new replica exists before it serves.
	startup time.Duration
}

// planResult is the planner's output.
type planResult struct {
	// replicas[w][v] is the number of replicas of variant v serving window w.
	replicas [][]int
	// cost is the schedule's cost under the model (serving time plus start-up time).
	cost float64
	// gpuHours is the schedule's GPU-hours under the same accounting.
	gpuHours float64
}

// mixServes reports whether replicas x serve window w under the model.
func (w planWindow) mixServes(x []int) bool {
	if !w.busy {
		return true
	}
	sum := 0.0
	for v, n := range w.need {
		if n == unusable || x[v] == 0 {
			continue
		}
		if n == 0 {
			return true
		}
		sum += float64(x[v]) / float64(n)
	}
	return sum >= 1-1e-9
}

// planSchedule returns the cheapest schedule for windows; with warm false start-up costs and
// delays are ignored (replicas appear at once and are paid for only while serving).
func planSchedule(windows []planWindow, variants []planVariant, warm bool) (planResult, error) {
	if len(windows) == 0 {
		return planResult{}, nil
	}
	nv := len(variants)
	// dims[v] = 1 + the most replicas of v any busy window needs; more is never useful.
	dims := make([]int, nv)
	for v := range dims {
		dims[v] = 1
	}
	for wi, w := range windows {
		if len(w.need) != nv {
			return planResult{}, fmt.Errorf("window %d has %d requirements for %d variants", wi, len(w.need), nv)
		}
		if !w.busy {
			continue
		}
		usable := false
		for v, n := range w.need {
			if n != unusable {
				usable = true
				dims[v] = max(dims[v], n+1)
			}
		}
		if !usable {
			return planResult{}, fmt.Errorf("window %d: no variant can serve it", wi)
		}
	}
	states := 1
	for _, d := range dims {
		if states > planMaxStates/d {
			return planResult{}, fmt.Errorf("planner: %v replica states exceed the limit of %d", dims, planMaxStates)
		}
		states *= d
	}
	strides := make([]int, nv)
	for v, s := 0, 1; v < nv; v++ {
		strides[v], s = s, s*dims[v]
	}
	decode := func(i int, x []int) {
		for v := range nv {
			x[v] = i / strides[v] % dims[v]
		}
	}

	// serve[i] is the cost per hour of state i.
	perHour := make([]float64, states)
	x := make([]int, nv)
	for i := range states {
		decode(i, x)
		for v, n := range x {
			perHour[i] += float64(n) * variants[v].costPerHour
		}
	}
	inf := math.Inf(1)
	// startCost[v] is the price of one new replica of v beyond its serving time; startAt[v] is the
	// first window a new replica of v can serve (it must be ordered at or after time zero).
	startCost := make([]float64, nv)
	startAt := make([]time.Duration, nv)
	if warm {
		for v, pv := range variants {
			startCost[v] = pv.startup.Hours() * pv.costPerHour
			startAt[v] = pv.startup
		}
	}

	value := make([][]float64, len(windows))
	var elapsed time.Duration
	for wi, w := range windows {
		cur := make([]float64, states) // window 0: any fleet is free to start with
		if wi > 0 {
			copy(cur, value[wi-1])
			for v := range nv {
				s := startCost[v]
				if elapsed < startAt[v] {
					s = inf // a replica serving now would have been ordered before time zero
				}
				relax(cur, dims[v], strides[v], states, s)
			}
		}
		hours := w.length.Hours()
		for i := range cur {
			decode(i, x)
			if !w.mixServes(x) {
				cur[i] = inf
				continue
			}
			cur[i] += perHour[i] * hours
		}
		value[wi] = cur
		elapsed += w.length
	}

	// Trace the cheapest path back; among equal predecessors keep the fleet as it is, then the
	// lowest index, so the schedule is deterministic and does not churn.
	last := value[len(windows)-1]
	best := 0
	for i := range last {
		if last[i] < last[best] {
			best = i
		}
	}
	if math.IsInf(last[best], 1) {
		return planResult{}, errors.New("planner: no schedule serves every window")
	}
	res := planResult{replicas: make([][]int, len(windows)), cost: last[best]}
	path := make([]int, len(windows))
	path[len(windows)-1] = best
	y := make([]int, nv)
	elapsed = 0
	for _, w := range windows[:len(windows)-1] {
		elapsed += w.length
	}
	for wi := len(windows) - 1; wi > 0; wi-- { // elapsed is the start of window wi
		cur := path[wi]
		decode(cur, x)
		hours := windows[wi].length.Hours()
		want := value[wi][cur] - perHour[cur]*hours
		prev, prevVal := -1, inf
		for j, vj := range value[wi-1] {
			if math.IsInf(vj, 1) {
				continue
			}
			decode(j, y)
			total := vj
			for v := range nv {
				if up := x[v] - y[v]; up > 0 {
					if elapsed < startAt[v] {
						total = inf
						break
					}
					total += float64(up) * startCost[v]
				}
			}
			if tol := 1e-9 * max(1, math.Abs(total)); total < prevVal-tol || (math.Abs(total-prevVal) <= tol && j == cur) {
				prev, prevVal = j, total
			}
		}
		if prev < 0 || prevVal > want+1e-6*max(1, math.Abs(want)) {
			return planResult{}, fmt.Errorf("planner: trace-back lost the path at window %d", wi)
		}
		path[wi-1] = prev
		elapsed -= windows[wi-1].length
	}
	for wi, i := range path {
		res.replicas[wi] = make([]int, nv)
		decode(i, res.replicas[wi])
	}
	res.gpuHours = scheduleTotals(windows, variants, res.replicas, warm, func(pv planVariant) float64 { return float64(pv.gpus) })
	return res, nil
}

// relax replaces value, along one variant's axis, by the cheapest way to reach each count from
// any previous count: keeping or shedding replicas is free, each added replica costs start.
// Along a line, g(a) = min(min over b >= a of v(b), min over b < a of v(b) + start x (a - b)).
func relax(value []float64, dim, stride, states int, start float64) {
	line := make([]float64, dim)
	for base := range states {
		if base/stride%dim != 0 {
			continue // base must be the first point of its line along this axis
		}
		for a := range dim {
			line[a] = value[base+a*stride]
		}
		// From below: h(a) = start + min(h(a-1), v(a-1)).
		below := math.Inf(1)
		for a := 1; a < dim; a++ {
			below = start + min(below, line[a-1])
			value[base+a*stride] = below
		}
		value[base] = math.Inf(1)
		// From above (suffix minimum of the original line).
		above := math.Inf(1)
		for a := dim - 1; a >= 0; a-- {
			above = min(above, line[a])
			value[base+a*stride] = min(value[base+a*stride], above)
		}
	}
}

// scheduleTotals adds up schedule under the model with per the hourly figure of a replica (its
// price, or its GPUs): serving time, plus the start-up time of every replica added when warm.
func scheduleTotals(windows []planWindow, variants []planVariant, schedule [][]int, warm bool, per func(planVariant) float64) float64 {
	total := 0.0
	for wi, w := range windows {
		for v, pv := range variants {
			n := schedule[wi][v]
			total += float64(n) * per(pv) * w.length.Hours()
			if warm && wi > 0 {
				if up := n - schedule[wi-1][v]; up > 0 {
					total += float64(up) * per(pv) * pv.startup.Hours()
				}
			}
		}
	}
	return total
}
