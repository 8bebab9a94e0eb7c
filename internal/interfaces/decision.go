package interfaces

import "time"

// Action is the direction of a scaling decision relative to the variant's current replicas.
type Action string

const (
	// ActionScaleUp means the target is above the current replica count.
	ActionScaleUp Action = "scale-up"
	// ActionScaleDown means the target is below the current replica count.
	ActionScaleDown Action = "scale-down"
	// ActionNoChange means the target equals the current replica count.
	ActionNoChange Action = "no-change"
)

// ActionFor returns the action that moves current replicas to target replicas.
func ActionFor(current, target int) Action {
	switch {
	case target > current:
		return ActionScaleUp
	case target < current:
		return ActionScaleDown
	default:
		return ActionNoChange
	}
}

// VariantDecision is the outcome of one engine cycle for one variant (one VariantAutoscaling).
// Engines produce it; the controller copies it into the VariantAutoscaling status and the
// actuator publishes it.
type VariantDecision struct {
	// VariantName is the name of the VariantAutoscaling the decision is for.
	VariantName string
	// Namespace is the namespace of the VariantAutoscaling.
	Namespace string
	// ModelID is the served model name shared by all variants of the model.
	ModelID string
	// AcceleratorName is the accelerator type the variant runs on (e.g. "H100").
	AcceleratorName string
	// Cost is the relative cost of one replica of the variant.
	Cost float64

	// CurrentReplicas is the replica count the engine observed.
	CurrentReplicas int
	// TargetReplicas is the replica count the engine wants.
	TargetReplicas int
	// DesiredReplicas is the target published in the previous cycle (0 when none was).
	DesiredReplicas int
	// Action is the direction from CurrentReplicas to TargetReplicas.
	Action Action
	// Reason is a human-readable sentence explaining the decision.
	Reason string

	// SaturationBased is true when the saturation analysis produced the decision.
	SaturationBased bool
	// SaturationOnly is true when no model-based optimizer took part.
	SaturationOnly bool
	// ModelBasedDecision is true when the model-based optimizer produced the decision.
	ModelBasedDecision bool
	// SafetyOverride is true when the decision is a fallback kept because analysis failed.
	SafetyOverride bool

	// LimitedBy names the GPU limit (inventory or quota, with its size) that held the target
	// below what the analyzer wanted, e.g. "the H100 GPU inventory (16 GPUs)"; empty when none did.
	LimitedBy string

	// ScaledToZero is true when the target is 0 because the model has served no request for
	// its scale-to-zero retention (VariantAutoscaling spec.scaleToZero).
	ScaledToZero bool

	// MetricsAvailable is false when the cycle could not read fresh metrics for the variant;
	// the target is then the previous decision (never a scale-down).
	MetricsAvailable bool
	// MetricsReason is a CamelCase reason for the metrics state (e.g. "MetricsFound").
	MetricsReason string
	// MetricsMessage explains the metrics state in a sentence.
	MetricsMessage string

	// LastRunTime is when the engine computed the decision.
	LastRunTime time.Time
}

// ScaleConflictKind says who, besides WVA, writes the replicas of a Direct-mode scale target.
type ScaleConflictKind int

const (
	// ScaleConflictHPA: a HorizontalPodAutoscaler targets the Deployment. WVA leaves its
	// replicas to the HPA and only publishes the gauges.
	ScaleConflictHPA ScaleConflictKind = iota + 1
	// ScaleConflictForeignWrite: another field manager changed spec.replicas since WVA last
	// wrote them. WVA writes its decision again: in Direct mode it owns spec.replicas.
	ScaleConflictForeignWrite
)

// ScaleConflict describes a writer of a Direct-mode scale target's replicas other than WVA,
// as the actuator found it before writing the scale.
type ScaleConflict struct {
	Kind ScaleConflictKind
	// Writer is the HPA's name (ScaleConflictHPA) or the field manager that last set
	// spec.replicas (ScaleConflictForeignWrite).
	Writer string
	// Replicas is the Deployment's spec.replicas as the actuator found it.
	Replicas int32
	// Written is the replica count WVA had written before (ScaleConflictForeignWrite).
	Written int32
}
