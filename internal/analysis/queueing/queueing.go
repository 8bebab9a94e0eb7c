package queueing

import (
	"errors"
	"fmt"
	"math"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis/perfmodel"
)

// Mix describes the requests a replica serves.
type Mix struct {
	// PromptTokens is the mean prompt length (>= 0).
	PromptTokens float64 `json:"promptTokens"`
	// OutputTokens is the mean number of output tokens (>= 1).
	OutputTokens float64 `json:"outputTokens"`
	// PromptCV and OutputCV are the coefficients of variation (standard deviation / mean) of the
	// prompt and output lengths; 0 for fixed lengths. Chat traces have about 1.
	PromptCV float64 `json:"promptCV,omitempty"`
	OutputCV float64 `json:"outputCV,omitempty"`
	// CachedShare is the share of prompt tokens found in the prefix cache, in [0, 0.99]: they
	// are not prefilled again, but they are held in the KV cache, decoded against, and attended
	// to by the prompt's new tokens, so PromptTokens stays the whole prompt.
	CachedShare float64 `json:"cachedShare,omitempty"`
	// OutputCDF, when its last value is above 0, is the measured distribution of the output
	// lengths: OutputCDF[i] is the share of requests of at most OutputBounds[i] tokens (vLLM's
	// 1-2-5 buckets of vllm:request_generation_tokens), nondecreasing. The ITL chunk-miss share
	// integrates over it in place of the lognormal of OutputTokens and OutputCV, which has
	// almost no requests of a few tokens where a trace may have many (a quarter of the Mooncake
	// trace's requests end within 10 tokens; the lognormal of its mean and CV puts 0.3 % there).
	// An invalid one is not used.
	OutputCDF [len(OutputBounds)]float64 `json:"outputCDF,omitzero"`
}

// OutputBounds are the output lengths (tokens) at which Mix.OutputCDF is given: vLLM's 1-2-5
// bucket bounds of vllm:request_generation_tokens, up to 100,000.
var OutputBounds = [...]float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000}

// ValidOutputCDF reports whether c is a distribution over OutputBounds that the model uses:
// finite, in [0, 1], nondecreasing, its last value above 0.
func ValidOutputCDF(c [len(OutputBounds)]float64) bool {
	prev := 0.0
	for _, v := range c {
		if !(v >= prev && v <= 1) {
			return false
		}
		prev = v
	}
	return prev > 0
}

// outputQuantile is the u-quantile of the output length by the CDF c (ValidOutputCDF), linear within
// a bucket; the last bound for u beyond the CDF's last value.
func outputQuantile(c [len(OutputBounds)]float64, u float64) float64 {
	lo, below := 0.0, 0.0
	for i, v := range c {
		if u <= v && v > below {
			return lo + (OutputBounds[i]-lo)*(u-below)/(v-below)
		}
		lo, below = OutputBounds[i], v
	}
	return OutputBounds[len(OutputBounds)-1]
}

// Limits are the replica's batch limits (vLLM engine arguments); 0 means unlimited.
type Limits struct {
	// MaxBatch is --max-num-seqs.
	MaxBatch int `json:"maxBatch,omitempty"`
	// KVTokens is the KV-cache capacity in tokens.
	KVTokens float64 `json:"kvTokens,omitempty"`
	// MaxBatchedTokens is --max-num-batched-tokens, the token budget of one step.
	MaxBatchedTokens int `json:"maxBatchedTokens,omitempty"`
	// Replicas is the number of replicas sharing the traffic behind a load-aware router (the
	// llm-d inference gateway, or any least-loaded balancer), the rate being per replica; 0 or 1
	// is a lone replica. The router sends a new prompt to an idle replica while there is one,
	// so its prefill stalls only the requests of a replica it is sent to while busy.
	Replicas int `json:"replicas,omitempty"`
}

// SLO holds the latency targets; a target of 0 is not checked.
type SLO struct {
	// TTFTMs is the time-to-first-token target in milliseconds.
	TTFTMs float64 `json:"ttftMs,omitempty"`
	// ITLMs is the target of a request's mean inter-token latency in milliseconds.
	ITLMs float64 `json:"itlMs,omitempty"`
	// Attainment is the share of requests that must meet the targets, in [0.5, 0.9999];
	// 0 selects DefaultAttainment.
	Attainment float64 `json:"attainment,omitempty"`
}

