package v1alpha1

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestConditionsDocumented fails when a condition type, a condition reason or an event reason
// is not named (in backquotes) in docs/conditions.md: conditions and their reasons above its
// "## Events" heading, event reasons below it.
func TestConditionsDocumented(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "conditions.md"))
	if err != nil {
		t.Fatal(err)
	}
	conditionsPart, eventsPart, ok := strings.Cut(string(raw), "\n## Events\n")
	if !ok {
		t.Fatal(`docs/conditions.md has no "## Events" section`)
	}
	sources := map[string]struct {
		prefixes []string
		doc      string
	}{
		"conditions.go": {[]string{"Condition", "Reason"}, conditionsPart},
		filepath.Join("..", "..", "internal", "controller", "events.go"): {[]string{"EventReason"}, eventsPart},
	}
	for file, src := range sources {
		prefixes, doc := src.prefixes, src.doc
		consts := stringConsts(t, file, prefixes)
		if len(consts) == 0 {
			t.Fatalf("no constants with prefixes %v in %s", prefixes, file)
		}
		for name, value := range consts {
			if !strings.Contains(string(doc), "`"+value+"`") {
				t.Errorf("%s (%q, %s) is not documented in docs/conditions.md", name, value, file)
			}
		}
	}
}

// stringConsts returns the string constants of file whose names start with one of prefixes.
func stringConsts(t *testing.T, file string, prefixes []string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if i >= len(vs.Values) || !hasPrefix(n.Name, prefixes) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				out[n.Name] = v
			}
		}
	}
	return out
}

func hasPrefix(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
