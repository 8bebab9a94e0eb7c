package analysis

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// PodMetrics holds the current readings of one ready replica (pod) of a variant.
type PodMetrics struct {
	// Name is the pod name.
	Name string `json:"name"`
	// KvCacheUsage is the fraction (0..1) of the replica's KV cache in use.
	KvCacheUsage float64 `json:"kvCacheUsage"`
	// QueueLength is the number of requests waiting to be scheduled on the replica.
	QueueLength float64 `json:"queueLength"`
	// RunningRequests is the number of requests the replica is serving; 0 when unknown.
	RunningRequests float64 `json:"runningRequests,omitempty"`
	// MeanRunningRequests and ITLMedianSeconds are the replica's mean running batch and median
	// inter-token latency over the collector's window: one point of its decode speed; both 0
	// when not read (no token produced in the window).
	MeanRunningRequests float64 `json:"meanRunningRequests,omitempty"`
	ITLMedianSeconds    float64 `json:"itlMedianSeconds,omitempty"`
	// MeanPromptTokens and MeanPrefillSeconds are the mean prompt length and mean prefill time
	// (first scheduling to first token) of the requests the replica finished over the
	// collector's window: one point of its prefill speed; both 0 when not read.
	MeanPromptTokens   float64 `json:"meanPromptTokens,omitempty"`
	MeanPrefillSeconds float64 `json:"meanPrefillSeconds,omitempty"`
	// FinishRate is the rate of requests the replica finished over the window (per second);
	// read with the prefill point, 0 when that is not read.
	FinishRate float64 `json:"finishRate,omitempty"`
}

// VariantState is what an analyzer knows about one variant (one VariantAutoscaling) of a model.
type VariantState struct {
	// Name is the VariantAutoscaling name.
	Name string `json:"name"`
	// Accelerator is the accelerator type the variant runs on (e.g. "H100").
	Accelerator string `json:"accelerator"`
	// Cost is the relative cost of one replica.
	Cost float64 `json:"cost"`
	// CurrentReplicas is the scale target's spec replica count, including replicas still starting.
	CurrentReplicas int `json:"currentReplicas"`
	// ReadyReplicas is the number of ready replicas; 0 means "use len(Pods)".
	ReadyReplicas int `json:"readyReplicas,omitempty"`
	// DesiredReplicas is the target published in the previous cycle; 0 when none was.
	DesiredReplicas int `json:"desiredReplicas"`
	// MinReplicas is the lower replica bound; nil means 1. 0 lets the capacity analyzer remove
	// every replica of the variant while the model keeps at least one replica elsewhere.
	MinReplicas *int `json:"minReplicas,omitempty"`
	// MaxReplicas is the upper replica bound; 0 means DefaultMaxReplicas (see Bounds).
	MaxReplicas int `json:"maxReplicas,omitempty"`
	// KvCacheTokens is the KV-cache capacity of one replica in tokens; 0 when unknown.
	KvCacheTokens float64 `json:"kvCacheTokens,omitempty"`
	// DecodeAlphaMs and DecodeBetaMs are the decode-step latency model of one replica,
	// alpha + beta * batch milliseconds (the VariantAutoscaling's perfParms); 0 when unknown.
	DecodeAlphaMs float64 `json:"decodeAlphaMs,omitempty"`
	DecodeBetaMs  float64 `json:"decodeBetaMs,omitempty"`
	// PrefillGammaMs and PrefillDeltaMs are the prefill latency model of one replica,
	// gamma + delta * prompt tokens milliseconds (perfParms.prefillParms); 0 when unknown. Only
	// the slo analyzer reads them.
	PrefillGammaMs float64 `json:"prefillGammaMs,omitempty"`
	PrefillDeltaMs float64 `json:"prefillDeltaMs,omitempty"`
	// MaxBatch is the largest running batch of one replica (the accelerator profile's
	// maxBatchSize, vLLM --max-num-seqs); 0 when unknown. Only the slo analyzer reads it.
	MaxBatch int `json:"maxBatch,omitempty"`
	// StartupDelay is how long a new replica takes from creation to serving (the VA's
	// spec.startupDelaySeconds, else what the engine learned from the variant's pods); 0 means
	// DefaultStartupDelay. Only the slo analyzer reads it.
	StartupDelay time.Duration `json:"startupDelay,omitempty"`
	// Pods holds the readings of the variant's ready replicas that reported metrics.
	Pods []PodMetrics `json:"pods"`
}

// minReplicas returns the lower bound, 1 when none is set.
func (v VariantState) minReplicas() int {
	if v.MinReplicas == nil {
		return 1
	}
	return *v.MinReplicas
}

