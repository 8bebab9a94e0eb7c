package explain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// Snapshot is the input of `wva explain`: the analyzer to run, the saturation configuration
// entries and the state of each model.
type Snapshot struct {
	// CapturedAt is when `wva explain va/NAME` captured the snapshot from a cluster; a captured
	// snapshot is analysed at that time. Absent in hand-written snapshots.
	CapturedAt *time.Time `json:"capturedAt,omitempty"`
	// CapturedFrom says what was captured (VariantAutoscaling, model, Prometheus URL).
	CapturedFrom string `json:"capturedFrom,omitempty"`
	// Analyzer names the analyzer; empty selects analysis.DefaultAnalyzer.
	Analyzer string `json:"analyzer,omitempty"`
	// SaturationConfig holds the saturation ConfigMap entries by key ("default" and overrides).
	// Without a matching entry a model uses interfaces.DefaultSaturationScalingConfig.
	SaturationConfig map[string]interfaces.SaturationScalingConfig `json:"saturationConfig,omitempty"`
	// Models holds one entry per model and namespace.
	Models []analysis.ModelState `json:"models"`
}

// MaxSnapshotBytes bounds the size of a snapshot Decode reads.
const MaxSnapshotBytes = 64 << 20

// Decode reads one JSON snapshot from r, rejecting unknown fields and trailing data, and
// validates it. A malformed document is reported with the line and column of the problem and
// the JSON path of the field, never with Go type names (see decodeError).
func Decode(r io.Reader) (Snapshot, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSnapshotBytes+1))
	if err != nil {
		return Snapshot{}, fmt.Errorf("reading snapshot: %w", err)
	}
	if len(data) > MaxSnapshotBytes {
		return Snapshot{}, fmt.Errorf("decoding snapshot: larger than %d MiB", MaxSnapshotBytes>>20)
	}
	var s Snapshot
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Snapshot{}, fmt.Errorf("decoding snapshot: %w", decodeError(data, err))
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		for end < int64(len(data)) && bytes.IndexByte([]byte(" \t\r\n"), data[end]) >= 0 {
			end++
		}
		line, col := lineCol(data, end)
		return Snapshot{}, fmt.Errorf("decoding snapshot: line %d, column %d: unexpected data after the JSON object", line, col)
	}
	if err := s.Validate(); err != nil {
		return Snapshot{}, err
	}
	return s, nil
}

// Encode writes s as indented JSON in the snapshot format.
func Encode(w io.Writer, s Snapshot) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("encoding snapshot: %w", err)
	}
	return nil
}

// Validate checks the analyzer name, every saturation config entry and the model states, naming
// the offending key or JSON path.
func (s Snapshot) Validate() error {
	if _, err := analysis.New(s.Analyzer); err != nil {
		return fmt.Errorf("analyzer: %w", err)
	}
	keys := make([]string, 0, len(s.SaturationConfig))
	for k := range s.SaturationConfig {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := s.SaturationConfig[k].Validate(); err != nil {
			return fmt.Errorf("saturationConfig[%q]: %w", k, err)
		}
	}

	models := make(map[[2]string]int, len(s.Models))
	for i, m := range s.Models {
		path := fmt.Sprintf("models[%d]", i)
		if m.ModelID == "" {
			return fmt.Errorf("%s.modelID must not be empty", path)
		}
		key := [2]string{m.ModelID, m.Namespace}
		if j, dup := models[key]; dup {
			return fmt.Errorf("%s: model %q in namespace %q is already models[%d]", path, m.ModelID, m.Namespace, j)
		}
		models[key] = i
		if err := validateVariants(path, m.Variants); err != nil {
			return err
		}
	}
	return nil
}

// validateVariants checks the variants of the model at path.
func validateVariants(path string, vs []analysis.VariantState) error {
	names := make(map[string]int, len(vs))
	for i, v := range vs {
		vp := fmt.Sprintf("%s.variants[%d]", path, i)
		if v.Name == "" {
			return fmt.Errorf("%s.name must not be empty", vp)
		}
		if j, dup := names[v.Name]; dup {
			return fmt.Errorf("%s: variant %q is already %s.variants[%d]", vp, v.Name, path, j)
		}
		names[v.Name] = i
		minReplicas := 0
		if v.MinReplicas != nil {
			minReplicas = *v.MinReplicas
		}
		for _, f := range []struct {
			name  string
			value float64
		}{
			{"cost", v.Cost},
			{"currentReplicas", float64(v.CurrentReplicas)},
			{"readyReplicas", float64(v.ReadyReplicas)},
			{"desiredReplicas", float64(v.DesiredReplicas)},
			{"minReplicas", float64(minReplicas)},
			{"maxReplicas", float64(v.MaxReplicas)},
			{"kvCacheTokens", v.KvCacheTokens},
		} {
			if f.value < 0 {
				return fmt.Errorf("%s.%s must be >= 0, got %g", vp, f.name, f.value)
			}
		}
		if v.MaxReplicas > 0 && minReplicas > v.MaxReplicas {
			return fmt.Errorf("%s: minReplicas %d is above maxReplicas %d", vp, minReplicas, v.MaxReplicas)
		}
		for k, p := range v.Pods {
			pp := fmt.Sprintf("%s.pods[%d]", vp, k)
			switch {
			case p.KvCacheUsage < 0 || p.KvCacheUsage > 1:
				return fmt.Errorf("%s.kvCacheUsage must be between 0 and 1, got %g", pp, p.KvCacheUsage)
			case p.QueueLength < 0:
				return fmt.Errorf("%s.queueLength must be >= 0, got %g", pp, p.QueueLength)
			case p.RunningRequests < 0:
				return fmt.Errorf("%s.runningRequests must be >= 0, got %g", pp, p.RunningRequests)
			}
		}
	}
	return nil
}

// ConfigFor returns the saturation config that applies to a model: the matching override, else
// the "default" entry, else interfaces.DefaultSaturationScalingConfig.
func (s Snapshot) ConfigFor(modelID, namespace string) interfaces.SaturationScalingConfig {
	if cfg, ok := interfaces.ConfigFor(s.SaturationConfig, modelID, namespace); ok {
		return cfg
	}
	return interfaces.DefaultSaturationScalingConfig()
}
