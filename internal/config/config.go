package config

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// Keys of the main ConfigMap read by the controller.
const (
	// OptimizationIntervalKey holds the engine period as a Go duration (e.g. "30s").
	OptimizationIntervalKey = "GLOBAL_OPT_INTERVAL"
)

// Default names of the ConfigMaps, in the controller's namespace.
const (
	DefaultNamespace               = "workload-variant-autoscaler-system"
	DefaultMainConfigMapName       = "workload-variant-autoscaler-variantautoscaling-config"
	DefaultSaturationConfigMapName = "saturation-scaling-config"
	// DefaultServiceClassesConfigMapName is the service-class ConfigMap (SLO targets per model).
	DefaultServiceClassesConfigMapName = "service-classes-config"
)

// DefaultOptimizationInterval is the engine period when the main ConfigMap does not set one.
const DefaultOptimizationInterval = 3 * time.Second

// MinOptimizationInterval and MaxOptimizationInterval bound the engine period: below a second
// the engine would query Prometheus faster than it scrapes; above ten minutes a fleet would go
// unattended longer than any load change an operator would tolerate, and a typo such as
// "9223372036854775807ns" would stop the engine for centuries.
const (
	MinOptimizationInterval = time.Second
	MaxOptimizationInterval = 10 * time.Minute
)

// ParseOptimizationInterval parses a GLOBAL_OPT_INTERVAL value; it must lie within
// [MinOptimizationInterval, MaxOptimizationInterval].
func ParseOptimizationInterval(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a duration such as \"30s\": %w", OptimizationIntervalKey, s, err)
	}
	if d < MinOptimizationInterval {
		return 0, fmt.Errorf("%s %q is below the minimum of %s", OptimizationIntervalKey, s, MinOptimizationInterval)
	}
	if d > MaxOptimizationInterval {
		return 0, fmt.Errorf("%s %q is above the maximum of %s", OptimizationIntervalKey, s, MaxOptimizationInterval)
	}
	return d, nil
}

// IntervalOrDefault parses s, returning DefaultOptimizationInterval when s is empty or invalid
// (including out of bounds).
func IntervalOrDefault(s string) time.Duration {
	if s == "" {
		return DefaultOptimizationInterval
	}
	d, err := ParseOptimizationInterval(s)
	if err != nil {
		return DefaultOptimizationInterval
	}
	return d
}

// KeyError is a saturation ConfigMap entry that was rejected.
type KeyError struct {
	Key string
	Err error
}

func (e *KeyError) Error() string { return fmt.Sprintf("entry %q: %v", e.Key, e.Err) }

func (e *KeyError) Unwrap() error { return e.Err }

// ParseSaturationConfig parses every entry of the saturation ConfigMap. Each value is a YAML
// document with the fields of interfaces.SaturationScalingConfig; unknown fields are errors.
//
// The "default" entry is decoded over interfaces.DefaultSaturationScalingConfig, so fields it
// omits keep the documented defaults; every other entry is an override for one model (model_id
// is required) decoded over the default entry, so it states only what differs.
//
// A rejected entry is reported in the returned errors and, when previous holds an entry of that
// key, the previous entry is kept: a typo never drops a model back to other thresholds.
func ParseSaturationConfig(data map[string]string, previous map[string]interfaces.SaturationScalingConfig) (map[string]interfaces.SaturationScalingConfig, []*KeyError) {
	out := make(map[string]interfaces.SaturationScalingConfig, len(data))
	var errs []*KeyError
	reject := func(key string, err error) {
		errs = append(errs, &KeyError{Key: key, Err: err})
		if prev, ok := previous[key]; ok {
			out[key] = prev
		}
	}

	base := interfaces.DefaultSaturationScalingConfig()
	if raw, ok := data[interfaces.DefaultSaturationConfigKey]; ok {
		def, err := decodeEntry(raw, base)
		switch {
		case err != nil:
			reject(interfaces.DefaultSaturationConfigKey, err)
		case def.ModelID != "" || def.Namespace != "":
			reject(interfaces.DefaultSaturationConfigKey, errors.New("the default entry must not set model_id or namespace"))
		default:
			out[interfaces.DefaultSaturationConfigKey] = def
		}
		if d, ok := out[interfaces.DefaultSaturationConfigKey]; ok {
			base = d
		}
	}

	seen := map[[2]string]string{}
	for _, key := range slices.Sorted(maps.Keys(data)) {
		if key == interfaces.DefaultSaturationConfigKey {
			continue
		}
		c, err := decodeEntry(data[key], base)
		if err == nil && c.ModelID == "" {
			err = errors.New("an override entry needs model_id")
		}
		if err == nil {
			id := [2]string{c.ModelID, c.Namespace}
			if other, dup := seen[id]; dup {
				err = fmt.Errorf("model_id %q and namespace %q are already configured by entry %q", c.ModelID, c.Namespace, other)
			} else {
				seen[id] = key
			}
		}
		if err != nil {
			reject(key, err)
			continue
		}
		out[key] = c
	}
	return out, errs
}

func decodeEntry(raw string, base interfaces.SaturationScalingConfig) (interfaces.SaturationScalingConfig, error) {
	c := base
	if err := yaml.UnmarshalStrict([]byte(raw), &c); err != nil {
		return interfaces.SaturationScalingConfig{}, fmt.Errorf("decoding YAML: %w", err)
	}
	if err := c.Validate(); err != nil {
		return interfaces.SaturationScalingConfig{}, err
	}
	return c, nil
}

// ParseServiceClasses parses every entry of the service-class ConfigMap. Each value is a YAML
// document with the fields of interfaces.ServiceClass (name, priority, data: a list of model,
// optional namespace, slo-ttft and slo-tpot in milliseconds, optional slo-attainment); unknown
// fields are errors. Two entries must not name the same class.
//
// A rejected entry is reported in the returned errors and, when previous holds an entry of that
// key, the previous entry is kept: a typo never drops a model's targets.
func ParseServiceClasses(data map[string]string, previous map[string]interfaces.ServiceClass) (map[string]interfaces.ServiceClass, []*KeyError) {
	out := make(map[string]interfaces.ServiceClass, len(data))
	var errs []*KeyError
	names := map[string]string{}
	for _, key := range slices.Sorted(maps.Keys(data)) {
		var c interfaces.ServiceClass
		err := yaml.UnmarshalStrict([]byte(data[key]), &c)
		if err != nil {
			err = fmt.Errorf("decoding YAML: %w", err)
		} else if err = c.Validate(); err == nil {
			if other, dup := names[c.Name]; dup {
				err = fmt.Errorf("class %q is already defined by entry %q", c.Name, other)
			}
		}
		if err != nil {
			errs = append(errs, &KeyError{Key: key, Err: err})
			if prev, ok := previous[key]; ok {
				out[key] = prev
				names[prev.Name] = key
			}
			continue
		}
		names[c.Name] = key
		out[key] = c
	}
	return out, errs
}
