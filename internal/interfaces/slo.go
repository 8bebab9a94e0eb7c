package interfaces

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// DefaultSLOAttainment is the share of requests that must meet a latency target when neither
// the VariantAutoscaling nor the service class says otherwise.
const DefaultSLOAttainment = 0.99

// Bounds of the SLO targets, the same for spec.slo and the service-class ConfigMap.
const (
	MaxSLOTTFTMs  = 600_000 // 10 minutes
	MaxSLOITLMs   = 60_000  // 1 minute
	MinAttainment = 0.5
)

// SLOTargets are the latency targets of one model: each set target must be met by at least
// Attainment of the requests. A zero duration is a target that is not set.
type SLOTargets struct {
	// TTFT is the time-to-first-token target; 0 when not set.
	TTFT time.Duration `json:"ttft,omitempty"`
	// ITL is the inter-token latency target; 0 when not set.
	ITL time.Duration `json:"itl,omitempty"`
	// Attainment is the share of requests (in [0.5, 1)) that must meet each target.
	Attainment float64 `json:"attainment,omitempty"`
	// Source says where the targets came from, e.g. `service class "Premium"` or
	// `VariantAutoscaling llm/llama-h100 spec.slo`, for reasons and logs.
	Source string `json:"source,omitempty"`
}

// IsZero reports whether no target is set.
func (t SLOTargets) IsZero() bool { return t.TTFT == 0 && t.ITL == 0 }

// ServiceClass is one entry of the service-class ConfigMap: a named class with a priority
// (1 is the most important) and the latency targets of each model in it. The JSON keys are the
// YAML keys of the ConfigMap.
type ServiceClass struct {
	// Name names the class (e.g. "Premium").
	Name string `json:"name"`
	// Priority orders the classes: a lower number is more important. A model listed in several
	// classes gets the targets of the most important one.
	Priority int `json:"priority"`
	// Data lists the models of the class.
	Data []ServiceClassModel `json:"data"`
}

// ServiceClassModel is the targets of one model in a service class.
type ServiceClassModel struct {
	// Model is the served model name (the VariantAutoscaling's spec.modelID).
	Model string `json:"model"`
	// Namespace restricts the entry to one namespace; empty matches every namespace. A
	// namespaced entry wins over one without a namespace, whatever the class priorities.
	Namespace string `json:"namespace,omitempty"`
	// TTFTMs is the time-to-first-token target in milliseconds; 0 when not set.
	TTFTMs int `json:"slo-ttft,omitempty"`
	// TPOTMs is the time-per-output-token (inter-token latency) target in milliseconds; 0 when
	// not set.
	TPOTMs int `json:"slo-tpot,omitempty"`
	// Attainment is the share of requests that must meet each target; 0 selects
	// DefaultSLOAttainment.
	Attainment float64 `json:"slo-attainment,omitempty"`
}

// Validate reports the first problem of the class, naming the offending field.
func (c ServiceClass) Validate() error {
	if strings.TrimSpace(c.Name) == "" {
		return errors.New("name must not be empty")
	}
	if c.Priority < 0 {
		return fmt.Errorf("priority %d must not be negative", c.Priority)
	}
	if len(c.Data) == 0 {
		return errors.New("data must list at least one model")
	}
	seen := map[[2]string]int{}
	for i, m := range c.Data {
		field := fmt.Sprintf("data[%d]", i)
		if m.Model == "" {
			return fmt.Errorf("%s.model must not be empty", field)
		}
		if m.TTFTMs == 0 && m.TPOTMs == 0 {
			return fmt.Errorf("%s (model %q) must set slo-ttft or slo-tpot", field, m.Model)
		}
		if m.TTFTMs < 0 || m.TTFTMs > MaxSLOTTFTMs {
			return fmt.Errorf("%s.slo-ttft %d must be between 1 and %d milliseconds", field, m.TTFTMs, MaxSLOTTFTMs)
		}
		if m.TPOTMs < 0 || m.TPOTMs > MaxSLOITLMs {
			return fmt.Errorf("%s.slo-tpot %d must be between 1 and %d milliseconds", field, m.TPOTMs, MaxSLOITLMs)
		}
		if m.Attainment != 0 && (m.Attainment < MinAttainment || m.Attainment >= 1) {
			return fmt.Errorf("%s.slo-attainment %g must lie in [%g, 1)", field, m.Attainment, MinAttainment)
		}
		k := [2]string{m.Model, m.Namespace}
		if j, dup := seen[k]; dup {
			return fmt.Errorf("%s repeats model %q (namespace %q) of data[%d]", field, m.Model, m.Namespace, j)
		}
		seen[k] = i
	}
	return nil
}

// Targets returns the entry's targets.
func (m ServiceClassModel) Targets(class string) SLOTargets {
	t := SLOTargets{TTFT: time.Duration(m.TTFTMs) * time.Millisecond, ITL: time.Duration(m.TPOTMs) * time.Millisecond,
		Attainment: m.Attainment, Source: fmt.Sprintf("service class %q", class)}
	if t.Attainment == 0 {
		t.Attainment = DefaultSLOAttainment
	}
	return t
}

// SLOForModel returns the targets the service classes give modelID in namespace: from the entry
// for that namespace if there is one, else from the entry without a namespace; among several,
// the class with the lowest priority number, then the first class name. false when no class
// lists the model.
func SLOForModel(classes map[string]ServiceClass, modelID, namespace string) (SLOTargets, bool) {
	type cand struct {
		nsMatch  bool
		priority int
		name     string
		m        ServiceClassModel
	}
	var best *cand
	for _, key := range slices.Sorted(maps.Keys(classes)) {
		c := classes[key]
		for _, m := range c.Data {
			if m.Model != modelID || (m.Namespace != "" && m.Namespace != namespace) {
				continue
			}
			x := cand{nsMatch: m.Namespace != "", priority: c.Priority, name: c.Name, m: m}
			if best == nil || better(x.nsMatch, best.nsMatch, cmp.Or(cmp.Compare(x.priority, best.priority), cmp.Compare(x.name, best.name))) {
				best = &x
			}
		}
	}
	if best == nil {
		return SLOTargets{}, false
	}
	return best.m.Targets(best.name), true
}

// better reports whether a candidate beats the best so far: a namespace match first, then a
// negative order.
func better(nsMatch, bestNsMatch bool, order int) bool {
	if nsMatch != bestNsMatch {
		return nsMatch
	}
	return order < 0
}
