package config

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// Keys of the main ConfigMap that configure the GPU limiter.
const (
	// LimitedModeKey turns the GPU limiter on ("true") or off ("false", the default).
	LimitedModeKey = "WVA_LIMITED_MODE"
	// NodeSelectorKey restricts the GPU inventory to the Nodes a label selector matches.
	NodeSelectorKey = "WVA_NODE_SELECTOR"
	// GPUQuotasKey holds a YAML list of quotas: accelerator, optional namespace, gpus.
	GPUQuotasKey = "WVA_GPU_QUOTAS"
)

// ParseGPULimits reads the limiter's keys of the main ConfigMap. Each key is parsed on its own:
// a rejected key is reported in the returned errors and keeps its value from previous, so a
// typo in one quota never lifts the others nor turns the limiter off.
func ParseGPULimits(data map[string]string, previous interfaces.GPULimits) (interfaces.GPULimits, []*KeyError) {
	out := interfaces.GPULimits{}
	var errs []*KeyError
	if raw, ok := data[LimitedModeKey]; ok && strings.TrimSpace(raw) != "" {
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			errs = append(errs, &KeyError{Key: LimitedModeKey, Err: fmt.Errorf("%q is not true or false", raw)})
			b = previous.Enabled
		}
		out.Enabled = b
	}
	if raw := strings.TrimSpace(data[NodeSelectorKey]); raw != "" {
		if _, err := labels.Parse(raw); err != nil {
			errs = append(errs, &KeyError{Key: NodeSelectorKey, Err: fmt.Errorf("%q is not a label selector: %w", raw, err)})
			raw = previous.NodeSelector
		}
		out.NodeSelector = raw
	}
	if raw := strings.TrimSpace(data[GPUQuotasKey]); raw != "" {
		q, err := parseQuotas(raw)
		if err != nil {
			errs = append(errs, &KeyError{Key: GPUQuotasKey, Err: err})
			q = previous.Quotas
		}
		out.Quotas = q
	}
	return out, errs
}

func parseQuotas(raw string) ([]interfaces.GPUQuota, error) {
	var qs []interfaces.GPUQuota
	if err := yaml.UnmarshalStrict([]byte(raw), &qs); err != nil {
		return nil, fmt.Errorf("decoding YAML: %w", err)
	}
	seen := map[[2]string]int{}
	for i, q := range qs {
		if strings.TrimSpace(q.Accelerator) == "" {
			return nil, fmt.Errorf("[%d].accelerator must not be empty", i)
		}
		if q.GPUs < 0 {
			return nil, fmt.Errorf("[%d].gpus %d must not be negative", i, q.GPUs)
		}
		if q.Namespace != "" {
			if msgs := validation.IsDNS1123Label(q.Namespace); len(msgs) > 0 {
				return nil, fmt.Errorf("[%d].namespace %q is not a namespace name: %s", i, q.Namespace, strings.Join(msgs, "; "))
			}
		}
		k := [2]string{strings.ToLower(q.Accelerator), q.Namespace}
		if j, dup := seen[k]; dup {
			return nil, fmt.Errorf("[%d] repeats accelerator %q, namespace %q of [%d]", i, q.Accelerator, q.Namespace, j)
		}
		seen[k] = i
	}
	return qs, nil
}
