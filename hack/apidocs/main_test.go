package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestAPIReferenceIsCurrent fails when docs/api.md differs from what the CRDs of
// config/crd/bases generate (run make docs after make manifests).
func TestAPIReferenceIsCurrent(t *testing.T) {
	root := filepath.Join("..", "..")
	got, err := render(filepath.Join(root, "config", "crd", "bases"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(root, "docs", "api.md"))
	if err != nil {
		t.Fatalf("%v: run make docs", err)
	}
	if !bytes.Equal(got, want) {
		t.Error("docs/api.md is out of date: run make docs")
	}
}
