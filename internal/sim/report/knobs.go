package report

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/policy"
)

// A policy name may carry knobs that change its configuration: "wva:interval=30s,step=0.5" is
// wva with a 30 s cycle and a scale-down step of half the excess. The knob-policy is reported
// under its full name, so several settings of one policy can run side by side and trace a
// cost/attainment frontier.

// policySpec is a policy name split into its base policy and its knobs, in the given order.
type policySpec struct {
	Base  string
	Knobs [][2]string
}

// parsePolicyName splits "base:key=value,key=value" into its parts. A name without ':' has no
// knobs.
func parsePolicyName(name string) (policySpec, error) {
	base, rest, hasKnobs := strings.Cut(name, ":")
	spec := policySpec{Base: strings.TrimSpace(base)}
	if !hasKnobs {
		return spec, nil
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return spec, fmt.Errorf("policy %q: knob %q must be key=value", name, kv)
		}
		if seen[k] {
			return spec, fmt.Errorf("policy %q: knob %s is set twice", name, k)
		}
		seen[k] = true
		spec.Knobs = append(spec.Knobs, [2]string{k, v})
	}
	return spec, nil
}

// SplitPolicies splits a comma-separated list of policies whose names may carry knobs: an item
// with '=' and no ':' continues the previous policy's knobs, so "wva:interval=30s,step=0.5,hpa"
// is the two policies "wva:interval=30s,step=0.5" and "hpa". Spaces and empty items are dropped.
func SplitPolicies(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "":
		case len(out) > 0 && strings.Contains(item, "=") && !strings.Contains(item, ":") && strings.Contains(out[len(out)-1], ":"):
			out[len(out)-1] += "," + item
		default:
			out = append(out, item)
		}
	}
	return out
}

// knob is one setting of a policy's configuration.
type knob[C any] struct {
	doc   string
	apply func(c *C, value string) error
}

// floatIn returns a knob's apply that parses a number in [lo, hi] and sets it with set.
func floatIn(lo, hi float64, set func(c *policy.WVAConfig, f float64)) func(c *policy.WVAConfig, v string) error {
	return func(c *policy.WVAConfig, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= lo && f <= hi) {
			return fmt.Errorf("must be a number in [%g, %g]", lo, hi)
		}
		set(c, f)
		return nil
	}
}