// DefaultAttainment is the attainment of an SLO that sets none (SPEC §4.8's percentile).
const DefaultAttainment = 0.95

// Input ranges; Validate rejects values outside them.
const (
	maxTokens   = 1e7
	maxCV       = 10
	maxTargetMs = 1e8
	maxSlots    = 1e6
	maxReplicas = 1e6
	// kvUsable is the share of the KV cache a running batch can hold (vLLM's 1 % admission
	// watermark).
	kvUsable = 0.99
	// maxRatePerMs bounds the search: a million requests per second per replica.
	maxRatePerMs = 1e3
)

// Validate reports every input outside its range.
func Validate(p perfmodel.Params, m Mix, l Limits, s SLO) error {
	var errs []error
	if err := p.Validate(); err != nil {
		errs = append(errs, err)
	}
	if !(m.PromptTokens >= 0 && m.PromptTokens <= maxTokens) {
		errs = append(errs, fmt.Errorf("prompt tokens must be in [0, %g], got %g", float64(maxTokens), m.PromptTokens))
	}
	if !(m.OutputTokens >= 1 && m.OutputTokens <= maxTokens) {
		errs = append(errs, fmt.Errorf("output tokens must be in [1, %g], got %g", float64(maxTokens), m.OutputTokens))
	}
	if !(m.CachedShare >= 0 && m.CachedShare <= 0.99) {
		errs = append(errs, fmt.Errorf("cached share must be in [0, 0.99], got %g", m.CachedShare))
	}
	if !(m.PromptCV >= 0 && m.PromptCV <= maxCV) || !(m.OutputCV >= 0 && m.OutputCV <= maxCV) {
		errs = append(errs, fmt.Errorf("coefficients of variation must be in [0, %g], got %g and %g", float64(maxCV), m.PromptCV, m.OutputCV))
	}
	if l.MaxBatch < 0 || l.MaxBatchedTokens < 0 || !(l.KVTokens >= 0 && l.KVTokens <= 1e12) || l.Replicas < 0 || l.Replicas > maxReplicas {
		errs = append(errs, fmt.Errorf("limits must be >= 0 (KV tokens <= 1e12, replicas <= %g), got %+v", float64(maxReplicas), l))
	}
	if !(s.TTFTMs >= 0 && s.TTFTMs <= maxTargetMs) || !(s.ITLMs >= 0 && s.ITLMs <= maxTargetMs) {
		errs = append(errs, fmt.Errorf("targets must be in [0, %g] ms, got TTFT %g and ITL %g", float64(maxTargetMs), s.TTFTMs, s.ITLMs))
	}
	if a := s.Attainment; a != 0 && !(a >= 0.5 && a <= 0.9999) {
		errs = append(errs, fmt.Errorf("attainment must be in [0.5, 0.9999], got %g", a))
	}
	return errors.Join(errs...)
}

// Prediction is the model's steady state of one replica at one arrival rate.
type Prediction struct {
	// RatePerSec is the arrival rate, requests per second.
	RatePerSec float64
	// Stable is false when the replica cannot keep up at this rate (compute or slots); the
	// latencies are then +Inf.
	Stable bool
	// Batch is the mean number of sequences decoding.
	Batch float64
	// StepMs is the mean wall time of a decode step, prefill stalls included (the mean ITL).
	StepMs float64
	// PrefillShare is the share of time spent prefilling.
	PrefillShare float64
	// Slots is the number of sequences the replica holds at once (max batch, KV cache).
	Slots float64
	// Occupancy is the mean share of the slots in use.
	Occupancy float64
	// WaitMs is the attainment-quantile wait for a slot.
	WaitMs float64
	// ITLMs and TTFTMs are the attainment-quantile latencies.
	ITLMs, TTFTMs float64
	// ChunkITLMiss is the share of requests whose mean ITL misses the target because prefill
	// chunks share too many of their decode steps (see itlChunkMiss); 0 without an ITL target.
	ChunkITLMiss float64
}

// Bound names what limits a replica's rate.
type Bound string

const (
	// BoundITL: the ITL target.
	BoundITL Bound = "ITL"
	// BoundTTFT: the TTFT target.
	BoundTTFT Bound = "TTFT"
	// BoundCompute: the replica cannot step fast enough (decode and prefill saturate).
	BoundCompute Bound = "Compute"
	// BoundSlots: the batch slots (max-num-seqs or the KV cache) are all in use.
	BoundSlots Bound = "Slots"
	// BoundInput: the inputs are invalid.
	BoundInput Bound = "InvalidInput"
)

