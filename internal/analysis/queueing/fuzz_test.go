package queueing

import (
	"math"
	"testing"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/perfmodel"
)

func FuzzMaxRate(f *testing.F) {
	f.Add(13.3, 0.146, 0.0, 13.3, 0.086, 0.0, 1155.0, 211.0, 1.0, 1.0, 0.0, 256, 157040.0, 2048, 2000.0, 50.0, 0.95, 3.0, 1, 0.0, 0.0)
	f.Add(6.42, 0.0, 5.2e-5, 5.92, 0.027, 4.4e-7, 15000.0, 150.0, 1.2, 1.2, 0.6, 1024, 444208.0, 8192, 10000.0, 50.0, 0.99, 0.3, 6, 0.15, 0.56)
	f.Add(1.0, 0.0, 1e-3, 0.0, 0.0, 1e-9, 0.0, 1.0, 0.0, 0.0, 0.99, 0, 0.0, 0, 0.0, 0.0, 0.0, 0.0, 0, 1.0, 1.0)
	f.Add(math.NaN(), math.Inf(1), -1.0, 1e308, 5e-324, 1e-300, 1e7, 1e7, 10.0, 10.0, math.NaN(), 1<<30, 1e12, 1, 1e8, 1e-300, 0.9999, 1e300, 1<<40, math.NaN(), 2.0)
	f.Fuzz(func(t *testing.T, a, b, e, g, d, z, in, out, pcv, ocv, cached float64, mb int, kv float64, mbt int, ttft, itl, att, rate float64, replicas int, short, mid float64) {
		p := perfmodel.Params{AlphaMs: a, BetaMs: b, EpsilonMs: e, GammaMs: g, DeltaMs: d, ZetaMs: z}
		m := Mix{PromptTokens: in, OutputTokens: out, PromptCV: pcv, OutputCV: ocv, CachedShare: cached}
		// A measured output-length shape: short of the requests within 5 tokens, mid within
		// 100, all within 100,000 (invalid ones are not used).
		for i, b := range OutputBounds {
			switch {
			case b <= 5:
				m.OutputCDF[i] = short
			case b <= 100:
				m.OutputCDF[i] = mid
			default:
				m.OutputCDF[i] = 1
			}
		}
		l := Limits{MaxBatch: mb, KVTokens: kv, MaxBatchedTokens: mbt, Replicas: replicas}
		s := SLO{TTFTMs: ttft, ITLMs: itl, Attainment: att}
		c := MaxRate(p, m, l, s)
		if !(c.RatePerSec >= 0) || math.IsInf(c.RatePerSec, 0) || c.RatePerSec > maxRatePerMs*1000 {
			t.Fatalf("rate %g", c.RatePerSec)
		}
		if (!c.Feasible && c.RatePerSec != 0) || c.Reason == "" {
			t.Fatalf("inconsistent %+v", c)
		}
		if c.Feasible {
			if math.IsNaN(c.At.ITLMs) || math.IsNaN(c.At.TTFTMs) || (s.ITLMs > 0 && c.At.ITLMs > s.ITLMs) || (s.TTFTMs > 0 && c.At.TTFTMs > s.TTFTMs) {
				t.Fatalf("prediction at capacity %+v misses %+v", c.At, s)
			}
		}
		pr := Predict(p, m, l, s, rate)
		for _, v := range []float64{pr.Batch, pr.StepMs, pr.PrefillShare, pr.Occupancy, pr.WaitMs, pr.ITLMs, pr.TTFTMs, pr.RatePerSec, pr.ChunkITLMiss} {
			if math.IsNaN(v) || v < 0 {
				t.Fatalf("prediction %+v", pr)
			}
		}
		if pr.Stable && (math.IsInf(pr.ITLMs, 0) || math.IsInf(pr.TTFTMs, 0) || pr.Occupancy >= 1 || pr.PrefillShare >= 1) {
			t.Fatalf("stable prediction %+v", pr)
		}
	})
}

func BenchmarkMaxRate(b *testing.B) {
	for b.Loop() {
		MaxRate(a100, chat, lim, slo)
	}
}

func BenchmarkPredict(b *testing.B) {
	for b.Loop() {
		Predict(a100, chat, lim, slo, 4)
	}
}
