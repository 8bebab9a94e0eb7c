package saturation

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

func TestStabilizer(t *testing.T) {
	key := types.NamespacedName{Namespace: "ns", Name: "va"}
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	type step struct {
		after        time.Duration
		current, raw int
		want         int
	}
	tests := map[string]struct {
		window time.Duration
		frac   float64
		steps  []step
	}{
		"scale-up is never damped": {window: 3 * time.Minute, frac: 0.25, steps: []step{
			{0, 4, 4, 4}, {15 * time.Second, 4, 9, 9},
		}},
		"scale-down waits for the window": {window: 3 * time.Minute, frac: 0, steps: []step{
			{0, 8, 8, 8},
			{time.Minute, 8, 2, 8},     // 8 was recommended a minute ago
			{2 * time.Minute, 8, 3, 8}, // still within the window
			{3*time.Minute + time.Second, 8, 2, 3},
			{5 * time.Minute, 3, 2, 2},
		}},
		"scale-down is limited per cycle": {window: 0, frac: 0.25, steps: []step{
			{0, 12, 2, 9}, {15 * time.Second, 9, 2, 7}, {30 * time.Second, 7, 2, 6}, {45 * time.Second, 3, 2, 2},
		}},
		"both off": {window: 0, frac: 0, steps: []step{{0, 10, 1, 1}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := newStabilizer(tc.window, tc.frac)
			for i, st := range tc.steps {
				got, note := s.apply(key, t0.Add(st.after), st.current, st.raw)
				if got != st.want {
					t.Fatalf("step %d (current %d, raw %d): target %d, want %d (%s)", i, st.current, st.raw, got, st.want, note)
				}
				if (got != st.raw) != (note != "") {
					t.Errorf("step %d: damped=%v but note %q", i, got != st.raw, note)
				}
			}
		})
	}
}

func TestStabilizerForgetsVanishedVariants(t *testing.T) {
	s := newStabilizer(time.Minute, 0)
	a, b := types.NamespacedName{Name: "a"}, types.NamespacedName{Name: "b"}
	s.apply(a, time.Unix(0, 0), 1, 1)
	s.apply(b, time.Unix(0, 0), 1, 1)
	s.retain(map[types.NamespacedName]bool{a: true})
	if _, ok := s.history[b]; ok || len(s.history) != 1 {
		t.Errorf("history = %v, want only a", s.history)
	}
}
