package sim

import (
	"math"
	"strings"
	"testing"
)

// The derivations of docs/simulator.md ("Default profiles"), recomputed. Hardware figures are
// datasheet values; efficiencies are the stated assumptions.
const (
	params          = 8.03e9               // Llama-3.1-8B parameters
	weightBytes     = params * 2           // BF16
	kvBytesPerToken = 2 * 32 * 8 * 128 * 2 // K,V x layers x KV heads x head dim x BF16
	gpuMemUtil      = 0.9                  // vLLM --gpu-memory-utilization default
	contextTokens   = 1300                 // mean context of a decoding request of the Azure conversation trace
	bwEfficiency    = 0.75                 // measured batch-1 share of peak bandwidth (A100 77 %, H100 74 %)
	prefillMFU      = 0.6                  // assumed share of dense BF16 peak during prefill
)

func derivedKVTokens(memMiB, overheadGiB float64) int {
	free := memMiB*(1<<20)*gpuMemUtil - weightBytes - overheadGiB*(1<<30)
	return int(free/kvBytesPerToken) / 16 * 16
}

func derivedBeta(bandwidthGBs float64) float64 {
	return contextTokens * kvBytesPerToken / (bandwidthGBs * 1e9 * bwEfficiency) * 1e3
}

func derivedDelta(tflops float64) float64 {
	return 2 * params / (tflops * 1e12 * prefillMFU) * 1e3
}

func TestDefaultProfilesMatchDerivations(t *testing.T) {
	type hw struct {
		memMiB, overheadGiB, bandwidthGBs, tflops float64
		alpha                                     float64 // measured, or derived for the L4
	}
	hardware := map[string]hw{
		ProfileL4:   {memMiB: 23034, overheadGiB: 1.0, bandwidthGBs: 300, tflops: 121, alpha: weightBytes / (300e9 * bwEfficiency) * 1e3},
		ProfileA100: {memMiB: 40536, overheadGiB: 1.5, bandwidthGBs: 1555, tflops: 312, alpha: 13.3},
		ProfileH100: {memMiB: 81559, overheadGiB: 2.5, bandwidthGBs: 3350, tflops: 989, alpha: 6.5},
	}
	near := func(got, want float64) bool { return math.Abs(got-want) <= 0.0015*math.Max(1, want) }
	for _, p := range DefaultProfiles() {
		t.Run(p.Name, func(t *testing.T) {
			h, ok := hardware[p.Name]
			if !ok {
				t.Fatalf("no derivation for profile %q", p.Name)
			}
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			if !near(p.Alpha, h.alpha) || !near(p.Gamma, h.alpha) {
				t.Errorf("alpha, gamma = %g, %g; want %g", p.Alpha, p.Gamma, h.alpha)
			}
			if want := derivedBeta(h.bandwidthGBs); math.Abs(p.Beta-want) > 0.0006 {
				t.Errorf("beta = %g, want %g", p.Beta, want)
			}
			if want := derivedDelta(h.tflops); math.Abs(p.Delta-want) > 0.0006 {
				t.Errorf("delta = %g, want %g", p.Delta, want)
			}
			if want := derivedKVTokens(h.memMiB, h.overheadGiB); p.KVCacheTokens != want {
				t.Errorf("KV cache tokens = %d, want %d", p.KVCacheTokens, want)
			}
		})
	}
}

func TestLookupProfile(t *testing.T) {
	p, err := LookupProfile("h100-80gb")
	if err != nil || p.Name != ProfileH100 {
		t.Fatalf("LookupProfile(h100-80gb) = %q, %v", p.Name, err)
	}
	if _, err := LookupProfile("tpu"); err == nil || !strings.Contains(err.Error(), "valid names are A100-40GB, H100-80GB, L4") {
		t.Errorf("LookupProfile(tpu) error = %v", err)
	}
}

func TestProfileValidate(t *testing.T) {
	err := Profile{Name: "x", Alpha: -1, Beta: math.NaN()}.Validate()
	for _, want := range []string{"alpha must be", "beta must be", "KV cache tokens", "max batch size", "GPUs per replica"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
}
