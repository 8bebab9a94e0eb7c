package analysis

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var inf = math.Inf(1)

// ttft is a histogram of 100 requests/s: 10 at or below 0.1 s, 50 at or below 0.25 s, 90 at or
// below 0.5 s, 100 at or below 1 s, none above.
func ttft(t *testing.T) Histogram {
	t.Helper()
	h, ok := NewHistogram([]Bucket{{0.5, 90}, {0.1, 10}, {inf, 100}, {0.25, 50}, {1, 100}})
	if !ok {
		t.Fatal("histogram rejected")
	}
	return h
}

func TestFractionBelow(t *testing.T) {
	tests := map[string]struct {
		x    float64
		want float64
	}{
		"bucket bound is exact":           {0.25, 0.5},
		"another bound":                   {0.5, 0.9},
		"inside a bucket interpolates":    {0.375, 0.7}, // 50 + 40 * (0.125/0.25)
		"inside the first bucket from 0":  {0.05, 0.05},
		"zero":                            {0, 0},
		"largest finite bound":            {1, 1},
		"beyond the largest finite bound": {5, 1},
	}
	h := ttft(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := h.FractionBelow(tc.x)
			if !ok || math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("FractionBelow(%v) = %v, %v; want %v", tc.x, got, ok, tc.want)
			}
		})
	}

	// Observations in the +Inf bucket: beyond the last finite bound only a lower bound is known.
	tail, _ := NewHistogram([]Bucket{{0.5, 60}, {1, 80}, {inf, 100}})
	if got, _ := tail.FractionBelow(3); got != 0.8 {
		t.Errorf("in the +Inf bucket: %v, want the share at the last finite bound, 0.8", got)
	}
}

func TestQuantile(t *testing.T) {
	h := ttft(t)
	tests := map[string]struct {
		q, want float64
	}{
		"median at a bound":    {0.5, 0.25},
		"p90 at a bound":       {0.9, 0.5},
		"p99 interpolates":     {0.99, 0.95}, // 0.5 + 0.5 * (99-90)/(100-90)
		"p70 interpolates":     {0.7, 0.375},
		"p5 in the first":      {0.05, 0.05},
		"p100 is the last hit": {1, 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := h.Quantile(tc.q)
			if !ok || math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("Quantile(%v) = %v, %v; want %v", tc.q, got, ok, tc.want)
			}
		})
	}
	tail, _ := NewHistogram([]Bucket{{0.5, 60}, {1, 80}, {inf, 100}})
	if got, ok := tail.Quantile(0.99); !ok || got != 1 {
		t.Errorf("p99 in the +Inf bucket = %v, %v; want the largest finite bound 1", got, ok)
	}
}

func TestHistogramWithoutData(t *testing.T) {
	empty, ok := NewHistogram([]Bucket{{0.1, 0}, {inf, 0}})
	if !ok {
		t.Fatal("an all-zero histogram is valid")
	}
	if _, ok := empty.FractionBelow(0.1); ok {
		t.Error("FractionBelow of an empty histogram reports ok")
	}
	if _, ok := empty.Quantile(0.99); ok {
		t.Error("Quantile of an empty histogram reports ok")
	}
	if _, ok := NewHistogram([]Bucket{{0.1, 3}, {1, 5}}); ok {
		t.Error("a histogram without +Inf bucket is accepted")
	}
	if _, ok := NewHistogram(nil); ok {
		t.Error("no buckets accepted")
	}
	if _, ok := (Histogram{}).Quantile(0.5); ok {
		t.Error("zero Histogram has a quantile")
	}
	if _, ok := ttft(t).Quantile(1.5); ok {
		t.Error("q > 1 accepted")
	}
	if _, ok := ttft(t).FractionBelow(math.NaN()); ok {
		t.Error("NaN target accepted")
	}
	sli := EvaluateSLI(empty, time.Second)
	if sli.Known || sli.Attainment != 0 || sli.P99 != 0 || math.IsNaN(sli.Attainment) {
		t.Errorf("SLI of an empty histogram = %+v, want unknown zeros", sli)
	}
}

func TestNewHistogramRepairs(t *testing.T) {
	// Two pods' rates summed per bound, one bound slightly out of order, a NaN and a duplicate.
	h, ok := NewHistogram([]Bucket{{1, 9.9}, {0.5, 10}, {inf, 12}, {0.5, math.NaN()}, {2, -1}, {inf, 0}})
	if !ok {
		t.Fatal("rejected")
	}
	want := []Bucket{{0.5, 10}, {1, 10}, {inf, 12}}
	if diff := cmp.Diff(want, h.Buckets, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("buckets (-want +got):\n%s", diff)
	}
}

func TestEvaluateSLI(t *testing.T) {
	got := EvaluateSLI(ttft(t), 250*time.Millisecond)
	want := LatencySLI{Target: 250 * time.Millisecond, Known: true, Attainment: 0.5, P99: 950 * time.Millisecond, Requests: 100}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("SLI (-want +got):\n%s", diff)
	}
	if got := EvaluateSLI(ttft(t), 0); got.Attainment != 0 || !got.Known || got.P99 != 950*time.Millisecond {
		t.Errorf("without a target: %+v", got)
	}
}
