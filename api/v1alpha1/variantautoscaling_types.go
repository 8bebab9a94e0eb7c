package v1alpha1

import (
	"strconv"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AcceleratorNameLabel is the VariantAutoscaling label that names the accelerator type of the
// variant (e.g. "H100"). It is read when spec.modelProfile does not name one.
const AcceleratorNameLabel = "inference.optimization/acceleratorName"

// DefaultVariantCost is the cost of one replica when spec.variantCost is empty.
const DefaultVariantCost = 10.0

// ActuationMode selects how a decision reaches the target's replica count.
// +kubebuilder:validation:Enum=Metrics;Direct
type ActuationMode string

const (
	// ActuationMetrics publishes the decision as wva_* gauges for an HPA or KEDA to act on.
	ActuationMetrics ActuationMode = "Metrics"
	// ActuationDirect additionally sets the target's replicas through its scale subresource.
	ActuationDirect ActuationMode = "Direct"
)

// VariantAutoscalingSpec says what to scale: one Deployment serving one model on one accelerator.
//
// +kubebuilder:validation:XValidation:rule="self.scaleTargetRef.kind == 'Deployment'",message="spec.scaleTargetRef.kind must be Deployment"
// +kubebuilder:validation:XValidation:rule="!has(self.scaleTargetRef.apiVersion) || size(self.scaleTargetRef.apiVersion) == 0 || self.scaleTargetRef.apiVersion == 'apps/v1'",message="spec.scaleTargetRef.apiVersion must be apps/v1"
// +kubebuilder:validation:XValidation:rule="!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas",message="spec.minReplicas must not exceed spec.maxReplicas"
// +kubebuilder:validation:XValidation:rule="!has(self.scaleToZero) || (has(self.minReplicas) && self.minReplicas == 0)",message="spec.scaleToZero needs spec.minReplicas: 0"
// +kubebuilder:validation:XValidation:rule="!has(self.scaler) || !has(self.actuation) || !has(self.actuation.mode) || self.actuation.mode != 'Direct'",message="spec.scaler needs Metrics actuation: in Direct mode WVA writes the replicas itself"
type VariantAutoscalingSpec struct {
	// ScaleTargetRef names the Deployment, in the VariantAutoscaling's namespace, that serves
	// this variant.
	// +required
	ScaleTargetRef autoscalingv1.CrossVersionObjectReference `json:"scaleTargetRef"`

	// ModelID is the served model name; it must equal the model_name label of the vLLM metrics.
	// +required
	// +kubebuilder:validation:MinLength=1
	ModelID string `json:"modelID"`

	// ModelProfile describes the accelerators the model can run on and their performance.
	// +optional
	ModelProfile *ModelProfile `json:"modelProfile,omitempty"`

	// VariantCost is the relative cost of one replica of this variant, as a decimal string
	// (e.g. "30.0"). The cheapest variant grows first and the most expensive shrinks first.
	// +optional
	// +kubebuilder:default="10.0"
	// +kubebuilder:validation:Pattern=`^\d+(\.\d+)?$`
	VariantCost string `json:"variantCost,omitempty"`

	// MinReplicas is the fewest replicas WVA will ask for (default 1). 0 lets WVA remove every
	// replica of this variant while another variant of the same model serves it: a model keeps
	// at least one replica unless every variant of the model sets scaleToZero.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MinReplicas *int32 `json:"minReplicas,omitempty"`

	// MaxReplicas is the most replicas WVA will ask for. When unset, WVA grows a variant to at
	// most 100 (analysis.DefaultMaxReplicas, or minReplicas when higher); a variant that already
	// runs more is not cut down to 100. Set it for a variant that needs more. WVA also grows a variant by at most
	// max(2x, +8) replicas per cycle.
	// +optional
	// +kubebuilder:validation:Minimum=1
	MaxReplicas *int32 `json:"maxReplicas,omitempty"`

	// Actuation selects how decisions are applied.
	// +optional
	Actuation *ActuationSpec `json:"actuation,omitempty"`

	// SLO sets the latency targets of the model served by this variant. Each target set here
	// overrides the same target of the model's service class (the service-class ConfigMap);
	// a target set in neither place is not enforced.
	// +optional
	SLO *SLOSpec `json:"slo,omitempty"`

	// StartupDelaySeconds is how long a new replica of this variant takes from pod creation to
	// Ready. The slo analyzer plans demand this far ahead. When unset, WVA learns it from the
	// variant's pods (their Ready time minus their creation time) and uses 120 seconds until it
	// has seen a pod become ready.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= 1 && self <= 3600",message="spec.startupDelaySeconds must be between 1 and 3600 (1 hour)"
	StartupDelaySeconds *int32 `json:"startupDelaySeconds,omitempty"`

	// ScaleToZero lets WVA scale every variant of the model to 0 replicas once the model has
	// served no request for retentionSeconds, and back to 1 replica of its cheapest variant as
	// soon as a request waits for it. It takes effect only when every VariantAutoscaling of the
	// model (same spec.modelID and namespace) sets it, and needs spec.minReplicas: 0.
	// +optional
	ScaleToZero *ScaleToZeroSpec `json:"scaleToZero,omitempty"`

	// Scaler makes WVA create, and keep up to date, the scaler that applies its decision to the
	// scale target in Metrics mode: a HorizontalPodAutoscaler (autoscaling/v2) on the External
	// metric wva_desired_replicas, or a KEDA ScaledObject with a Prometheus trigger on the same
	// series. The scaler is named after the VariantAutoscaling, takes its min and max replicas
	// from this spec and is deleted with it (ownerReference). WVA does not overwrite or compete
	// with a scaler it did not create: while another HorizontalPodAutoscaler or ScaledObject
	// targets the Deployment, condition ScalerOwned is False with reason ForeignScaler. Not
	// allowed in Direct mode. Removing the field deletes the scaler WVA created.
	// +optional
	Scaler *ScalerSpec `json:"scaler,omitempty"`
}

// ScalerKind names the kind of scaler WVA creates for the scale target.
// +kubebuilder:validation:Enum=HPA;ScaledObject
type ScalerKind string

const (
	// ScalerHPA is an autoscaling/v2 HorizontalPodAutoscaler on the External metric
	// wva_desired_replicas (served by prometheus-adapter, see config/samples/hpa.yaml).
	ScalerHPA ScalerKind = "HPA"
	// ScalerScaledObject is a KEDA (keda.sh/v1alpha1) ScaledObject with a Prometheus trigger on
	// wva_desired_replicas (see config/samples/keda-scaledobject.yaml).
	ScalerScaledObject ScalerKind = "ScaledObject"
)

// ScalerSpec selects the scaler WVA creates and owns for the scale target.
//
// +kubebuilder:validation:XValidation:rule="self.kind == 'ScaledObject' || (!has(self.prometheusAddress) && !has(self.authenticationRef))",message="spec.scaler.prometheusAddress and authenticationRef apply to kind ScaledObject only"
type ScalerSpec struct {
	// Kind is HPA (a HorizontalPodAutoscaler) or ScaledObject (KEDA).
	// +required
	Kind ScalerKind `json:"kind"`

	// PrometheusAddress is the serverAddress of the ScaledObject's Prometheus trigger: the
	// Prometheus that scrapes WVA. Default: the URL WVA reads Prometheus from
	// (PROMETHEUS_BASE_URL). ScaledObject only.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://`
	PrometheusAddress string `json:"prometheusAddress,omitempty"`

	// AuthenticationRef names a KEDA TriggerAuthentication in the VariantAutoscaling's
	// namespace that the trigger uses to reach Prometheus (a CA, a bearer token). ScaledObject
	// only.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	AuthenticationRef string `json:"authenticationRef,omitempty"`
}

// DefaultScaleToZeroRetentionSeconds is the retention of spec.scaleToZero when
// retentionSeconds is unset: 10 minutes.
const DefaultScaleToZeroRetentionSeconds = 600

// ScaleToZeroSpec configures scale to zero and from zero of the model.
type ScaleToZeroSpec struct {
	// RetentionSeconds is how long the model must have had no request (none running, none
	// waiting, none arriving) before its variants go to 0 (0 to 86400, default 600). Where the
	// variants of a model set different values, the longest applies.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= 0 && self <= 86400",message="spec.scaleToZero.retentionSeconds must be between 0 and 86400 (1 day)"
	RetentionSeconds *int32 `json:"retentionSeconds,omitempty"`

	// DemandQuery is a PromQL expression whose value, summed over its series, is the number of
	// requests waiting for the model while it has no replica; more than 0 brings the cheapest
	// variant back to 1 replica. When unset, WVA reads the inference gateway's flow-control
	// queue for the model (llm_d_epp_flow_control_queue_size, or the older
	// inference_extension_flow_control_queue_size, whose target_model_name is spec.modelID, in
	// the variant's namespace). Where the variants of a model set different queries, that of
	// the first VariantAutoscaling by name applies.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	DemandQuery string `json:"demandQuery,omitempty"`
}

// SLOSpec is a service-level objective: latency targets that a share of requests must meet.
// Durations are whole milliseconds with the unit in the field name, as the Kubernetes API
// conventions ask, and as the service-class ConfigMap writes them (slo-ttft, slo-tpot).
//
// +kubebuilder:validation:XValidation:rule="has(self.ttftMilliseconds) || has(self.itlMilliseconds)",message="spec.slo must set ttftMilliseconds or itlMilliseconds"
type SLOSpec struct {
	// TTFTMilliseconds is the time-to-first-token target in milliseconds (1 to 600000).
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= 1 && self <= 600000",message="spec.slo.ttftMilliseconds must be between 1 and 600000 (10 minutes)"
	TTFTMilliseconds *int32 `json:"ttftMilliseconds,omitempty"`

	// ITLMilliseconds is the inter-token latency (time per output token) target in
	// milliseconds (1 to 60000).
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= 1 && self <= 60000",message="spec.slo.itlMilliseconds must be between 1 and 60000 (1 minute)"
	ITLMilliseconds *int32 `json:"itlMilliseconds,omitempty"`

	// Attainment is the share of requests that must meet each target, as a decimal string from
	// "0.5" up to but excluding "1" (e.g. "0.99" for 99 %). Default: the service class's, else
	// "0.99".
	// +optional
	// +kubebuilder:validation:MaxLength=12
	// +kubebuilder:validation:XValidation:rule="self.matches('^0[.][0-9]+$') && double(self) >= 0.5",message="spec.slo.attainment must be a decimal from 0.5 up to but excluding 1, such as 0.99"
	Attainment string `json:"attainment,omitempty"`
}

// ActuationSpec selects how decisions are applied to the scale target.
type ActuationSpec struct {
	// Mode is Metrics (default: publish wva_* gauges for an HPA or KEDA) or Direct (also set
	// the Deployment's replicas through the scale subresource).
	// +optional
	// +kubebuilder:default=Metrics
	Mode ActuationMode `json:"mode,omitempty"`
}

// ModelProfile lists the accelerators a model can be served on.
type ModelProfile struct {
	// Accelerators lists one entry per accelerator type.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +listType=map
	// +listMapKey=acc
	Accelerators []AcceleratorProfile `json:"accelerators"`
}

// AcceleratorProfile describes how the model performs on one accelerator type.
type AcceleratorProfile struct {
	// Acc is the accelerator type name (e.g. "A100").
	// +required
	// +kubebuilder:validation:MinLength=1
	Acc string `json:"acc"`

	// AccCount is the number of accelerators one replica uses.
	// +required
	// +kubebuilder:validation:Minimum=1
	AccCount int32 `json:"accCount"`

	// MaxBatchSize is the largest running batch of one replica (vLLM --max-num-seqs).
	// +required
	// +kubebuilder:validation:Minimum=1
	MaxBatchSize int32 `json:"maxBatchSize"`

	// PerfParms are the fitted latency parameters of one replica.
	// +optional
	PerfParms *PerfParms `json:"perfParms,omitempty"`
}

// PerfParms are the latency model parameters of one replica, in milliseconds:
// ITL = alpha + beta*batchSize, prefill = gamma + delta*inputTokens*batchSize.
type PerfParms struct {
	// DecodeParms are the inter-token latency parameters.
	// +required
	DecodeParms DecodeParms `json:"decodeParms"`
	// PrefillParms are the prefill latency parameters.
	// +required
	PrefillParms PrefillParms `json:"prefillParms"`
}

// DecodeParms are the decode (inter-token latency) parameters, in milliseconds.
type DecodeParms struct {
	// Alpha is the fixed part of one decode step.
	// +required
	// +kubebuilder:validation:Minimum=0
	Alpha float64 `json:"alpha"`
	// Beta is the part of one decode step per sequence in the batch.
	// +required
	// +kubebuilder:validation:Minimum=0
	Beta float64 `json:"beta"`
}

// PrefillParms are the prefill parameters, in milliseconds.
type PrefillParms struct {
	// Gamma is the fixed part of one prefill.
	// +required
	// +kubebuilder:validation:Minimum=0
	Gamma float64 `json:"gamma"`
	// Delta is the part of one prefill per prompt token.
	// +required
	// +kubebuilder:validation:Minimum=0
	Delta float64 `json:"delta"`
}

// VariantAutoscalingStatus is what WVA observed and decided for the variant. Only the
// controller writes it.
type VariantAutoscalingStatus struct {
	// ObservedGeneration is the spec generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// CurrentAlloc is the variant's allocation as last observed.
	// +optional
	CurrentAlloc *CurrentAlloc `json:"currentAlloc,omitempty"`

	// OptimizedAlloc is the latest decision: the replicas the variant should run.
	// +optional
	OptimizedAlloc OptimizedAlloc `json:"optimizedAlloc,omitzero"`

	// Actuation reports whether the latest decision was applied.
	// +optional
	Actuation *ActuationStatus `json:"actuation,omitempty"`

	// Conditions: Ready, TargetResolved, MetricsAvailable, OptimizationReady, in Direct mode
	// ActuationConflict and, with spec.scaler, ScalerOwned.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
}

// CurrentAlloc is the observed allocation of the variant.
type CurrentAlloc struct {
	// Accelerator is the accelerator type of the variant.
	// +optional
	Accelerator string `json:"accelerator,omitempty"`
	// Replicas is the scale target's desired replica count (spec.replicas).
	// +kubebuilder:validation:Minimum=0
	Replicas int32 `json:"replicas"`
	// ReadyReplicas is the number of ready replicas of the scale target.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
}

// OptimizedAlloc is one scaling decision for the variant.
type OptimizedAlloc struct {
	// Replicas is the number of replicas the variant should run.
	// +kubebuilder:validation:Minimum=0
	Replicas int `json:"replicas"`
	// Accelerator is the accelerator type the decision is for.
	// +optional
	Accelerator string `json:"accelerator,omitempty"`
	// LastUpdateTime is when the decision was written.
	// +optional
	LastUpdateTime metav1.Time `json:"lastUpdateTime,omitzero"`
}

// ActuationStatus reports how the latest decision was applied.
type ActuationStatus struct {
	// Applied is true when the latest decision was published (Metrics) or written to the
	// scale subresource (Direct). In Direct mode it is false while a HorizontalPodAutoscaler
	// targets the Deployment (condition ActuationConflict, reason HPAConflict).
	Applied bool `json:"applied"`
	// Mode is the actuation mode used.
	// +optional
	Mode ActuationMode `json:"mode,omitempty"`
}

// VariantAutoscaling binds one Deployment that serves a model on one accelerator type to WVA,
// which decides how many replicas it needs.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=va
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.spec.scaleTargetRef.name`
// +kubebuilder:printcolumn:name="Model",type=string,JSONPath=`.spec.modelID`
// +kubebuilder:printcolumn:name="Accelerator",type=string,JSONPath=`.status.optimizedAlloc.accelerator`,priority=1
// +kubebuilder:printcolumn:name="Min",type=integer,JSONPath=`.spec.minReplicas`,description="spec.minReplicas (empty: 1)"
// +kubebuilder:printcolumn:name="Max",type=integer,JSONPath=`.spec.maxReplicas`,description="spec.maxReplicas (empty: 100 or minReplicas)"
// +kubebuilder:printcolumn:name="Current",type=integer,JSONPath=`.status.currentAlloc.replicas`
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=`.status.optimizedAlloc.replicas`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=='Ready')].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=='Ready')].reason`
// +kubebuilder:printcolumn:name="SLO-TTFT",type=integer,JSONPath=`.spec.slo.ttftMilliseconds`,priority=1,description="TTFT target in ms (spec.slo; empty: service class or none)"
// +kubebuilder:printcolumn:name="SLO-ITL",type=integer,JSONPath=`.spec.slo.itlMilliseconds`,priority=1,description="ITL target in ms (spec.slo; empty: service class or none)"
// +kubebuilder:printcolumn:name="MetricsReady",type=string,JSONPath=`.status.conditions[?(@.type=='MetricsAvailable')].status`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type VariantAutoscaling struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   VariantAutoscalingSpec   `json:"spec,omitempty"`
	Status VariantAutoscalingStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// VariantAutoscalingList is a list of VariantAutoscaling.
type VariantAutoscalingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VariantAutoscaling `json:"items"`
}

