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
