package sim

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Profile is the performance and cost model of one replica of a model on one accelerator type.
// A step (one forward pass of vLLM's continuous batching) that decodes n sequences holding K KV
// tokens in all and prefills prompt chunks P_j of sequences with c_j tokens already in the KV
// cache takes, in milliseconds,
//
//	Overhead + [n > 0] (α + β·n + ε·K) + [ΣP > 0] (γ + δ·ΣP + ζ·Σ P_j·(c_j + P_j/2))
//
// ε is the read of the decoding sequences' KV cache (attention grows with context), ζ the
// attention FLOPs of a prompt chunk over its prefix and itself (causal), so prefill grows faster
// than linearly with the prompt. SPEC.md §4.8's α + β·n and γ + δ·P are the case ε = ζ = 0;
// LinearDecode gives the α, β such a fit would find at a given context.
type Profile struct {
	// Name is the accelerator name reported for the variant (for example "H100").
	Name string
	// Model is the model the parameters were derived for.
	Model string
	// Overhead is the fixed time of every step in milliseconds: the engine's scheduling and
	// input preparation, paid by prefill-only steps too.
	Overhead float64
	// Alpha (α) is the fixed part of a decode step in milliseconds (the weight read).
	Alpha float64
	// Beta (β) is the decode time per sequence in the batch in milliseconds, apart from its KV
	// read (Epsilon).
	Beta float64
	// Epsilon (ε) is the decode time per KV token of the decoding sequences in milliseconds: the
	// attention's read of the KV cache.
	Epsilon float64
	// Gamma (γ) is the fixed part of a prefill in milliseconds.
	Gamma float64
	// Delta (δ) is the prefill time per prompt token in milliseconds (the linear layers).
	Delta float64
	// Zeta (ζ) is the prefill time per (prompt token, context token) pair of attention in
	// milliseconds.
	Zeta float64
	// KVCacheTokens is the KV-cache capacity of one replica in tokens.
	KVCacheTokens int
	// MaxBatchSize is the largest number of sequences running at once (vLLM --max-num-seqs).
	MaxBatchSize int
	// MaxBatchedTokens is the token budget of one step (vLLM --max-num-batched-tokens): each
	// decoding sequence takes one token of it and prefill chunks take the rest. 0 means unlimited.
	MaxBatchedTokens int
	// GPUsPerReplica is the number of GPUs one replica holds (the tensor-parallel size); GPU-hours
	// and cost count every one of them.
	GPUsPerReplica int
	// CostPerGPUHour is the price of one GPU for one hour (USD in the default profiles).
	CostPerGPUHour float64
}

// Validate reports every rule p breaks, joined into one error.
func (p Profile) Validate() error {
	var errs []error
	if p.Name == "" {
		errs = append(errs, errors.New("name must not be empty"))
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"overhead", p.Overhead}, {"alpha", p.Alpha}, {"beta", p.Beta}, {"epsilon", p.Epsilon}, {"gamma", p.Gamma}, {"delta", p.Delta},
		{"zeta", p.Zeta}, {"cost per GPU-hour", p.CostPerGPUHour}} {
		if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			errs = append(errs, fmt.Errorf("%s must be a finite number >= 0, got %g", f.name, f.v))
		}
	}
	if p.Overhead+p.Alpha+p.Beta <= 0 {
		errs = append(errs, errors.New("overhead + alpha + beta must be positive, or decoding takes no time"))
	}
	if p.KVCacheTokens <= 0 {
		errs = append(errs, fmt.Errorf("KV cache tokens must be positive, got %d", p.KVCacheTokens))
	}
	if p.MaxBatchSize <= 0 {
		errs = append(errs, fmt.Errorf("max batch size must be positive, got %d", p.MaxBatchSize))
	}
	if p.MaxBatchedTokens < 0 {
		errs = append(errs, fmt.Errorf("max batched tokens must be >= 0, got %d", p.MaxBatchedTokens))
	}
	if p.GPUsPerReplica <= 0 {
		errs = append(errs, fmt.Errorf("GPUs per replica must be positive, got %d", p.GPUsPerReplica))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("profile %q: %w", p.Name, err)
	}
	return nil
}

// DecodeTime is the duration of a step that decodes n sequences holding kvTokens KV tokens in
// all and prefills nothing.
func (p Profile) DecodeTime(n, kvTokens int) time.Duration {
	return msToDuration(p.Overhead + p.Alpha + p.Beta*float64(n) + p.Epsilon*float64(kvTokens))
}

