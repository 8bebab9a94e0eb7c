package workload

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestIdleBursts(t *testing.T) {
	got := IdleBursts(5*time.Minute, time.Minute, 8, 2)
	want := []Phase{{Duration: 5 * time.Minute}, {Duration: time.Minute, Rate: 8}, {Duration: 5 * time.Minute}, {Duration: time.Minute, Rate: 8}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("IdleBursts (-want +got):\n%s", d)
	}
	reqs, err := Paced(got, FixedTokens(10, 10), 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		if m := r.Arrival / time.Minute; m != 5 && m != 11 {
			t.Fatalf("arrival at %s, want only in minutes 5 and 11", r.Arrival)
		}
	}
	if len(reqs) != 2*8*60 {
		t.Errorf("%d requests, want %d", len(reqs), 2*8*60)
	}
	if IdleBursts(time.Minute, time.Minute, 1, 0) == nil || len(IdleBursts(time.Minute, time.Minute, 1, -1)) != 0 {
		t.Error("IdleBursts with no bursts must be an empty shape")
	}
}

func TestDiurnal(t *testing.T) {
	ps := Diurnal(1, 9, time.Hour, 10*time.Minute, 65*time.Minute)
	if len(ps) != 7 || ps[6].Duration != 5*time.Minute {
		t.Fatalf("%d phases (last %s), want 6 of 10 min and one of 5 min", len(ps), ps[len(ps)-1].Duration)
	}
	// Rising to the peak in the middle of the period, symmetric, and back down.
	for i, want := range []float64{1.536, 5.0, 8.464, 8.464, 5.0, 1.536} {
		if i < 6 && math.Abs(ps[i].Rate-want) > 0.01 {
			t.Errorf("phase %d rate %.3f, want %.2f", i, ps[i].Rate, want)
		}
	}
	if ps[6].Rate >= ps[0].Rate {
		t.Errorf("the cut-short phase after a full period has rate %.3f, want it near the low again (below %.3f)", ps[6].Rate, ps[0].Rate)
	}
	if Diurnal(1, 2, time.Hour, 0, time.Hour) != nil {
		t.Error("a zero step must give no phases")
	}
	if err := validatePhases(ps); err != nil {
		t.Error(err)
	}
}

func TestTokenMixes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	u := UniformTokens(10, 5, 0, 3)
	for range 1000 {
		in, out := u.Draw(rng)
		if in < 5 || in > 10 || out < 1 || out > 3 {
			t.Fatalf("UniformTokens drew (%d, %d), want in [5,10] x [1,3]", in, out)
		}
	}
	m, err := Mix([]float64{3, 1}, FixedTokens(1, 1), FixedTokens(2, 2))
	if err != nil {
		t.Fatal(err)
	}
	ones := 0
	for range 10000 {
		if in, _ := m.Draw(rng); in == 1 {
			ones++
		}
	}
	if ones < 7300 || ones > 7700 {
		t.Errorf("%d of 10000 draws from the weight-3 part, want about 7500", ones)
	}
	for name, w := range map[string][]float64{"short": {1}, "zero": {1, 0}, "nan": {1, math.NaN()}, "inf": {1, math.Inf(1)}} {
		if _, err := Mix(w, FixedTokens(1, 1), FixedTokens(2, 2)); err == nil {
			t.Errorf("Mix with %s weights succeeded", name)
		}
	}

	reqs, err := Poisson(Steady(20, 10*time.Minute), PrefillHeavyTokens(), 3)
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(reqs)
	// 0.8·10,000 + 0.2·600 = 8,120 prompt tokens; 0.8·36 + 0.2·200 = 68.8 output tokens.
	if math.Abs(s.MeanInputTokens-8120) > 200 || math.Abs(s.MeanOutputTokens-68.8) > 5 {
		t.Errorf("prefill-heavy mix: mean %.0f in, %.1f out; want about 8120 and 68.8", s.MeanInputTokens, s.MeanOutputTokens)
	}
	if s.MeanInputTokens/s.MeanOutputTokens < 50 {
		t.Errorf("prefill-heavy mix has %.0f prompt tokens per output token, want > 50", s.MeanInputTokens/s.MeanOutputTokens)
	}
}