// Capacity is the largest arrival rate one replica sustains within the SLO.
type Capacity struct {
	// RatePerSec is the rate in requests per second; 0 when infeasible. Always finite, >= 0.
	RatePerSec float64
	// Feasible is false when even a vanishing load misses a target, or the inputs are invalid.
	Feasible bool
	// Bound names the binding limit.
	Bound Bound
	// Reason explains the result in one sentence.
	Reason string
	// At is the prediction at RatePerSec.
	At Prediction
}

// model holds the rate-independent quantities of one evaluation.
type model struct {
	p           perfmodel.Params
	in, out     float64 // mean prompt and output tokens
	fresh       float64 // share of prompt tokens prefilled (not found in the prefix cache)
	inNew       float64 // mean prompt tokens prefilled: in·fresh
	attn        float64 // share of a prompt's attention pairs computed: 1 − cached²
	decodeSteps float64 // out - 1
	promptQ     float64 // attainment-quantile prompt length
	promptSq    float64 // E[prompt²]
	b           float64 // β + ε·K̄
	slots       float64
	budget      float64 // token budget per step; +Inf when unlimited
	z, p1       float64 // normal quantile of the attainment, and 1 - attainment
	serviceSCV  float64 // squared coefficient of variation of a slot's holding time
	others      float64 // the other replicas of the pool (Limits.Replicas − 1, at least 0)
	slo         SLO
	// outSteps are the decode steps of a request at the middle of each outputBins bin (see
	// itlChunkMiss), computed once per model.
	outSteps [len(outputBins) - 1]float64
}

func newModel(p perfmodel.Params, m Mix, l Limits, s SLO) model {
	att := s.Attainment
	if att == 0 {
		att = DefaultAttainment
	}
	z := math.Sqrt2 * math.Erfinv(2*att-1)
	in, out := m.PromptTokens, m.OutputTokens
	// A decoding sequence holds its prompt and, on average over its life, half its output;
	// weighted by life time (∝ output), long outputs count more: E[O²]/(2E[O]).
	kvBar := in + out*(1+m.OutputCV*m.OutputCV)/2
	slots := maxSlots
	if l.MaxBatch > 0 {
		slots = min(slots, float64(l.MaxBatch))
	}
	if l.KVTokens > 0 {
		slots = min(slots, math.Floor(kvUsable*l.KVTokens/max(kvBar, 1)))
	}
	budget := math.Inf(1)
	if l.MaxBatchedTokens > 0 {
		budget = float64(l.MaxBatchedTokens)
	}
	var outSteps [len(outputBins) - 1]float64
	s2 := math.Log(1 + m.OutputCV*m.OutputCV)
	mu := math.Log(max(out, 1)) - s2/2
	measured := ValidOutputCDF(m.OutputCDF)
	for i := range outSteps {
		u := (outputBins[i] + outputBins[i+1]) / 2
		length := math.Exp(mu + math.Sqrt(s2)*math.Sqrt2*math.Erfinv(2*u-1))
		if measured {
			length = outputQuantile(m.OutputCDF, u)
		}
		outSteps[i] = max(math.Ceil(length-1), 1)
	}
	return model{
		outSteps: outSteps,
		p:        p, in: in, out: out, decodeSteps: out - 1,
		fresh: 1 - m.CachedShare, inNew: in * (1 - m.CachedShare), attn: 1 - m.CachedShare*m.CachedShare,
		promptQ:    in * max(1, 1+z*m.PromptCV),
		promptSq:   in * in * (1 + m.PromptCV*m.PromptCV),
		b:          p.BetaMs + p.EpsilonMs*kvBar,
		slots:      slots,
		budget:     budget,
		z:          z,
		p1:         1 - att,
		serviceSCV: m.OutputCV * m.OutputCV,
		others:     float64(max(l.Replicas-1, 0)),
		slo:        s,
	}
}

// chunks is the number of steps that prefill a prompt of tokens while n sequences decode.
func (m *model) chunks(tokens, n float64) float64 {
	if tokens <= 0 {
		return 0
	}
	avail := max(m.budget-n, 1)
	return max(1, math.Ceil(tokens/avail))
}