// PrefillTime is the duration of a step that prefills one chunk of tokens prompt tokens of a
// sequence with context tokens already in the KV cache, and decodes nothing.
func (p Profile) PrefillTime(tokens, context int) time.Duration {
	if tokens <= 0 {
		return msToDuration(p.Overhead)
	}
	return msToDuration(p.Overhead + p.prefillMs(tokens, p.attentionPairs(tokens, context)))
}

// attentionPairs is the number of (query, key) pairs a chunk of tokens prompt tokens with
// context tokens before it attends to: tokens·context plus the causal half of tokens².
func (Profile) attentionPairs(tokens, context int) float64 {
	return float64(tokens) * (float64(context) + float64(tokens)/2)
}

// prefillMs is the prefill part of a step in milliseconds: tokens prompt tokens whose attention
// covers pairs (query, key) pairs.
func (p Profile) prefillMs(tokens int, pairs float64) float64 {
	if tokens <= 0 {
		return 0
	}
	return p.Gamma + p.Delta*float64(tokens) + p.Zeta*pairs
}

// LinearDecode returns the α and β of SPEC.md §4.8's decode model, α + β·n, that the profile
// matches for sequences of contextTokens KV tokens each: Overhead + α and β + ε·contextTokens.
// It is what a user fitting perfParms on that traffic would find.
func (p Profile) LinearDecode(contextTokens int) (alpha, beta float64) {
	return p.Overhead + p.Alpha, p.Beta + p.Epsilon*float64(contextTokens)
}

// LinearPrefill returns the γ and δ of SPEC.md §4.8's prefill model, γ + δ·P, for prompts of
// promptTokens tokens alone in a step: Overhead + γ, and δ with the attention term spread over
// the tokens.
func (p Profile) LinearPrefill(promptTokens int) (gamma, delta float64) {
	return p.Overhead + p.Gamma, p.Delta + p.Zeta*float64(promptTokens)/2
}

// ReplicaCostPerHour is the price of one replica for one hour.
func (p Profile) ReplicaCostPerHour() float64 {
	return p.CostPerGPUHour * float64(p.GPUsPerReplica)
}

func msToDuration(ms float64) time.Duration {
	return time.Duration(math.Round(ms * float64(time.Millisecond)))
}

// Names of the default profiles.
const (
	ProfileL4   = "L4"
	ProfileA100 = "A100-40GB"
	ProfileH100 = "H100-80GB"
	// ProfileH100TP4Llama70B is Llama-3.1-70B-Instruct on four H100-80GB GPUs (tensor parallel 4).
	ProfileH100TP4Llama70B = "H100-80GB-70B-TP4"
)

// Models of the default profiles.
const (
	// DefaultModelID is the model of the L4, A100-40GB and H100-80GB profiles.
	DefaultModelID = "meta-llama/Llama-3.1-8B-Instruct"
	// Model70BID is the model of the H100-80GB-70B-TP4 profile.
	Model70BID = "meta-llama/Llama-3.1-70B-Instruct"
)

// stepOverheadMs is the per-step engine overhead of every default profile. Estimate: vLLM V1's
// scheduler and input preparation between two forward passes, a few hundred microseconds with
// CUDA graphs; no measurement isolates it, and at batch 1 it is inside the measured TPOT.
const stepOverheadMs = 0.5

