package perfmodel

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzEstimator feeds arbitrary float sequences (NaN, ±Inf, huge, negative, adversarial runs)
// and checks that the estimate stays finite and in range and the covariance stays usable.
func FuzzEstimator(f *testing.F) {
	seed := func(vs ...float64) []byte {
		b := make([]byte, 0, 8*len(vs))
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
		return b
	}
	f.Add(seed(10, 1000, 20, 0, 500, 40), 0.98)
	f.Add(seed(math.NaN(), math.Inf(1), -1, 1e308, 5e-324, 1e-300), 0.5)
	f.Add(seed(1e6, 1e12, 1e7, 0.95, 1e7, 1e7, 1e-300, 0, 1e-300, 0, 1e-300, 1e-300), 1.0)
	f.Fuzz(func(t *testing.T, data []byte, forgetting float64) {
		cfg := Config{Forgetting: forgetting, FitKV: true, FitSuperlinear: true}
		if cfg.Validate() != nil {
			cfg.Forgetting = 0
		}
		e, err := NewEstimator(a100, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var vs []float64
		for i := 0; i+8 <= len(data); i += 8 {
			vs = append(vs, math.Float64frombits(binary.LittleEndian.Uint64(data[i:])))
		}
		// Repeat the sequence so that short inputs also exercise long runs.
		for rep := range 20 {
			for i := 0; i+6 <= len(vs); i += 6 {
				e.ObserveDecode(DecodeSample{Batch: vs[i], KVTokens: vs[i+1], ITLMs: vs[i+2] * float64(1+rep%3), PrefillShare: vs[i+3]})
				e.ObservePrefill(PrefillSample{PromptTokens: vs[i+4], PrefillMs: vs[i+5]})
				// The same point with a mean square: the prompt times the spread of another value.
				e.ObservePrefill(PrefillSample{PromptTokens: vs[i+4], PrefillMs: vs[i+5], PromptSquare: vs[i+4] * vs[i+4] * math.Abs(vs[i+3])})
			}
		}
		p := e.Params()
		for _, fl := range p.fields() {
			if !(fl.v >= 0 && fl.v <= fl.hi) {
				t.Fatalf("%s = %g out of [0, %g]", fl.name, fl.v, fl.hi)
			}
		}
		q := e.Quality()
		for _, v := range []float64{q.DecodeMAPE, q.PrefillMAPE, q.DecodeOutlierRate, q.PrefillOutlierRate} {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("quality %+v out of [0, 1]", q)
			}
		}
		for _, fl := range q.Std.fields() {
			if !finite(fl.v) || fl.v < 0 {
				t.Fatalf("std %s = %g", fl.name, fl.v)
			}
		}
		for _, flt := range []Filter{e.Decode, e.Prefill} {
			for j := range dim {
				if flt.Active[j] && !(flt.Cov[j][j] > 0 && flt.Cov[j][j] <= covCapFactor*flt.PriorVar[j]*(1+1e-9)) {
					t.Fatalf("cov[%d][%d] = %g, prior var %g", j, j, flt.Cov[j][j], flt.PriorVar[j])
				}
			}
			if !(flt.NoiseRel >= noiseRelMin && flt.NoiseRel <= noiseRelMax) {
				t.Fatalf("noise %g", flt.NoiseRel)
			}
		}
	})
}

func BenchmarkObserveDecode(b *testing.B) {
	e, _ := NewEstimator(a100, Config{FitKV: true})
	i := 0
	for b.Loop() {
		i++
		batch := float64(1 + i%200)
		e.ObserveDecode(DecodeSample{Batch: batch, KVTokens: batch * 1300, ITLMs: a100.DecodeStepMs(batch, 0) * (1 + 0.01*float64(i%7-3))})
	}
}

func BenchmarkObservePrefill(b *testing.B) {
	e, _ := NewEstimator(a100, Config{})
	i := 0
	for b.Loop() {
		i++
		p := float64(100 + i%3000)
		e.ObservePrefill(PrefillSample{PromptTokens: p, PrefillMs: a100.PrefillMs(p)})
	}
}
