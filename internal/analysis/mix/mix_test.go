package mix

import (
	"math"
	"math/rand/v2"
	"testing"
)

// brute enumerates every fleet and returns the least objective of a feasible one (+Inf when
// none is), with the same sanitising and tolerance as Solve.
func brute(vs []Variant, demand float64, cfg Config) float64 {
	items := make([]item, len(vs))
	for i, v := range vs {
		items[i] = sanitize(v, cfg.WarmPreference)
	}
	tol := relTol * max(1, demand)
	best := math.Inf(1)
	var rec func(i int, obj, capacity float64)
	rec = func(i int, obj, capacity float64) {
		if i == len(items) {
			if capacity >= demand-tol && obj < best {
				best = obj
			}
			return
		}
		for x := items[i].lo; x <= items[i].hi; x++ {
			rec(i+1, obj+items[i].f(x), capacity+items[i].cap*float64(x))
		}
	}
	rec(0, 0, 0)
	return best
}

func TestSolveMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	caps := []float64{0, 0.5, 1, 2, 3.7, 10}
	for c := range 20000 {
		n := 1 + rng.IntN(4)
		vs := make([]Variant, n)
		for i := range vs {
			lo := rng.IntN(3)
			vs[i] = Variant{
				Cost:     float64(rng.IntN(6)), // small integers: many ties, some free replicas
				Capacity: caps[rng.IntN(len(caps))],
				Current:  rng.IntN(8),
				Min:      lo,
				Max:      lo + rng.IntN(7),
			}
		}
		demand := 30 * rng.Float64()
		if rng.IntN(10) == 0 {
			demand = math.Round(demand) // exact sums
		}
		cfg := Config{WarmPreference: []float64{0, 0.1, 0.5}[rng.IntN(3)]}
		got := Solve(vs, demand, cfg)
		want := brute(vs, demand, cfg)
		for i, x := range got.Replicas {
			if x < vs[i].Min || x > max(vs[i].Max, vs[i].Min) {
				t.Fatalf("case %d: replicas %v outside the bounds of %+v", c, got.Replicas, vs)
			}
		}
		if math.IsInf(want, 1) {
			if got.Feasible {
				t.Fatalf("case %d: %+v demand %g: feasible %+v, brute force found none", c, vs, demand, got)
			}
			continue
		}
		if !got.Feasible || got.Capacity < demand-relTol*max(1, demand) {
			t.Fatalf("case %d: %+v demand %g: %+v, want feasible", c, vs, demand, got)
		}
		if math.Abs(got.Objective-want) > 1e-9*max(1, want) {
			t.Fatalf("case %d: %+v demand %g cfg %+v: objective %g (%v), brute force %g", c, vs, demand, cfg, got.Objective, got.Replicas, want)
		}
	}
}

func TestSolveCases(t *testing.T) {
	for name, tc := range map[string]struct {
		vs       []Variant
		demand   float64
		cfg      Config
		want     []int
		feasible bool
	}{
		"cheapest per capacity": {
			vs:     []Variant{{Cost: 1.29, Capacity: 4.6, Max: 100}, {Cost: 2.99, Capacity: 16.2, Max: 100}},
			demand: 40, want: []int{2, 2}, feasible: true, // $8.56: beats 3 H100 ($8.97) and 9 A100 ($11.61)
		},
		"minimum covers": {
			vs:     []Variant{{Cost: 1, Capacity: 10, Min: 1, Max: 5}, {Cost: 1, Capacity: 10, Min: 2, Max: 5}},
			demand: 5, want: []int{1, 2}, feasible: true,
		},
		"infeasible: every usable variant at max": {
			vs:     []Variant{{Cost: 1, Capacity: 1, Max: 3}, {Cost: 1, Capacity: 0, Min: 1, Max: 9}},
			demand: 10, want: []int{3, 1}, feasible: false,
		},
		"warm replicas win a near tie": {
			// b is 5 % cheaper per capacity but a has 2 warm replicas; starting b's costs 10 %.
			vs:     []Variant{{Cost: 1, Capacity: 1, Current: 2, Max: 10}, {Cost: 0.95, Capacity: 1, Max: 10}},
			demand: 2, cfg: Config{WarmPreference: 0.1}, want: []int{2, 0}, feasible: true,
		},
		"without warm preference the cheaper wins": {
			vs:     []Variant{{Cost: 1, Capacity: 1, Current: 2, Max: 10}, {Cost: 0.95, Capacity: 1, Max: 10}},
			demand: 2, want: []int{0, 2}, feasible: true,
		},
		"NaN demand keeps the minimum": {
			vs:     []Variant{{Cost: 1, Capacity: 1, Min: 1, Max: 10}},
			demand: math.NaN(), want: []int{1}, feasible: true,
		},
		"Inf demand is infeasible": {
			vs:     []Variant{{Cost: 1, Capacity: 1, Min: 1, Max: 10}},
			demand: math.Inf(1), want: []int{10}, feasible: false,
		},
		"bad numbers": {
			vs:     []Variant{{Cost: math.NaN(), Capacity: math.Inf(1), Min: -3, Max: -5}, {Cost: -1, Capacity: math.NaN(), Min: 2, Max: 1}},
			demand: 1, want: []int{0, 2}, feasible: false,
		},
		"no variants": {demand: 1, want: []int{}, feasible: false},
	} {
		t.Run(name, func(t *testing.T) {
			got := Solve(tc.vs, tc.demand, tc.cfg)
			if got.Feasible != tc.feasible || len(got.Replicas) != len(tc.want) || got.Reason == "" {
				t.Fatalf("Solve = %+v, want %v feasible %v", got, tc.want, tc.feasible)
			}
			for i := range tc.want {
				if got.Replicas[i] != tc.want[i] {
					t.Fatalf("Solve = %+v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestSolveLarge(t *testing.T) {
	// Six variants of up to 1000 replicas each: the search must stay exact and quick; compare
	// with the linear relaxation, which is a lower bound within one replica's cost per variant.
	rng := rand.New(rand.NewPCG(9, 10))
	for range 200 {
		vs := make([]Variant, 6)
		for i := range vs {
			vs[i] = Variant{Cost: 1 + 9*rng.Float64(), Capacity: 1 + 20*rng.Float64(), Current: rng.IntN(50), Max: 1000}
		}
		total := 0.0
		for _, v := range vs {
			total += 1000 * v.Capacity
		}
		demand := total * rng.Float64()
		got := Solve(vs, demand, Config{WarmPreference: 0.1})
		if !got.Feasible || got.Capacity < demand*(1-1e-9) {
			t.Fatalf("%+v", got)
		}
		s := solver{items: make([]item, len(vs))}
		for i, v := range vs {
			s.items[i] = sanitize(v, 0.1)
		}
		s.prepare()
		lp := s.bound(0, demand)
		maxCost := 0.0
		for _, v := range vs {
			maxCost += v.Cost * 1.1
		}
		if got.Objective < lp-1e-6 || got.Objective > lp+maxCost {
			t.Fatalf("objective %g outside [LP %g, LP + %g]", got.Objective, lp, maxCost)
		}
	}
}