// DefaultProfiles returns the built-in profiles, sorted by name: Llama-3.1-8B-Instruct (BF16,
// vLLM V1, one GPU per replica) on a cheap slow accelerator (L4), a mid-priced one (A100-40GB)
// and an expensive fast one (H100-80GB), and Llama-3.1-70B-Instruct (BF16) on four H100-80GB
// GPUs with tensor parallelism 4 (H100-80GB-70B-TP4).
//
// The batch-1 decode step of the A100 and the H100 is a published vLLM measurement (α is what
// is left of it after the overhead and the KV read at the measurement's context); every other
// number is derived from datasheets and the model's shape, and the L4 and the 70B profile have
// no measurement at all. docs/simulator.md ("Default profiles") gives the source of every
// number; profile_test.go recomputes the derived ones and checks each profile against its
// cited points.
func DefaultProfiles() []Profile {
	return []Profile{
		{
			// A100-SXM4-40GB (40,536 MiB, 1,555 GB/s, 312 dense BF16 TFLOPS). Measured: about
			// 75 tok/s at one request (vLLM 0.23.0, BF16, 1024/128 tokens), so a 13.3 ms step at
			// a context of about 1,088 tokens; α = 13.3 - overhead - ε·1088. ε ζ δ KV derived
			// (estimates), γ = α, β = 0 (estimate, see docs). Batch limits: vLLM V1
			// OpenAI-server defaults for GPUs other than H100-class ones. Price: on-demand list
			// price of one A100 40GB at Lambda (2024), approximate.
			Name:             ProfileA100,
			Model:            DefaultModelID,
			Overhead:         stepOverheadMs,
			Alpha:            12.68,
			Beta:             0,
			Epsilon:          1.1239e-4,
			Gamma:            12.68,
			Delta:            0.0858,
			Zeta:             2.8007e-6,
			KVCacheTokens:    157040,
			MaxBatchSize:     256,
			MaxBatchedTokens: 2048,
			GPUsPerReplica:   1,
			CostPerGPUHour:   1.29,
		},
		{
			// H100-SXM5-80GB (81,559 MiB, 3,350 GB/s, 989 dense BF16 TFLOPS). Measured: median
			// TPOT 6.48 ms at concurrency 1 (vLLM 0.21.0, fp16), taken at a context of about
			// 1,088 tokens (estimate); α = 6.48 - overhead - ε·1088. ε ζ δ KV derived, γ = α,
			// β = 0 (estimates). Batch limits: vLLM V1 OpenAI-server defaults for GPUs with
			// >= 70 GiB other than A100. Price: on-demand list price per GPU of 8x H100 SXM at
			// Lambda (2024), approximate.
			Name:             ProfileH100,
			Model:            DefaultModelID,
			Overhead:         stepOverheadMs,
			Alpha:            5.92,
			Beta:             0,
			Epsilon:          5.2168e-5,
			Gamma:            5.92,
			Delta:            0.02706,
			Zeta:             8.8353e-7,
			KVCacheTokens:    444208,
			MaxBatchSize:     1024,
			MaxBatchedTokens: 8192,
			GPUsPerReplica:   1,
			CostPerGPUHour:   2.99,
		},
		{
			// Llama-3.1-70B-Instruct BF16 on 4x H100-SXM5-80GB, tensor parallel 4. No vLLM
			// measurement was at hand: every number is an estimate derived from the model's
			// shape (70.55 B parameters, 80 layers, 64 query and 8 KV heads of 128) and the
			// datasheet, each GPU holding a quarter of the weights and of every token's KV. α =
			// the per-GPU weight read at the 8B profiles' bandwidth efficiency plus 160
			// all-reduces (two per layer) of 8 µs; γ = α. KV: (4 × 81,559 MiB × 0.9 - 141.1 GB
			// weights - 4 × 2.5 GiB) / 320 KiB per token. Batch limits as the H100 profile.
			// Price: four H100 at the H100 profile's price.
			Name:             ProfileH100TP4Llama70B,
			Model:            Model70BID,
			Overhead:         stepOverheadMs,
			Alpha:            15.32,
			Beta:             0,
			Epsilon:          3.2605e-5,
			Gamma:            15.32,
			Delta:            0.05945,
			Zeta:             1.1044e-6,
			KVCacheTokens:    476176,
			MaxBatchSize:     1024,
			MaxBatchedTokens: 8192,
			GPUsPerReplica:   4,
			CostPerGPUHour:   2.99,
		},
		{
			// L4 (23,034 MiB, 300 GB/s, 121 dense BF16 TFLOPS). No vLLM measurement was at hand:
			// every parameter is derived (estimate), α as the batch-1 weight-read time at the
			// bandwidth efficiency the A100 and H100 measurements show. Price: AWS g6.xlarge
			// (one L4) on-demand in us-east-1, approximate.
			Name:             ProfileL4,
			Model:            DefaultModelID,
			Overhead:         stepOverheadMs,
			Alpha:            71.38,
			Beta:             0,
			Epsilon:          5.8254e-4,
			Gamma:            71.38,
			Delta:            0.2212,
			Zeta:             7.2216e-6,
			KVCacheTokens:    35120,
			MaxBatchSize:     256,
			MaxBatchedTokens: 2048,
			GPUsPerReplica:   1,
			CostPerGPUHour:   0.80,
		},
	}
}

// LookupProfile returns the default profile with the given name (case-insensitive).
func LookupProfile(name string) (Profile, error) {
	var names []string
	for _, p := range DefaultProfiles() {
		if strings.EqualFold(p.Name, name) {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Profile{}, fmt.Errorf("unknown profile %q: valid names are %s", name, strings.Join(names, ", "))
}