// wvaKnobs are the knobs of wva and wva-v1: fields of policy.WVAConfig.
var wvaKnobs = map[string]knob[policy.WVAConfig]{
	"analyzer": {"analyzer name (" + strings.Join(analysis.Names(), ", ") + ")", func(c *policy.WVAConfig, v string) error {
		if !slices.Contains(analysis.Names(), v) {
			return fmt.Errorf("must be one of %s", strings.Join(analysis.Names(), ", "))
		}
		c.Analyzer = v
		return nil
	}},
	"slo-safety": {"slo analyzer's planned share of the queueing model's rate per replica (0..1]", func(c *policy.WVAConfig, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0 && f <= 1) {
			return errors.New("must be a number in (0, 1]")
		}
		c.SLOSafety = f
		return nil
	}},
	"slo-headroom-max": {"slo analyzer's cap on the attainment feedback's headroom (1..10)", floatIn(1, 10, func(c *policy.WVAConfig, f float64) { c.SLOHeadroomMax = f })},
	"slo-headroom-min": {"slo analyzer's floor of the attainment feedback's headroom (0.5..1)", floatIn(0.5, 1, func(c *policy.WVAConfig, f float64) { c.SLOHeadroomMin = f })},
	"actuation": {"actuation mode (metrics: the published gauge through the sample HPA, as shipped; direct: the scale subresource)", func(c *policy.WVAConfig, v string) error {
		switch v {
		case ActuationMetrics:
			c.Actuation = wvav1alpha1.ActuationMetrics
		case ActuationDirect:
			c.Actuation = wvav1alpha1.ActuationDirect
		default:
			return fmt.Errorf("must be %s or %s", ActuationMetrics, ActuationDirect)
		}
		return nil
	}},
	"hpa-down-window": {"Metrics mode: the HPA's scale-down stabilization window (duration; the sample's 5m)", nonNegativeDuration(func(c *policy.WVAConfig, d time.Duration) {
		c.HPA.Behavior.ScaleDown.StabilizationWindow = d
	})},
	"hpa-down-rate": {"Metrics mode: the HPA's scale-down limit per 60s, pods (1, the sample's) or percent (25%)", func(c *policy.WVAConfig, v string) error {
		p, err := hpaRate(v)
		if err != nil {
			return err
		}
		c.HPA.Behavior.ScaleDown.Policies = []policy.ScalingPolicy{p}
		return nil
	}},
	"interval":      {"engine cycle period (duration)", positiveDuration(func(c *policy.WVAConfig, d time.Duration) { c.Interval = d })},
	"stabilization": {"scale-down stabilization window (duration, 0 disables)", nonNegativeDuration(func(c *policy.WVAConfig, d time.Duration) { c.ScaleDownStabilization = d })},
	"step":          {"scale-down step, a fraction of the excess replicas (0..1, 0 disables)", fraction(func(c *policy.WVAConfig, f float64) { c.ScaleDownStepFraction = f })},
	"min-replicas": {"every VariantAutoscaling's minReplicas (integer >= 0)", func(c *policy.WVAConfig, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("must be a non-negative integer")
		}
		c.MinReplicas = n
		return nil
	}},
	"kv-threshold":           {"saturation kvCacheThreshold (0..1)", fraction(func(c *policy.WVAConfig, f float64) { c.Saturation.KvCacheThreshold = f })},
	"kv-spare":               {"saturation kvSpareTrigger (0..1)", fraction(func(c *policy.WVAConfig, f float64) { c.Saturation.KvSpareTrigger = f })},
	"queue-threshold":        {"saturation queueLengthThreshold (>= 0)", nonNegative(func(c *policy.WVAConfig, f float64) { c.Saturation.QueueLengthThreshold = f })},
	"queue-spare":            {"saturation queueSpareTrigger (>= 0)", nonNegative(func(c *policy.WVAConfig, f float64) { c.Saturation.QueueSpareTrigger = f })},
	"scale-down-utilization": {"capacity analyzer's scaleDownUtilization (0..1, 0 the default)", fraction(func(c *policy.WVAConfig, f float64) { c.Saturation.ScaleDownUtilization = f })},
	"itl-target": {"itlTargetMs as a duration (default: the SLO's ITL)", positiveDuration(func(c *policy.WVAConfig, d time.Duration) {
		c.Saturation.ITLTargetMs = float64(d) / float64(time.Millisecond)
	})},
}

// hpaKnobs are the knobs of hpa: fields of policy.HPAConfig.
var hpaKnobs = map[string]knob[policy.HPAConfig]{
	"kv-target": {"target mean KV-cache usage per pod (0..1)", fraction(func(c *policy.HPAConfig, f float64) {
		c.Metrics = []policy.MetricTarget{{Metric: policy.PodMetricKVCacheUsage, AverageValue: f}}
	})},
	"sync":      {"sync period (duration)", positiveDuration(func(c *policy.HPAConfig, d time.Duration) { c.SyncPeriod = d })},
	"tolerance": {"tolerance (0..1)", fraction(func(c *policy.HPAConfig, f float64) { c.Tolerance = f })},
	"min-replicas": {"minimum replicas per variant (integer >= 0)", func(c *policy.HPAConfig, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("must be a non-negative integer")
		}
		c.MinReplicas = n
		return nil
	}},
}

// applyKnobs applies spec's knobs to c from table.
func applyKnobs[C any](name string, spec policySpec, table map[string]knob[C], c *C) error {
	for _, kv := range spec.Knobs {
		k, ok := table[kv[0]]
		if !ok {
			return fmt.Errorf("policy %q: unknown knob %q for %s: valid knobs are %s", name, kv[0], spec.Base, knobList(table))
		}
		if err := k.apply(c, kv[1]); err != nil {
			return fmt.Errorf("policy %q: knob %s=%s (%s): %w", name, kv[0], kv[1], k.doc, err)
		}
	}
	return nil
}

