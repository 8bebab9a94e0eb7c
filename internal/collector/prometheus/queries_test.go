package promsource

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// hostileModels are model names crafted to break out of a label matcher: a quote ending the
// string literal, an alternation, a regex wildcard, a backslash and a newline.
var hostileModels = []string{
	`evil"} or vector(1) or {x="`,
	`a|b`,
	`.*`,
	`back\slash\`,
	"new\nline",
}

func target(ns, name, model string) collector.Target {
	return collector.Target{VariantAutoscaling: types.NamespacedName{Namespace: ns, Name: name}, ModelID: model, Deployment: name}
}

func TestBuildQueriesGolden(t *testing.T) {
	cases := map[string]struct {
		targets []collector.Target
		window  time.Duration
	}{
		"single": {
			targets: []collector.Target{target("llm", "llama-8b", "meta-llama/Llama-3.1-8B-Instruct")},
			window:  time.Minute,
		},
		"many": {
			targets: []collector.Target{
				target("team-b", "granite", "ibm/granite-3.1-8b"),
				target("team-a", "llama-h100", "meta-llama/Llama-3.1-8B-Instruct"),
				target("team-a", "llama-l4", "meta-llama/Llama-3.1-8B-Instruct"),
			},
			window: 90 * time.Second,
		},
		"hostile": {
			targets: func() []collector.Target {
				var ts []collector.Target
				for i, m := range hostileModels {
					ts = append(ts, target("ns.with.dots", "d"+strconv.Itoa(i), m))
				}
				return ts
			}(),
			window: time.Minute,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var b strings.Builder
			queries := BuildQueries(SelectorFor(tc.targets), tc.window)
			queries = append(queries, BuildModelQueries(SelectorFor(tc.targets), tc.window, DefaultGatewayMetric)...)
			for _, q := range queries {
				b.WriteString("# " + q.Name + "\n" + q.PromQL + "\n\n")
				if strings.Contains(q.PromQL, "\n") {
					t.Errorf("query %s contains a raw newline: %q", q.Name, q.PromQL)
				}
			}
			path := filepath.Join("testdata", "queries_"+name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("queries differ from %s (-want +got), run go test -update if intended:\n%s", path, diff)
			}
		})
	}
}

// TestQueriesDoNotGrow checks the number and the shape of the queries are independent of the
// number of targets.
func TestQueriesDoNotGrow(t *testing.T) {
	one := BuildQueries(SelectorFor([]collector.Target{target("ns", "d", "m")}), time.Minute)
	one = append(one, BuildModelQueries(SelectorFor([]collector.Target{target("ns", "d", "m")}), time.Minute, DefaultGatewayMetric)...)
	var many []collector.Target
	for i := range 500 {
		many = append(many, target("ns"+strconv.Itoa(i%7), "d"+strconv.Itoa(i), "m"+strconv.Itoa(i%13)))
	}
	lots := BuildQueries(SelectorFor(many), time.Minute)
	lots = append(lots, BuildModelQueries(SelectorFor(many), time.Minute, DefaultGatewayMetric)...)
	if len(one) != len(lots) {
		t.Fatalf("1 target: %d queries, 500 targets: %d", len(one), len(lots))
	}
	for i := range one {
		if one[i].Name != lots[i].Name {
			t.Errorf("query %d: %s vs %s", i, one[i].Name, lots[i].Name)
		}
	}
	// The size does not grow with the number of models: 2,000 models in one namespace give
	// the queries of one.
	var models []collector.Target
	for i := range 2000 {
		models = append(models, target("ns", "d"+strconv.Itoa(i), "org/model-"+strconv.Itoa(i)))
	}
	big := BuildQueries(SelectorFor(models), time.Minute)
	big = append(big, BuildModelQueries(SelectorFor(models), time.Minute, DefaultGatewayMetric)...)
	if diff := cmp.Diff(one, big); diff != "" {
		t.Errorf("queries for 2,000 models differ from those for one (-one +2000):\n%s", diff)
	}
	if sel := SelectorFor(many); len(sel.Namespaces) != 7 || len(sel.Models) != 13 {
		t.Errorf("selector not deduplicated: %d namespaces, %d models", len(sel.Namespaces), len(sel.Models))
	}
}

// TestRegexAlternationEscapes unquotes the literal as PromQL does (Go string syntax) and
// compiles it anchored as Prometheus does: it must match each value exactly and nothing else.
func TestRegexAlternationEscapes(t *testing.T) {
	lit := regexAlternation(hostileModels)
	if strings.ContainsAny(lit, "\n\r") {
		t.Fatalf("literal contains a raw line break: %q", lit)
	}
	body, err := strconv.Unquote(lit)
	if err != nil {
		t.Fatalf("%s is not one string literal: %v", lit, err)
	}
	re, err := regexp.Compile("^(?:" + body + ")$")
	if err != nil {
		t.Fatalf("regex %q: %v", body, err)
	}
	for _, v := range hostileModels {
		if !re.MatchString(v) {
			t.Errorf("%q does not match its own alternation %s", v, lit)
		}
	}
	for _, decoy := range []string{"", "a", "b", "anything", "x", `evil"}`, "back", "new", "newXline", `back\\slash\\`} {
		if re.MatchString(decoy) {
			t.Errorf("decoy %q matches %s", decoy, lit)
		}
	}
	// The literal must end where it started: after unquoting nothing is left over.
	if !strings.HasPrefix(lit, `"`) || !strings.HasSuffix(lit, `"`) {
		t.Errorf("literal %s is not double-quoted", lit)
	}
}

// TestGatewayMetric: a custom gateway counter replaces the default; none, or an invalid name
// that would be written into PromQL, issues no gateway query.
func TestGatewayMetric(t *testing.T) {
	sel := SelectorFor([]collector.Target{target("ns", "d", "m")})
	gatewayQuery := func(g GatewayMetric) string {
		for _, q := range BuildModelQueries(sel, time.Minute, g) {
			if q.Name == QueryGatewayRequestRate {
				return q.PromQL
			}
		}
		return ""
	}
	if got, want := gatewayQuery(GatewayMetric{Metric: "inference_model_request_total", ModelLabel: "model_name"}),
		`sum by (namespace, model_name) (rate(inference_model_request_total{namespace=~"ns",model_name!=""}[1m]))`; got != want {
		t.Errorf("custom gateway query = %s, want %s", got, want)
	}
	for name, g := range map[string]GatewayMetric{
		"none":              {},
		"injected metric":   {Metric: `x{a="b"}) or vector(1`, ModelLabel: "model_name"},
		"injected label":    {Metric: "x", ModelLabel: `model_name=~".*"}`},
		"label without one": {Metric: "x"},
	} {
		if q := gatewayQuery(g); q != "" {
			t.Errorf("%s: gateway query %s issued", name, q)
		}
		if name != "none" && g.Validate() == nil {
			t.Errorf("%s: Validate accepts %+v", name, g)
		}
	}
	if err := DefaultGatewayMetric.Validate(); err != nil {
		t.Errorf("default gateway metric invalid: %v", err)
	}
}
