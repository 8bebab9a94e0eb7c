package explain

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

var update = flag.Bool("update", false, "rewrite docs/snapshot.schema.json")

// repoSchema is the committed schema, relative to this package.
var repoSchema = filepath.Join("..", "..", "..", schemaPath)

// TestSchemaIsCurrent fails when docs/snapshot.schema.json differs from the schema generated
// from the Go types; -update rewrites it.
func TestSchemaIsCurrent(t *testing.T) {
	got, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(repoSchema, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(repoSchema)
	if err != nil {
		t.Fatalf("reading %s (run go test -update to create it): %v", schemaPath, err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s is out of date (go test ./internal/analysis/explain -update) (-committed +generated):\n%s", schemaPath, diff)
	}
}

// compiledSchema compiles the committed schema.
func compiledSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(repoSchema)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatalf("compiling %s: %v", schemaPath, err)
	}
	return sch
}

func validate(t *testing.T, sch *jsonschema.Schema, data []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(inst)
}

// TestSnapshotsMatchSchema validates every snapshot in cmd/wva/testdata and a full encoded
// snapshot (every member set, as `wva explain --save` writes it) against the schema, and checks
// that the schema rejects what Decode rejects for its shape.
func TestSnapshotsMatchSchema(t *testing.T) {
	sch := compiledSchema(t)
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "cmd", "wva", "testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".golden.json") {
			continue
		}
		n++
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(bytes.NewReader(data)); err != nil {
			t.Errorf("%s: Decode: %v", f, err)
		}
		if err := validate(t, sch, data); err != nil {
			t.Errorf("%s does not match the schema: %v", f, err)
		}
	}
	if n == 0 {
		t.Fatal("no testdata snapshots")
	}

	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	full := Snapshot{CapturedAt: &at, CapturedFrom: "VariantAutoscaling ns/v", Analyzer: "slo",
		SaturationConfig: map[string]interfaces.SaturationScalingConfig{"default": interfaces.DefaultSaturationScalingConfig()},
		Models: []analysis.ModelState{{ModelID: "m", Namespace: "ns",
			SLO: interfaces.SLOTargets{TTFT: time.Second, ITL: 50 * time.Millisecond, Attainment: 0.99, Source: "class"},
			Metrics: &analysis.ModelMetrics{Window: time.Minute, ArrivalRate: 3, ArrivalSource: analysis.ArrivalFromVLLM,
				TTFT:           analysis.Histogram{Buckets: []analysis.Bucket{{UpperBound: 0.5, Count: 1}, {UpperBound: inf(), Count: 2}}},
				TTFTAttainment: analysis.LatencySLI{Target: time.Second, Known: true, Attainment: 0.9, P99: time.Second, Requests: 2},
				Missing:        []string{"itl: none"}},
			Variants: []analysis.VariantState{{Name: "v", Accelerator: "L4", Cost: 5, CurrentReplicas: 2, MinReplicas: new(int), MaxReplicas: 4,
				DecodeAlphaMs: 5, DecodeBetaMs: 0.1, MaxBatch: 64, StartupDelay: time.Minute,
				Pods: []analysis.PodMetrics{{Name: "p", KvCacheUsage: 0.5, QueueLength: 1, RunningRequests: 3}}}}}}}
	var buf bytes.Buffer
	if err := Encode(&buf, full); err != nil {
		t.Fatal(err)
	}
	if err := validate(t, sch, buf.Bytes()); err != nil {
		t.Errorf("an encoded snapshot does not match the schema: %v\n%s", err, buf.String())
	}
	back, err := Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("Decode(Encode(s)): %v", err)
	}
	if diff := cmp.Diff(full, back); diff != "" {
		t.Errorf("Decode(Encode(s)) (-want +got):\n%s", diff)
	}

	for name, bad := range map[string]string{
		"unknown field":       `{"models": [], "modle": 1}`,
		"fractional replicas": `{"models": [{"modelID": "m", "variants": [{"name": "v", "currentReplicas": 1.5}]}]}`,
		"string cost":         `{"models": [{"modelID": "m", "variants": [{"name": "v", "cost": "5"}]}]}`,
		"bad bucket bound":    `{"models": [{"modelID": "m", "metrics": {"ttft": {"buckets": [{"le": "high", "count": 1}]}}}]}`,
		"bad time":            `{"capturedAt": "yesterday", "models": []}`,
	} {
		if validate(t, sch, []byte(bad)) == nil {
			t.Errorf("%s: the schema accepts %s", name, bad)
		}
		if _, err := Decode(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: Decode accepts %s", name, bad)
		}
	}
}

func inf() float64 { return math.Inf(1) }
