package explain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
)

// SchemaID is the $id of the snapshot format's JSON schema, docs/snapshot.schema.json.
const SchemaID = "https://llm-d.ai/schemas/wva/snapshot.schema.json"

// fieldNotes documents members whose type alone does not say what they hold, by Go type name
// and JSON name.
var fieldNotes = map[string]string{
	"Snapshot.capturedAt":          "When `wva explain va/NAME` captured the snapshot; a captured snapshot is analysed at this time.",
	"Snapshot.capturedFrom":        "What was captured: VariantAutoscaling, model and Prometheus URL.",
	"Snapshot.analyzer":            "The analyzer to run: capacity (default), slo or v1.",
	"Snapshot.saturationConfig":    "The saturation ConfigMap's entries by key (\"default\" and per-model overrides).",
	"Snapshot.models":              "One entry per model and namespace.",
	"VariantState.minReplicas":     "Lower replica bound; absent means 1.",
	"VariantState.maxReplicas":     "Upper replica bound; 0 or absent means the default bound.",
	"VariantState.startupDelay":    "Start-up delay of a new replica in nanoseconds; 0 means the analyzer's default.",
	"VariantState.readyReplicas":   "Ready replicas; 0 means the number of pods listed.",
	"VariantState.desiredReplicas": "The target published in the previous cycle; 0 when none was.",
	"ModelMetrics.window":          "The range the rates were taken over, in nanoseconds.",
	"LatencySLI.target":            "The latency target in nanoseconds; 0 when none is set.",
	"LatencySLI.p99":               "The 99th percentile latency in nanoseconds.",
	"SLOTargets.ttft":              "Time-to-first-token target in nanoseconds.",
	"SLOTargets.itl":               "Inter-token latency target in nanoseconds.",
	"Bucket.le":                    "The bucket's upper bound in seconds, or \"+Inf\" for the last bucket.",
}

// Schema returns the JSON schema (draft 2020-12) of the snapshot format, generated from the
// Go types Decode reads, as indented JSON. docs/snapshot.schema.json is its output; a test
// keeps the two equal.
func Schema() ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}}
	root := g.object(reflect.TypeFor[Snapshot]())
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = SchemaID
	root["title"] = "wva explain snapshot"
	root["description"] = "The input of `wva explain` and the output of `wva explain --save`: the analyzer to run, " +
		"the saturation configuration and the state of each model's variants, as the engine hands them to the analyzer. " +
		"Durations are integers in nanoseconds; unknown members are rejected."
	root["$defs"] = g.defs
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("encoding the schema: %w", err)
	}
	return buf.Bytes(), nil
}

type schemaGen struct {
	defs map[string]any
}

// of returns the schema of values of t.
func (g *schemaGen) of(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		return map[string]any{"type": "integer", "description": "A duration in nanoseconds."}
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": []string{"array", "null"}, "items": g.of(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": []string{"object", "null"}, "additionalProperties": g.of(t.Elem())}
	case reflect.Struct:
		name := t.Name()
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = nil // breaks cycles
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/$defs/" + name}
	default:
		return map[string]any{}
	}
}

// object returns the schema of struct t: its JSON members, no others.
func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	fields := jsonFields(t)
	names := sortedKeys(fields)
	for _, name := range names {
		var s map[string]any
		if t == bucketType && name == "le" {
			s = map[string]any{"oneOf": []any{map[string]any{"type": "number"}, map[string]any{"const": "+Inf"}}}
		} else {
			s = g.of(fields[name])
		}
		if note, ok := fieldNotes[t.Name()+"."+name]; ok {
			if _, isRef := s["$ref"]; isRef {
				s = map[string]any{"allOf": []any{s}, "description": note}
			} else {
				s["description"] = note
			}
		}
		props[name] = s
	}
	return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
}

// schemaPath is where the schema is committed, from the repository root.
const schemaPath = "docs/snapshot.schema.json"
