package controller

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

// TestKeyed: set and update return the value before and whether there was one; update starts
// from the zero value; forget drops the key.
func TestKeyed(t *testing.T) {
	var k keyed[int]
	key := types.NamespacedName{Namespace: "ns", Name: "va"}
	if _, ok := k.get(key); ok {
		t.Fatal("empty memory has the key")
	}
	if prev, ok := k.update(key, func(v *int) { *v += 2 }); prev != 0 || ok {
		t.Errorf("first update returned %d, %v; want 0, false", prev, ok)
	}
	if prev, ok := k.set(key, 5); prev != 2 || !ok {
		t.Errorf("set returned %d, %v; want 2, true", prev, ok)
	}
	if v, ok := k.get(key); v != 5 || !ok {
		t.Errorf("get %d, %v; want 5, true", v, ok)
	}
	k.forget(key)
	if _, ok := k.get(key); ok {
		t.Error("forgotten key still there")
	}
}
