package workload

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Phase is a stretch of a synthetic stream with a constant mean arrival rate.
type Phase struct {
	// Duration is the length of the phase.
	Duration time.Duration
	// Rate is the mean arrival rate in requests per second; 0 means no arrivals.
	Rate float64
}

// Steady returns one phase of the given rate (requests per second) and duration.
func Steady(rate float64, d time.Duration) []Phase {
	return []Phase{{Duration: d, Rate: rate}}
}

// Step returns a step shape: rate before until at, then rate after until total.
func Step(before, after float64, at, total time.Duration) []Phase {
	return []Phase{{Duration: at, Rate: before}, {Duration: total - at, Rate: after}}
}

// Steps returns one phase of length each per rate, in order (a staircase when rates rise).
func Steps(each time.Duration, rates ...float64) []Phase {
	ps := make([]Phase, len(rates))
	for i, r := range rates {
		ps[i] = Phase{Duration: each, Rate: r}
	}
	return ps
}

// Burst returns periodic bursts: within every period the rate is base, except for the last
// length of the period, where it is peak; the shape repeats until total (the last period may be
// cut short).
func Burst(base, peak float64, period, length, total time.Duration) []Phase {
	var ps []Phase
	for start := time.Duration(0); start < total; start += period {
		quiet := min(period-length, total-start)
		if quiet > 0 {
			ps = append(ps, Phase{Duration: quiet, Rate: base})
		}
		if loud := min(length, total-start-quiet); loud > 0 {
			ps = append(ps, Phase{Duration: loud, Rate: peak})
		}
	}
	return ps
}

// IdleBursts returns count bursts of length at rate, each after idle with no arrivals at all: the
// shape that catches a policy which scaled to its minimum while the traffic was away.
func IdleBursts(idle, length time.Duration, rate float64, count int) []Phase {
	ps := make([]Phase, 0, 2*max(count, 0))
	for range count {
		ps = append(ps, Phase{Duration: idle}, Phase{Duration: length, Rate: rate})
	}
	return ps
}

// Diurnal returns a daily-cycle ramp compressed to period: the rate follows
// low + (high-low)·(1-cos(2π·t/period))/2, from low at t = 0 up to high at period/2 and back,
// repeated until total, as phases of length step (each at the curve's value in its middle; the
// last may be cut short). step must be positive.
func Diurnal(low, high float64, period, step, total time.Duration) []Phase {
	if step <= 0 || period <= 0 {
		return nil
	}
	var ps []Phase
	for start := time.Duration(0); start < total; start += step {
		d := min(step, total-start)
		mid := float64(start+d/2) / float64(period)
		ps = append(ps, Phase{Duration: d, Rate: low + (high-low)*(1-math.Cos(2*math.Pi*mid))/2})
	}
	return ps
}

// Tokens draws the token counts of one synthetic request.
type Tokens interface {
	// Draw returns the prompt and output lengths of the next request.
	Draw(r *rand.Rand) (input, output int)
}

type fixedTokens struct{ in, out int }

// Draw implements Tokens.
func (f fixedTokens) Draw(*rand.Rand) (int, int) { return f.in, f.out }

// FixedTokens gives every request the same prompt and output lengths.
func FixedTokens(input, output int) Tokens {
	return fixedTokens{in: input, out: max(output, 1)}
}

type sampledTokens []Request

// Draw implements Tokens.
func (s sampledTokens) Draw(r *rand.Rand) (int, int) {
	x := s[r.IntN(len(s))]
	return x.InputTokens, x.OutputTokens
}

// SampledTokens draws each request's (prompt, output) pair uniformly from the requests of from,
// e.g. a recorded trace, so synthetic shapes keep a realistic length distribution. from must not
// be empty.
func SampledTokens(from []Request) Tokens {
	return sampledTokens(append([]Request(nil), from...))
}

type uniformTokens struct{ inLo, inHi, outLo, outHi int }

// Draw implements Tokens.
func (u uniformTokens) Draw(r *rand.Rand) (int, int) {
	return u.inLo + r.IntN(u.inHi-u.inLo+1), u.outLo + r.IntN(u.outHi-u.outLo+1)
}

