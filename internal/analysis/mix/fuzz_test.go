package mix

import (
	"math"
	"math/rand/v2"
	"testing"
)

func FuzzSolve(f *testing.F) {
	f.Add(uint64(1), 3, 10.0, 0.1)
	f.Add(uint64(2), 6, 1e18, 0.0)
	f.Add(uint64(3), 1, math.NaN(), 2.0)
	f.Fuzz(func(t *testing.T, seed uint64, n int, demand, warm float64) {
		n = min(max(n, 0), 6)
		rng := rand.New(rand.NewPCG(seed, seed>>1))
		weird := []float64{math.NaN(), math.Inf(1), math.Inf(-1), -1, 0, 1e-300, 1e300}
		pick := func(scale float64) float64 {
			if rng.IntN(4) == 0 {
				return weird[rng.IntN(len(weird))]
			}
			return scale * rng.Float64()
		}
		vs := make([]Variant, n)
		for i := range vs {
			vs[i] = Variant{Cost: pick(10), Capacity: pick(50), Current: rng.IntN(2000) - 500, Min: rng.IntN(20) - 5, Max: rng.IntN(1200) - 100}
		}
		r := Solve(vs, demand, Config{WarmPreference: warm})
		if len(r.Replicas) != n || r.Reason == "" {
			t.Fatalf("%+v", r)
		}
		for i, x := range r.Replicas {
			lo := max(vs[i].Min, 0)
			if x < lo || x > max(vs[i].Max, lo) {
				t.Fatalf("replicas %d outside [%d, %d]", x, lo, vs[i].Max)
			}
		}
		for _, v := range []float64{r.Cost, r.Objective, r.Capacity} {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				t.Fatalf("%+v", r)
			}
		}
		if r.Feasible && !(math.IsNaN(demand)) && r.Capacity < demand*(1-1e-9)-1e-9 {
			t.Fatalf("feasible but capacity %g < demand %g", r.Capacity, demand)
		}
	})
}

func BenchmarkSolve3(b *testing.B) {
	vs := []Variant{{Cost: 0.8, Capacity: 1.2, Current: 3, Max: 100}, {Cost: 1.29, Capacity: 4.6, Current: 2, Max: 100}, {Cost: 2.99, Capacity: 16.2, Current: 4, Max: 100}}
	for b.Loop() {
		Solve(vs, 123.4, Config{WarmPreference: 0.1})
	}
}

func BenchmarkSolve6x1000(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	vs := make([]Variant, 6)
	for i := range vs {
		vs[i] = Variant{Cost: 1 + 9*rng.Float64(), Capacity: 1 + 20*rng.Float64(), Current: rng.IntN(50), Max: 1000}
	}
	for b.Loop() {
		Solve(vs, 31234.5, Config{WarmPreference: 0.1})
	}
}