// knobList names the keys of table, sorted.
func knobList[C any](table map[string]knob[C]) string {
	keys := make([]string, 0, len(table))
	for k := range table {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

// KnobHelp describes the knobs each policy takes, one aligned line per knob, for help texts.
func KnobHelp() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, k := range strings.Split(knobList(wvaKnobs), ", ") {
		fmt.Fprintf(tw, "  wva:%s=…\t%s\n", k, wvaKnobs[k].doc)
	}
	for _, k := range strings.Split(knobList(hpaKnobs), ", ") {
		fmt.Fprintf(tw, "  hpa:%s=…\t%s\n", k, hpaKnobs[k].doc)
	}
	tw.Flush()
	return b.String()
}

// wvaConfig returns the configuration of the named wva or wva-v1 policy: the base policy's
// defaults, the SLO's ITL as itlTargetMs, wva's actuation mode (a Config.WVAActuation value),
// then the knobs.
func wvaConfig(name string, spec policySpec, itlTargetMs float64, actuation string) (policy.WVAConfig, error) {
	c := policy.DefaultWVAConfig()
	if spec.Base == policy.NameWVAV1 {
		c = policy.ReferenceWVAConfig()
	} else {
		m, err := actuationMode(actuation)
		if err != nil {
			return c, err
		}
		c.Actuation = m
	}
	c.Name = name
	// Operators state their latency target in the saturation ConfigMap (itlTargetMs); the
	// reference analyzer ignores it.
	c.Saturation.ITLTargetMs = itlTargetMs
	if err := applyKnobs(name, spec, wvaKnobs, &c); err != nil {
		return c, err
	}
	if err := c.Saturation.Validate(); err != nil {
		return c, fmt.Errorf("policy %q: %w", name, err)
	}
	return c, nil
}

// hpaConfig returns the configuration of the named hpa policy: DefaultHPAConfig, then the knobs.
func hpaConfig(name string, spec policySpec) (policy.HPAConfig, error) {
	c := policy.DefaultHPAConfig()
	if err := applyKnobs(name, spec, hpaKnobs, &c); err != nil {
		return c, err
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("policy %q: %w", name, err)
	}
	return c, nil
}

// checkPolicyName reports what is wrong with a policy name, knobs included.
func checkPolicyName(name string) error {
	spec, err := parsePolicyName(name)
	if err != nil {
		return err
	}
	if !slices.Contains(AllPolicies(), spec.Base) {
		return fmt.Errorf("unknown policy %q: valid policies are %s (wva, wva-v1 and hpa take knobs, e.g. wva:interval=30s)", name, strings.Join(AllPolicies(), ", "))
	}
	if len(spec.Knobs) == 0 {
		return nil
	}
	switch spec.Base {
	case policy.NameWVA, policy.NameWVAV1:
		_, err = wvaConfig(name, spec, 0, "")
	case policy.NameHPA:
		_, err = hpaConfig(name, spec)
	default:
		err = fmt.Errorf("policy %q: %s takes no knobs (wva, wva-v1 and hpa do)", name, spec.Base)
	}
	return err
}

// hpaRate parses an HPA scaling limit per 60 s: "N" pods or "N%" of the current replicas.
func hpaRate(v string) (policy.ScalingPolicy, error) {
	typ, num := policy.PodsPolicy, v
	if n, ok := strings.CutSuffix(v, "%"); ok {
		typ, num = policy.PercentPolicy, n
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > 1000 {
		return policy.ScalingPolicy{}, errors.New("must be a whole number of pods (1..1000) or a percentage such as 25%")
	}
	return policy.ScalingPolicy{Type: typ, Value: n, Period: time.Minute}, nil
}

func positiveDuration[C any](set func(*C, time.Duration)) func(*C, string) error {
	return func(c *C, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("must be a positive duration such as 30s")
		}
		set(c, d)
		return nil
	}
}

func nonNegativeDuration[C any](set func(*C, time.Duration)) func(*C, string) error {
	return func(c *C, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("must be a non-negative duration such as 3m")
		}
		set(c, d)
		return nil
	}
}

func fraction[C any](set func(*C, float64)) func(*C, string) error {
	return func(c *C, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= 0 && f <= 1) {
			return fmt.Errorf("must be a number from 0 to 1")
		}
		set(c, f)
		return nil
	}
}

func nonNegative[C any](set func(*C, float64)) func(*C, string) error {
	return func(c *C, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= 0) || math.IsInf(f, 0) {
			return fmt.Errorf("must be a non-negative number")
		}
		set(c, f)
		return nil
	}
}
