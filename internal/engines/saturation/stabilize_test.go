package saturation

import (
	"math"
	"strings"
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
		// current - raw overflowed for a hugely negative raw target, so the step check let it
		// through: the engine returned MinInt64.
		"hugely negative target is limited": {window: 3 * time.Minute, frac: 0.25, steps: []step{
			{0, 1, math.MinInt64, 0}, {15 * time.Second, 8, math.MinInt, 6},
		}},
		// int(10 * 1e300) overflowed to MinInt64, so the step was 1 instead of all 10 replicas.
		"huge step fraction removes at most every replica": {window: 0, frac: 1e300, steps: []step{{0, 10, 0, 0}}},
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

func TestLimitScaleUp(t *testing.T) {
	tests := map[string]struct {
		current, target, floor int
		want                   int
	}{
		"1 -> 7 is allowed":           {current: 1, target: 7, floor: 1, want: 7},
		"1 -> 100 becomes 1 -> 9":     {current: 1, target: 100, floor: 1, want: 9},
		"from zero: +8":               {current: 0, target: 50, floor: 0, want: 8},
		"10 -> 100 becomes 10 -> 20":  {current: 10, target: 100, floor: 1, want: 20},
		"minReplicas is always met":   {current: 0, target: 20, floor: 20, want: 20},
		"scale-down is not touched":   {current: 10, target: 2, floor: 1, want: 2},
		"near MaxInt32 does not wrap": {current: math.MaxInt32, target: math.MaxInt, floor: 1, want: math.MaxInt32},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, note := limitScaleUp(tc.current, tc.target, tc.floor)
			if got != tc.want {
				t.Errorf("limitScaleUp(%d, %d, %d) = %d, want %d", tc.current, tc.target, tc.floor, got, tc.want)
			}
			if (got != tc.target) != strings.Contains(note, "Scale-up limited") {
				t.Errorf("limited=%v but note %q", got != tc.target, note)
			}
		})
	}
}