// prefillWork is the prefill time of one request of mean prompt in k chunks.
func (m *model) prefillWork(k float64) float64 {
	if k <= 0 {
		return 0
	}
	// Each chunk attends to the chunks before it as well as to itself, so the attention work of a
	// prompt is ζ·P² however it is chunked (ζ·P²/k would count only the within-chunk pairs).
	return k*m.p.GammaMs + m.p.DeltaMs*m.inNew + m.p.ZetaMs*m.promptSq*m.attn
}

// outputBins are the probability bins over which itlChunkMiss integrates the output length,
// finer in the short tail, where one prefill chunk weighs most on a request's mean ITL.
var outputBins = [...]float64{0, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.07, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1}

// itlChunkMiss is the share of requests whose mean ITL misses the target because of prefill
// chunks, at lambda requests per ms with a mean batch n, a mean step of step ms and k chunks per
// prompt, rho the share of time spent prefilling.
//
// With chunked prefill a step carries at most one budget of prompt tokens, so a prompt is
// prefilled in k consecutive steps, each c ms longer than a plain decode step t0. A request
// whose m decode steps include X chunk steps has a mean ITL of t0 + c·X/m: it misses when
// X > f·m with f = (target − t0)/c. The normal approximation of the stalls (Predict's ITLMs)
// holds for long outputs, which see many prompts; a short output sees a few runs of chunks or
// none, and when prompts are long (k·c large against m·(target − t0)) one run is enough. The
// runs a request sees are Poisson: the prompts arriving during its m steps, plus the run in
// progress when it starts (probability ρ, the share of time spent prefilling, which a Poisson
// arrival sees; counted as one more expected run, a slight overcount). Each run has the mean k chunks. Integrated over the
// output length (outputBins): the measured distribution (Mix.OutputCDF) where there is one, else
// the lognormal of the mix's mean and coefficient of variation.
func (m *model) itlChunkMiss(lambda, n, step, k, rho float64) float64 {
	target := m.slo.ITLMs
	if target <= 0 || k <= 0 || m.decodeSteps <= 0 {
		return 0
	}
	t0 := m.p.AlphaMs + m.b*min(1+n, m.slots)
	if t0 >= target {
		return 1
	}
	c := m.prefillWork(k) / k
	if !(c > 0) {
		return 0
	}
	f := (target - t0) / c
	if f >= 1 {
		return 0 // even a request whose every step carries a chunk meets the target
	}
	miss := 0.0
	for i, steps := range m.outSteps {
		need := math.Floor(f*steps) + 1 // chunk steps that make it miss
		runs := math.Ceil(need / k)
		miss += (outputBins[i+1] - outputBins[i]) * PoissonTail(runs, lambda*steps*step+rho)
	}
	return min(miss, 1)
}

// PoissonTail is P(N >= j) for N Poisson of mean a: summed exactly for small means, by the
// normal approximation with a continuity correction above 50.
func PoissonTail(j, a float64) float64 {
	switch {
	case j <= 0:
		return 1
	case !(a > 0):
		return 0
	case a > 50:
		return 0.5 * math.Erfc((j-0.5-a)/math.Sqrt(2*a))
	case j > a+12*math.Sqrt(a)+12:
		return 0 // below 1e-12
	}
	term, cdf := math.Exp(-a), 0.0
	for i := 0.0; i < j; i++ {
		cdf += term
		term *= a / (i + 1)
	}
	return max(1-cdf, 0)
}

// interference is the share of a replica's arrivals that reach it while it decodes, with held
// sequences in flight on each replica of the pool on average. A load-aware router sends a new
// prompt to an idle replica while there is one, so a busy replica receives prompts only when
// the others are all busy too. With the pool's sequences in flight about Poisson (few wait at
// the loads where this matters) and the router keeping them spread, the other replicas are all
// busy when they hold at least as many sequences as there are of them: P(N ≥ others), N
// Poisson of mean others × held. A lone replica (no others) receives every prompt: 1.
func (m *model) interference(held float64) float64 {
	if m.others == 0 {
		return 1
	}
	return PoissonTail(m.others, m.others*held)
}

func unstable(rate float64, slots float64) Prediction {
	inf := math.Inf(1)
	return Prediction{RatePerSec: rate, Slots: slots, Batch: inf, StepMs: inf, PrefillShare: 1, Occupancy: 1, WaitMs: inf, ITLMs: inf, TTFTMs: inf}
}