// UniformTokens draws the prompt length uniformly from [inLo, inHi] and the output length from
// [outLo, outHi] (bounds are clamped to be non-negative, outputs to at least 1, and swapped when
// reversed).
func UniformTokens(inLo, inHi, outLo, outHi int) Tokens {
	inLo, inHi = max(inLo, 0), max(inHi, 0)
	outLo, outHi = max(outLo, 1), max(outHi, 1)
	return uniformTokens{inLo: min(inLo, inHi), inHi: max(inLo, inHi), outLo: min(outLo, outHi), outHi: max(outLo, outHi)}
}

type mixedTokens struct {
	cum   []float64
	parts []Tokens
}

// Draw implements Tokens.
func (m mixedTokens) Draw(r *rand.Rand) (int, int) {
	x := r.Float64() * m.cum[len(m.cum)-1]
	for i, c := range m.cum {
		if x < c {
			return m.parts[i].Draw(r)
		}
	}
	return m.parts[len(m.parts)-1].Draw(r)
}

// Mix draws each request from one of parts, chosen with probability proportional to its weight.
// It needs as many positive, finite weights as parts.
func Mix(weights []float64, parts ...Tokens) (Tokens, error) {
	if len(parts) == 0 || len(weights) != len(parts) {
		return nil, fmt.Errorf("a mix needs one weight per part, got %d weights for %d parts", len(weights), len(parts))
	}
	m := mixedTokens{parts: append([]Tokens(nil), parts...)}
	var sum float64
	for i, w := range weights {
		if !(w > 0) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("weight %d must be a positive number, got %g", i, w)
		}
		sum += w
		m.cum = append(m.cum, sum)
	}
	return m, nil
}

// PrefillHeavyTokens is a mix dominated by prefill, as in summarisation or retrieval-augmented
// serving: 80 % of requests have long prompts (4k–16k tokens) and short answers (8–64 tokens),
// 20 % are chat-like (200–1,000 prompt, 100–300 output tokens).
func PrefillHeavyTokens() Tokens {
	t, _ := Mix([]float64{0.8, 0.2}, UniformTokens(4000, 16000, 8, 64), UniformTokens(200, 1000, 100, 300))
	return t
}

// Poisson generates a stream whose arrivals form a Poisson process with the phases' rates and
// whose token counts come from tokens. The same arguments always give the same stream.
func Poisson(phases []Phase, tokens Tokens, seed uint64) ([]Request, error) {
	if err := validatePhases(phases); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x9015))
	var out []Request
	var start time.Duration
	for _, p := range phases {
		end := start + p.Duration
		if p.Rate > 0 {
			t := start
			for {
				// Exponential gap with mean 1/rate, from one uniform draw.
				gap := -math.Log(1-rng.Float64()) / p.Rate
				t += time.Duration(gap * float64(time.Second))
				if t >= end {
					break
				}
				in, o := tokens.Draw(rng)
				out = append(out, Request{Arrival: t, InputTokens: in, OutputTokens: max(o, 1)})
			}
		}
		start = end
	}
	return out, nil
}

// Paced generates a stream with evenly spaced arrivals at each phase's rate (the first at the
// phase's start) and token counts from tokens: a deterministic shape for tests that need exact
// arrival times. The same arguments always give the same stream.
func Paced(phases []Phase, tokens Tokens, seed uint64) ([]Request, error) {
	if err := validatePhases(phases); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x9aced))
	var out []Request
	var start time.Duration
	for _, p := range phases {
		end := start + p.Duration
		if p.Rate > 0 {
			gap := float64(time.Second) / p.Rate
			for i := 0; ; i++ {
				t := start + time.Duration(float64(i)*gap)
				if t >= end {
					break
				}
				in, o := tokens.Draw(rng)
				out = append(out, Request{Arrival: t, InputTokens: in, OutputTokens: max(o, 1)})
			}
		}
		start = end
	}
	return out, nil
}

func validatePhases(phases []Phase) error {
	for i, p := range phases {
		if p.Duration < 0 || p.Rate < 0 || math.IsNaN(p.Rate) || math.IsInf(p.Rate, 0) {
			return fmt.Errorf("phase %d: duration and rate must be finite and non-negative, got %s and %g", i, p.Duration, p.Rate)
		}
	}
	return nil
}
