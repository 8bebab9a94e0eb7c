package explain

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

func TestDecodeErrors(t *testing.T) {
	tests := map[string]struct {
		in      string
		wantErr string
	}{
		"unknown top-level field": {`{"models": [], "modle": 1}`, `unknown field "modle"`},
		"unknown pod field":       {`{"models": [{"modelID": "m", "variants": [{"name": "v", "pods": [{"kvCache": 0.5}]}]}]}`, `unknown field "kvCache"`},
		"trailing data":           {`{"models": []} {}`, "unexpected data after the JSON object"},
		"unknown analyzer":        {`{"analyzer": "v2", "models": []}`, `analyzer: unknown analyzer "v2"`},
		"invalid override": {`{"saturationConfig": {"default": {"kvCacheThreshold": 0.8, "kvSpareTrigger": 0.1}, "granite": {"model_id": "g", "kvCacheThreshold": 0.5, "kvSpareTrigger": 0.6}}, "models": []}`,
			`saturationConfig["granite"]: kvCacheThreshold (0.5) must be >= kvSpareTrigger (0.6)`},
		"invalid scaleDownUtilization": {`{"saturationConfig": {"default": {"kvCacheThreshold": 0.8, "kvSpareTrigger": 0.1, "scaleDownUtilization": 0.9}}, "models": []}`,
			`saturationConfig["default"]: scaleDownUtilization (0.9) must be below`},
		"empty model ID":      {`{"models": [{"namespace": "ns"}]}`, "models[0].modelID must not be empty"},
		"duplicate model":     {`{"models": [{"modelID": "m", "namespace": "ns"}, {"modelID": "m", "namespace": "ns"}]}`, `models[1]: model "m" in namespace "ns" is already models[0]`},
		"empty variant name":  {`{"models": [{"modelID": "m", "variants": [{"cost": 1}]}]}`, "models[0].variants[0].name must not be empty"},
		"duplicate variant":   {`{"models": [{"modelID": "m", "variants": [{"name": "v"}, {"name": "v"}]}]}`, `models[0].variants[1]: variant "v" is already models[0].variants[0]`},
		"negative replicas":   {`{"models": [{"modelID": "m", "variants": [{"name": "v", "currentReplicas": -1}]}]}`, "models[0].variants[0].currentReplicas must be >= 0, got -1"},
		"min above max":       {`{"models": [{"modelID": "m", "variants": [{"name": "v", "minReplicas": 3, "maxReplicas": 2}]}]}`, "minReplicas 3 is above maxReplicas 2"},
		"kv out of range":     {`{"models": [{"modelID": "m", "variants": [{"name": "v", "pods": [{"kvCacheUsage": 1.2}]}]}]}`, "models[0].variants[0].pods[0].kvCacheUsage must be between 0 and 1, got 1.2"},
		"negative queue":      {`{"models": [{"modelID": "m", "variants": [{"name": "v", "pods": [{"queueLength": -2}]}]}]}`, "pods[0].queueLength must be >= 0"},
		"fractional replicas": {`{"models": [{"modelID": "m", "variants": [{"name": "v", "currentReplicas": 1.5}]}]}`, "decoding snapshot"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Decode() error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestConfigFor(t *testing.T) {
	def := interfaces.SaturationScalingConfig{KvCacheThreshold: 0.7, QueueLengthThreshold: 10, KvSpareTrigger: 0.1, QueueSpareTrigger: 2}
	override := interfaces.SaturationScalingConfig{ModelID: "granite", Namespace: "prod", KvCacheThreshold: 0.85, QueueLengthThreshold: 5, KvSpareTrigger: 0.15, QueueSpareTrigger: 3}
	tests := map[string]struct {
		configs   map[string]interfaces.SaturationScalingConfig
		model, ns string
		want      interfaces.SaturationScalingConfig
	}{
		"override wins":                    {configs: map[string]interfaces.SaturationScalingConfig{"default": def, "g": override}, model: "granite", ns: "prod", want: override},
		"other namespace uses the default": {configs: map[string]interfaces.SaturationScalingConfig{"default": def, "g": override}, model: "granite", ns: "dev", want: def},
		"no default: built-in defaults":    {configs: map[string]interfaces.SaturationScalingConfig{"g": override}, model: "llama", ns: "prod", want: interfaces.DefaultSaturationScalingConfig()},
		"no config at all":                 {model: "llama", want: interfaces.DefaultSaturationScalingConfig()},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Snapshot{SaturationConfig: tc.configs}.ConfigFor(tc.model, tc.ns)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ConfigFor() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExplainUsesPerModelConfig(t *testing.T) {
	// The same readings scale up under the default (spare KV 0.05 < 0.10) but not under an
	// override with kvCacheThreshold 0.95 (spare 0.20).
	snap, err := Decode(strings.NewReader(`{"analyzer": "v1",
	 "saturationConfig": {"relaxed": {"model_id": "b", "kvCacheThreshold": 0.95, "queueLengthThreshold": 5, "kvSpareTrigger": 0.1, "queueSpareTrigger": 3}},
	 "models": [
	   {"modelID": "a", "namespace": "ns", "variants": [{"name": "a-v", "cost": 1, "currentReplicas": 1, "pods": [{"name": "p", "kvCacheUsage": 0.75, "queueLength": 1}]}]},
	   {"modelID": "b", "namespace": "ns", "variants": [{"name": "b-v", "cost": 1, "currentReplicas": 1, "pods": [{"name": "p", "kvCacheUsage": 0.75, "queueLength": 1}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	rep, err := Explain(snap, now)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]interfaces.Action{}
	for _, d := range rep.Decisions {
		got[d.ModelID] = d.Action
	}
	want := map[string]interfaces.Action{"a": interfaces.ActionScaleUp, "b": interfaces.ActionNoChange}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("actions mismatch (-want +got):\n%s", diff)
	}
	if rep.Analyzer != "v1" || !rep.AnalyzedAt.Equal(now) {
		t.Errorf("analyzer, time = %q, %v", rep.Analyzer, rep.AnalyzedAt)
	}
}

func TestExplainDefaultsToCapacity(t *testing.T) {
	rep, err := Explain(Snapshot{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Analyzer != "capacity" || rep.Decisions == nil || len(rep.Decisions) != 0 {
		t.Errorf("Explain(empty) = %+v, want the capacity analyzer and no decisions", rep)
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"decisions": []`) {
		t.Errorf("JSON = %s, want an empty decisions list", buf.String())
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteTextReportsWriteErrors(t *testing.T) {
	if err := WriteText(failingWriter{}, Report{Analyzer: "v1"}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("WriteText() error = %v, want disk full", err)
	}
}

func TestWriteTextShowsTheSLOBreakdown(t *testing.T) {
	rep := Report{Analyzer: "slo", Models: []ModelReport{{ModelID: "m", Namespace: "ns", Summary: "scale-up",
		Breakdown: &analysis.SLOBreakdown{ArrivalRate: 9.5, ArrivalSource: "vllm", Horizon: 2 * time.Minute, Level: 9, Expected: 10, Margin: 2,
			Planned: 12, Headroom: 1.1, Feedback: "headroom raised", Needed: 13.2, CurrentCapacity: 12, ChosenCapacity: 24, ChosenCost: 40,
			Feasible: true, Verdict: "scale-up: the fleet sustains 12 req/s, below the 13.2 needed",
			Variants: []analysis.SLOVariantBreakdown{{Name: "m-l4", Cost: 20, CapacityPerReplica: 12, Bound: "bound by ITL", Current: 1, Target: 2}}}}}}
	var buf bytes.Buffer
	if err := WriteText(&buf, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"demand:    arrival 9.5 req/s (vllm)",
		"forecast:  over 2m0s: level 9, expected 10, burst margin 2 -> planned 12 req/s",
		"feedback:  headroom x1.1 (headroom raised)",
		"needed:    12 x 1.1 = 13.2 req/s; the current fleet sustains 12 req/s",
		"m-l4     20    12                 bound by ITL  perfParms  1        2",
		"result:    24 req/s at cost 40: scale-up: the fleet sustains 12 req/s, below the 13.2 needed",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, buf.String())
		}
	}
}
