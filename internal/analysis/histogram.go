package analysis

import (
	"math"
	"slices"
)

// Bucket is one bucket of a cumulative histogram: Count observations (or a rate of them) at or
// below UpperBound. The last bucket of a complete histogram has UpperBound +Inf.
type Bucket struct {
	UpperBound float64 `json:"le"`
	Count      float64 `json:"count"`
}

// Histogram is a cumulative histogram such as the per-second bucket rates of a Prometheus
// histogram over a window (sum by (le) (rate(x_bucket[w]))). Build it with NewHistogram.
type Histogram struct {
	// Buckets are sorted by UpperBound, end with the +Inf bucket and never decrease.
	Buckets []Bucket `json:"buckets,omitempty"`
}

// NewHistogram sorts buckets by bound, merges equal bounds, drops NaN or negative counts and
// makes the counts non-decreasing (rates of separately scraped series can be slightly out of
// order, as histogram_quantile also corrects). It returns false when no +Inf bucket is left,
// since then the total is unknown.
func NewHistogram(buckets []Bucket) (Histogram, bool) {
	var bs []Bucket
	for _, b := range buckets {
		if math.IsNaN(b.UpperBound) || math.IsNaN(b.Count) || math.IsInf(b.Count, 0) || b.Count < 0 {
			continue
		}
		bs = append(bs, b)
	}
	slices.SortFunc(bs, func(a, b Bucket) int {
		switch {
		case a.UpperBound < b.UpperBound:
			return -1
		case a.UpperBound > b.UpperBound:
			return 1
		}
		return 0
	})
	var out []Bucket
	for _, b := range bs {
		if n := len(out); n > 0 && out[n-1].UpperBound == b.UpperBound {
			out[n-1].Count += b.Count
			continue
		}
		out = append(out, b)
	}
	for i := 1; i < len(out); i++ {
		out[i].Count = max(out[i].Count, out[i-1].Count)
	}
	if len(out) == 0 || !math.IsInf(out[len(out)-1].UpperBound, 1) {
		return Histogram{}, false
	}
	return Histogram{Buckets: out}, true
}

// Total is the count of the +Inf bucket: all observations (0 for an empty histogram).
func (h Histogram) Total() float64 {
	if len(h.Buckets) == 0 {
		return 0
	}
	return h.Buckets[len(h.Buckets)-1].Count
}

// lowerBound is the lower edge of bucket i: the previous bound, or 0 for the first bucket when
// its bound is positive (latencies and sizes are never negative), as histogram_quantile assumes.
func (h Histogram) lowerBound(i int) (lo, countBelow float64) {
	if i == 0 {
		if h.Buckets[0].UpperBound > 0 {
			return 0, 0
		}
		return h.Buckets[0].UpperBound, 0
	}
	return h.Buckets[i-1].UpperBound, h.Buckets[i-1].Count
}

// FractionBelow returns the share of observations at or below x, and false when the histogram
// holds no observation. It is exact when x is a bucket bound; inside a bucket it interpolates
// linearly, as histogram_quantile does. Beyond the largest finite bound it returns the share at
// that bound: a lower bound of the truth, since the +Inf bucket says nothing about where its
// observations lie.
func (h Histogram) FractionBelow(x float64) (float64, bool) {
	total := h.Total()
	if total <= 0 || math.IsNaN(x) {
		return 0, false
	}
	for i, b := range h.Buckets {
		if x > b.UpperBound {
			continue
		}
		if x == b.UpperBound {
			return b.Count / total, true
		}
		if math.IsInf(b.UpperBound, 1) {
			// In the +Inf bucket: only what lies at or below the last finite bound is known.
			_, below := h.lowerBound(i)
			return below / total, true
		}
		lo, below := h.lowerBound(i)
		if x <= lo {
			return below / total, true
		}
		return (below + (b.Count-below)*(x-lo)/(b.UpperBound-lo)) / total, true
	}
	return 1, true // unreachable: the last bound is +Inf
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) the way histogram_quantile computes it: linear
// interpolation within the bucket holding rank q·total; the largest finite bound when that is
// the +Inf bucket. false when the histogram holds no observation or q is outside [0, 1].
func (h Histogram) Quantile(q float64) (float64, bool) {
	total := h.Total()
	if total <= 0 || math.IsNaN(q) || q < 0 || q > 1 {
		return 0, false
	}
	rank := q * total
	for i, b := range h.Buckets {
		if b.Count < rank {
			continue
		}
		lo, below := h.lowerBound(i)
		if math.IsInf(b.UpperBound, 1) {
			if i == 0 {
				return 0, false // only a +Inf bucket: no finite bound to report
			}
			return lo, true
		}
		if b.Count == below {
			return lo, true
		}
		return lo + (b.UpperBound-lo)*(rank-below)/(b.Count-below), true
	}
	return 0, false // unreachable: the +Inf bucket holds the total
}