func init() {
	SchemeBuilder.Register(&VariantAutoscaling{}, &VariantAutoscalingList{})
}

// Cost returns the parsed spec.variantCost, or DefaultVariantCost when it is empty or not a
// non-negative decimal.
func (va *VariantAutoscaling) Cost() float64 {
	if va.Spec.VariantCost == "" {
		return DefaultVariantCost
	}
	c, err := strconv.ParseFloat(va.Spec.VariantCost, 64)
	if err != nil || c < 0 {
		return DefaultVariantCost
	}
	return c
}

// AcceleratorName returns the accelerator type of the variant: the acceleratorName label, or
// else the first accelerator of spec.modelProfile, or "" when neither names one.
func (va *VariantAutoscaling) AcceleratorName() string {
	if acc := va.Labels[AcceleratorNameLabel]; acc != "" {
		return acc
	}
	if p := va.Spec.ModelProfile; p != nil && len(p.Accelerators) > 0 {
		return p.Accelerators[0].Acc
	}
	return ""
}

// ScaleToZeroRetention returns the retention of spec.scaleToZero in seconds and true, or 0 and
// false when scaleToZero is unset.
func (va *VariantAutoscaling) ScaleToZeroRetention() (int32, bool) {
	z := va.Spec.ScaleToZero
	if z == nil {
		return 0, false
	}
	if z.RetentionSeconds == nil {
		return DefaultScaleToZeroRetentionSeconds, true
	}
	return max(*z.RetentionSeconds, 0), true
}

// ActuationMode returns the configured actuation mode, Metrics by default.
func (va *VariantAutoscaling) ActuationMode() ActuationMode {
	if va.Spec.Actuation == nil || va.Spec.Actuation.Mode == "" {
		return ActuationMetrics
	}
	return va.Spec.Actuation.Mode
}

// AttainmentValue returns the parsed spec.slo.attainment and true, or 0 and false when it is
// unset or not a decimal in [0.5, 1) (the API server rejects such values).
func (s *SLOSpec) AttainmentValue() (float64, bool) {
	if s == nil || s.Attainment == "" {
		return 0, false
	}
	a, err := strconv.ParseFloat(s.Attainment, 64)
	if err != nil || a < 0.5 || a >= 1 {
		return 0, false
	}
	return a, true
}