// predict evaluates the model at lambda requests per millisecond.
func (m *model) predict(lambda float64) (Prediction, Bound) {
	rate := lambda * 1000
	k := m.chunks(m.inNew, 0)
	var n, rho float64
	for range 16 {
		rho = lambda * m.prefillWork(k)
		den := 1 - rho - lambda*m.decodeSteps*m.b
		if !(den > 0) {
			return unstable(rate, m.slots), BoundCompute
		}
		n = lambda * m.decodeSteps * m.p.AlphaMs / den
		nk := m.chunks(m.inNew, n)
		if nk == k {
			break
		}
		k = nk
	}
	step := (m.p.AlphaMs + m.b*n) / (1 - rho)
	// Slot holding time: the prefill chunks and the decode steps, each a mean step long.
	hold := (k + m.decodeSteps) * step
	offered := lambda * hold
	if !(offered < m.slots) {
		return unstable(rate, m.slots), BoundSlots
	}
	pr := Prediction{RatePerSec: rate, Stable: true, Batch: n, StepMs: step, PrefillShare: rho, Slots: m.slots, Occupancy: offered / m.slots}
	if c := erlangC(m.slots, offered); c > m.p1 {
		pr.WaitMs = hold * (1 + m.serviceSCV) / 2 / (m.slots - offered) * math.Log(c/m.p1)
	}
	if m.decodeSteps > 0 {
		// A request's mean ITL is the decode step of the batch it sees, plus the prefill stalls
		// during its life spread over its decode steps. Both vary between requests: the batch
		// (Poisson around n, its variance amplified by the feedback gain g of the step time on
		// the batch) and the number of prefills in its life (Poisson, λ·D·T), whose share per
		// token is larger for short outputs (E[1/D] ≈ (1 + cv²)/D). In a pool only the share q
		// of the prompts that reach the replica while it decodes stall its requests.
		q := m.interference(offered)
		rhoSeen := q * rho
		g := lambda * m.decodeSteps * m.b / (1 - rho)
		varN := n / max(1-g, 1e-9)
		k1 := max(k, 1)
		w := m.prefillWork(k1)
		w2 := w*w + m.p.DeltaMs*m.p.DeltaMs*(m.promptSq-m.in*m.in)*m.fresh*m.fresh
		varStall := q * lambda * step * w2 * (1 + m.serviceSCV) / m.decodeSteps
		sd := math.Sqrt(m.b*m.b*varN/((1-rhoSeen)*(1-rhoSeen)) + varStall)
		pr.ITLMs = (m.p.AlphaMs+m.b*min(1+n, m.slots))/(1-rhoSeen) + m.z*sd
		pr.ChunkITLMiss = m.itlChunkMiss(q*lambda, n, step, k, rhoSeen)
	}
	// TTFT: the slot wait, the rest of the step in progress (one step, conservatively), then the
	// prefill steps of a quantile prompt, which decode the batch too and prefill the prompts of
	// the requests that arrived during the step.
	kq := m.chunks(m.promptQ*m.fresh, n)
	pr.TTFTMs = pr.WaitMs + step
	if kq > 0 {
		pr.TTFTMs += kq*(m.p.AlphaMs+m.b*n+m.p.GammaMs) + m.p.DeltaMs*(m.promptQ*m.fresh+lambda*step*m.inNew) + m.p.ZetaMs*m.promptQ*m.promptQ*m.attn
	} else {
		pr.TTFTMs += m.p.AlphaMs + m.b*n
	}
	switch {
	case m.slo.ITLMs > 0 && (pr.ITLMs > m.slo.ITLMs || pr.ChunkITLMiss > m.p1):
		return pr, BoundITL
	case m.slo.TTFTMs > 0 && pr.TTFTMs > m.slo.TTFTMs:
		return pr, BoundTTFT
	}
	return pr, ""
}

// erlangC is the probability that an arrival waits in an M/M/c queue with c servers and offered
// load a < c, by the stable Erlang-B recursion; 0 when the Halfin–Whitt parameter shows the
// probability is negligible.
func erlangC(c, a float64) float64 {
	if a <= 0 {
		return 0
	}
	if (c-a)/math.Sqrt(a) > 7 {
		return 0 // below 1e-10
	}
	b := 1.0
	for k := 1.0; k <= c; k++ {
		b = a * b / (k + a*b)
	}
	return c * b / (c - a*(1-b))
}

