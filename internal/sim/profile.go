package sim

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Profile is the performance and cost model of one replica of a model on one accelerator type.
// Times follow SPEC.md §4.8: a step that decodes n sequences takes α + β·n ms; a step that
// prefills P prompt tokens takes γ + δ·P ms more.
type Profile struct {
	// Name is the accelerator name reported for the variant (for example "H100").
	Name string
	// Model is the model the parameters were derived for.
	Model string
	// Alpha (α) is the fixed part of a decode step in milliseconds.
	Alpha float64
	// Beta (β) is the decode time per sequence in the batch in milliseconds.
	Beta float64
	// Gamma (γ) is the fixed part of a prefill in milliseconds.
	Gamma float64
	// Delta (δ) is the prefill time per prompt token in milliseconds.
	Delta float64
	// KVCacheTokens is the KV-cache capacity of one replica in tokens.
	KVCacheTokens int
	// MaxBatchSize is the largest number of sequences running at once (vLLM --max-num-seqs).
	MaxBatchSize int
	// MaxBatchedTokens is the token budget of one step (vLLM --max-num-batched-tokens): each
	// decoding sequence takes one token of it and prefill chunks take the rest. 0 means unlimited.
	MaxBatchedTokens int
	// GPUsPerReplica is the number of GPUs one replica holds.
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
	}{{"alpha", p.Alpha}, {"beta", p.Beta}, {"gamma", p.Gamma}, {"delta", p.Delta}, {"cost per GPU-hour", p.CostPerGPUHour}} {
		if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			errs = append(errs, fmt.Errorf("%s must be a finite number >= 0, got %g", f.name, f.v))
		}
	}
	if p.Alpha+p.Beta <= 0 {
		errs = append(errs, errors.New("alpha + beta must be positive, or decoding takes no time"))
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

// DecodeTime is the duration of a step that decodes n sequences and prefills nothing.
func (p Profile) DecodeTime(n int) time.Duration {
	return msToDuration(p.Alpha + p.Beta*float64(n))
}

// PrefillTime is the extra duration of a step that prefills tokens prompt tokens (0 for none).
func (p Profile) PrefillTime(tokens int) time.Duration {
	if tokens <= 0 {
		return 0
	}
	return msToDuration(p.Gamma + p.Delta*float64(tokens))
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
)

// DefaultModelID is the model the default profiles describe.
const DefaultModelID = "meta-llama/Llama-3.1-8B-Instruct"

// DefaultProfiles returns the built-in profiles of Llama-3.1-8B-Instruct (BF16, vLLM V1, one GPU
// per replica), sorted by name: a cheap slow accelerator (L4), a mid-priced one (A100-40GB) and
// an expensive fast one (H100-80GB).
//
// α of the A100 and the H100 are published vLLM measurements; every other number is derived from
// datasheets and the model's shape, and the L4 has no measurement at all, so its α is an
// estimate too. docs/simulator.md ("Default profiles") gives the source of every number and
// profile_test.go recomputes the derived ones.
func DefaultProfiles() []Profile {
	return []Profile{
		{
			// A100-SXM4-40GB (40,536 MiB, 1,555 GB/s, 312 dense BF16 TFLOPS). α measured: about
			// 75 tok/s at one request (vLLM 0.23.0, BF16, 1024/128 tokens). β γ δ KV derived.
			// Batch limits: vLLM V1 OpenAI-server defaults for GPUs other than H100-class ones.
			// Price: on-demand list price of one A100 40GB at Lambda (2024), approximate.
			Name:             ProfileA100,
			Model:            DefaultModelID,
			Alpha:            13.3,
			Beta:             0.146,
			Gamma:            13.3,
			Delta:            0.086,
			KVCacheTokens:    157040,
			MaxBatchSize:     256,
			MaxBatchedTokens: 2048,
			GPUsPerReplica:   1,
			CostPerGPUHour:   1.29,
		},
		{
			// H100-SXM5-80GB (81,559 MiB, 3,350 GB/s, 989 dense BF16 TFLOPS). α measured: median
			// TPOT 6.48 ms at concurrency 1 (vLLM 0.21.0, fp16). β γ δ KV derived. Batch limits:
			// vLLM V1 OpenAI-server defaults for GPUs with >= 70 GiB other than A100. Price:
			// on-demand list price per GPU of 8x H100 SXM at Lambda (2024), approximate.
			Name:             ProfileH100,
			Model:            DefaultModelID,
			Alpha:            6.5,
			Beta:             0.068,
			Gamma:            6.5,
			Delta:            0.027,
			KVCacheTokens:    444208,
			MaxBatchSize:     1024,
			MaxBatchedTokens: 8192,
			GPUsPerReplica:   1,
			CostPerGPUHour:   2.99,
		},
		{
			// L4 (23,034 MiB, 300 GB/s, 121 dense BF16 TFLOPS). No vLLM measurement was at hand:
			// every parameter is derived (estimate), α as the batch-1 weight-read time at the
			// bandwidth efficiency the A100 and H100 measurements show. Price: AWS g6.xlarge
			// (one L4) on-demand in us-east-1, approximate.
			Name:             ProfileL4,
			Model:            DefaultModelID,
			Alpha:            71.4,
			Beta:             0.757,
			Gamma:            71.4,
			Delta:            0.221,
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
