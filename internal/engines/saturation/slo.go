package saturation

import (
	"fmt"
	"slices"
	"strings"
	"time"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// modelSLO resolves the latency targets of one model, target by target: a VariantAutoscaling's
// spec.slo wins over the model's service class; where several variants of the model set the
// same target, the strictest holds (the lowest latency, the highest attainment), since they
// serve one stream of requests. A model with no target anywhere gets the zero SLOTargets.
func modelSLO(cfg *common.GlobalConfig, k modelKey, vas []*wvav1alpha1.VariantAutoscaling) interfaces.SLOTargets {
	slo, _ := cfg.SLOFor(k.modelID, k.namespace)
	var fromVA []string
	var ttft, itl time.Duration
	attainment := 0.0
	for _, va := range vas {
		s := va.Spec.SLO
		if s == nil {
			continue
		}
		used := false
		if s.TTFTMilliseconds != nil && *s.TTFTMilliseconds > 0 {
			d := time.Duration(*s.TTFTMilliseconds) * time.Millisecond
			if ttft == 0 || d < ttft {
				ttft = d
			}
			used = true
		}
		if s.ITLMilliseconds != nil && *s.ITLMilliseconds > 0 {
			d := time.Duration(*s.ITLMilliseconds) * time.Millisecond
			if itl == 0 || d < itl {
				itl = d
			}
			used = true
		}
		if a, ok := s.AttainmentValue(); ok {
			attainment = max(attainment, a)
			used = true
		}
		if used {
			fromVA = append(fromVA, va.Name)
		}
	}
	if len(fromVA) == 0 {
		return slo
	}
	if ttft > 0 {
		slo.TTFT = ttft
	}
	if itl > 0 {
		slo.ITL = itl
	}
	if attainment > 0 {
		slo.Attainment = attainment
	}
	if slo.Attainment == 0 {
		slo.Attainment = interfaces.DefaultSLOAttainment
	}
	slices.Sort(fromVA)
	src := fmt.Sprintf("spec.slo of VariantAutoscaling %s/%s", k.namespace, strings.Join(fromVA, ", "))
	if slo.Source != "" {
		src += " over " + slo.Source
	}
	slo.Source = src
	return slo
}