// Predict returns the model's steady state at ratePerSec requests per second. Invalid inputs
// give an unstable prediction.
func Predict(p perfmodel.Params, m Mix, l Limits, s SLO, ratePerSec float64) Prediction {
	if Validate(p, m, l, s) != nil || !(ratePerSec >= 0) || math.IsInf(ratePerSec, 0) {
		return unstable(0, 0)
	}
	mod := newModel(p, m, l, s)
	pr, _ := mod.predict(min(ratePerSec/1000, maxRatePerMs))
	return pr
}

// PrefillShare is the share of a replica's time spent prefilling at ratePerSec (the
// perfmodel.DecodeSample field); 0 when the inputs are invalid, below 1 otherwise.
func PrefillShare(p perfmodel.Params, m Mix, l Limits, ratePerSec float64) float64 {
	pr := Predict(p, m, l, SLO{}, ratePerSec)
	if !pr.Stable {
		return 0
	}
	return pr.PrefillShare
}

// WorkMs is the replica time one request of the mix costs beyond a step's fixed part: its
// prefill in one chunk (γ + δ·P + ζ·P², cached tokens not prefilled again) and its share of the
// decode steps (β + ε·K̄ per step); 0 when the inputs are invalid. It is linear in the request
// count, unlike MaxRate, whose latency targets bend with the lengths (a short output can make
// one long prompt's stall a miss), so a rate times WorkMs is a load that adds across mixes.
func WorkMs(p perfmodel.Params, m Mix) float64 {
	if Validate(p, m, Limits{}, SLO{}) != nil {
		return 0
	}
	mod := newModel(p, m, Limits{}, SLO{})
	return mod.prefillWork(1) + mod.decodeSteps*mod.b
}

// MaxRate returns the largest arrival rate at which one replica meets s.
func MaxRate(p perfmodel.Params, m Mix, l Limits, s SLO) Capacity {
	if err := Validate(p, m, l, s); err != nil {
		return Capacity{Bound: BoundInput, Reason: "Invalid input: " + err.Error() + "."}
	}
	mod := newModel(p, m, l, s)
	if mod.slots < 1 {
		return Capacity{Bound: BoundSlots, Reason: fmt.Sprintf("A request of %s prompt and %s output tokens does not fit the KV cache.", num(m.PromptTokens), num(m.OutputTokens))}
	}
	zero, bound := mod.predict(0)
	if bound != "" {
		return Capacity{Bound: bound, At: zero, Reason: fmt.Sprintf("Infeasible: even without load the predicted %s is %s ms, above the target.", bound, num(latency(zero, bound)))}
	}
	// Every rate at or above 1/(W_p + D·b), the prefill and decode work of one request, is
	// unstable: start the search there, and double only when the chunking changes it.
	lo, hi := 0.0, 1e-6
	if w := mod.prefillWork(mod.chunks(mod.inNew, 0)) + mod.decodeSteps*mod.b; w > 0 {
		hi = min(max(1/w, 1e-6), maxRatePerMs)
	}
	for {
		if _, b := mod.predict(hi); b != "" {
			break
		}
		lo = hi
		if hi >= maxRatePerMs {
			pr, _ := mod.predict(lo)
			return Capacity{RatePerSec: lo * 1000, Feasible: true, Bound: BoundCompute, At: pr, Reason: "The replica meets the SLO at any rate up to the search limit."}
		}
		hi = min(hi*2, maxRatePerMs)
	}
	for range 100 {
		if hi-lo <= 1e-6*hi {
			break
		}
		mid := (lo + hi) / 2
		if _, b := mod.predict(mid); b != "" {
			hi = mid
		} else {
			lo = mid
		}
	}
	at, _ := mod.predict(lo)
	_, bound = mod.predict(hi)
	return Capacity{
		RatePerSec: lo * 1000, Feasible: true, Bound: bound, At: at,
		Reason: fmt.Sprintf("One replica sustains %s req/s, bound by %s (batch %s, ITL %s ms, TTFT %s ms at %g %% attainment).",
			num(lo*1000), bound, num(at.Batch), num(at.ITLMs), num(at.TTFTMs), 100*(1-mod.p1)),
	}
}

func latency(p Prediction, b Bound) float64 {
	if b == BoundTTFT {
		return p.TTFTMs
	}
	return p.ITLMs
}

func num(x float64) string {
	if math.Abs(x) >= 1000 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.3g", x)
}