// ready returns the number of ready replicas, falling back to the number of reporting pods.
func (v VariantState) ready() int {
	return max(v.ReadyReplicas, len(v.Pods))
}

// ModelState is the snapshot of all variants serving one model in one namespace.
type ModelState struct {
	// ModelID is the served model name shared by the variants.
	ModelID string `json:"modelID"`
	// Namespace is the namespace of the variants.
	Namespace string `json:"namespace"`
	// Variants lists the model's variants; names must be unique.
	Variants []VariantState `json:"variants"`
	// SLO is the model's latency targets (VariantAutoscaling spec.slo over its service class);
	// zero when it has none. The v1 and capacity analyzers ignore it; the slo analyzer sizes to it.
	SLO interfaces.SLOTargets `json:"slo,omitzero"`
	// Metrics is the model's demand and latency over the collector's window; nil when the
	// collector read none. The v1 and capacity analyzers ignore it; the slo analyzer reads it.
	Metrics *ModelMetrics `json:"metrics,omitempty"`
}

// VariantTarget is an analyzer's decision for one variant.
type VariantTarget struct {
	// Variant is the VariantAutoscaling name.
	Variant string
	// Accelerator is the variant's accelerator type.
	Accelerator string
	// Current is the variant's CurrentReplicas.
	Current int
	// Desired is the target published in the previous cycle (0 when none was).
	Desired int
	// Target is the replica count the analyzer wants.
	Target int
	// Action is the direction from Current to Target.
	Action interfaces.Action
	// Reason explains the target in one or more sentences with the numbers behind it.
	Reason string
}

// Result is an analyzer's outcome for one model.
type Result struct {
	// ModelID is the analysed model.
	ModelID string
	// Namespace is the model's namespace.
	Namespace string
	// Analyzer is the name of the analyzer that produced the result.
	Analyzer string
	// Targets holds one entry per decided variant, sorted by variant name.
	Targets []VariantTarget
	// Summary states the model-level finding in one sentence.
	Summary string
	// AnalyzedAt is the time passed to Analyze.
	AnalyzedAt time.Time
	// Breakdown is the slo analyzer's decision number by number (see breakdown.go); nil from
	// the other analyzers and on the slo analyzer's capacity fallback.
	Breakdown *SLOBreakdown
}

// Analyzer computes replica targets for the variants of one model.
type Analyzer interface {
	// Name returns the analyzer's registered name.
	Name() string
	// Analyze returns the targets for m under cfg. It must not modify m.
	Analyze(m ModelState, cfg interfaces.SaturationScalingConfig, now time.Time) Result
}

// StatefulAnalyzer is an analyzer that carries memory from one cycle to the next (a
// forecaster, a fitted model, a feedback multiplier). The memory is a plain value the caller
// keeps per model and hands back: the analyzer itself stays pure and shareable.
type StatefulAnalyzer interface {
	Analyzer
	// AnalyzeWithState is Analyze given state, the value the previous call returned for the same
	// model (nil on the first cycle, or when the caller lost it); it returns the result and the
	// state to pass next time. It must not modify m or state.
	AnalyzeWithState(m ModelState, cfg interfaces.SaturationScalingConfig, now time.Time, state any) (Result, any)
}

const (
	// AnalyzerV1 names the reference saturation analyzer (+1/-1 per cycle).
	AnalyzerV1 = "v1"
	// AnalyzerCapacity names the demand/capacity analyzer.
	AnalyzerCapacity = "capacity"
	// AnalyzerSLO names the SLO-driven analyzer (arrival rate, forecast and per-replica
	// capacity at the model's latency targets).
	AnalyzerSLO = "slo"
	// DefaultAnalyzer is the analyzer used when none is named.
	DefaultAnalyzer = AnalyzerCapacity
)

// Names returns the valid analyzer names, sorted.
func Names() []string {
	return []string{AnalyzerCapacity, AnalyzerSLO, AnalyzerV1}
}

// New returns the analyzer registered under name; an empty name selects DefaultAnalyzer.
func New(name string) (Analyzer, error) {
	switch name {
	case AnalyzerV1:
		return V1Analyzer{}, nil
	case AnalyzerCapacity, "":
		return CapacityAnalyzer{}, nil
	case AnalyzerSLO:
		return SLOAnalyzer{}, nil
	default:
		return nil, fmt.Errorf("unknown analyzer %q: valid names are %s", name, strings.Join(Names(), ", "))
	}
}

// sortedVariants returns a copy of vs sorted by name.
func sortedVariants(vs []VariantState) []VariantState {
	out := append([]VariantState(nil), vs...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// num formats a number for reasons: up to three significant digits, whole numbers when large.
func num(x float64) string {
	if x >= 1000 || x <= -1000 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.3g", x)
}
