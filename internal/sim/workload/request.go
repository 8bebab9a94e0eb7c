package workload

import (
	"sort"
	"time"
)

// Request is one inference request of a stream.
type Request struct {
	// Arrival is when the request arrives, measured from the start of the stream.
	Arrival time.Duration
	// InputTokens is the prompt length in tokens.
	InputTokens int
	// OutputTokens is the number of tokens the request generates; at least 1.
	OutputTokens int
	// PrefixBlocks identifies the prompt's blocks of MooncakeBlockTokens tokens, in order, when
	// the trace records them (Mooncake's hash_ids): two requests whose first k ids are equal
	// share their first k blocks, a cacheable prefix. Nil when unknown. Copies made by Scale
	// share the original's slice; treat it as read-only.
	PrefixBlocks []uint64
	// Model is the served model name (VariantSpec.ModelID) the request asks for. Empty means
	// the only model of a one-model scenario.
	Model string
}

// Summary describes a stream in a few numbers.
type Summary struct {
	// Requests is the number of requests.
	Requests int
	// Span is the arrival time of the last request.
	Span time.Duration
	// MeanRate is Requests / Span in requests per second (0 when Span is 0).
	MeanRate float64
	// PeakMinuteRate is the largest number of arrivals in one whole minute [k·60 s, (k+1)·60 s),
	// divided by 60, in requests per second.
	PeakMinuteRate float64
	// MeanInputTokens and MeanOutputTokens are the mean prompt and output lengths.
	MeanInputTokens, MeanOutputTokens float64
}

// Summarize returns the summary of reqs, which must be sorted by arrival.
func Summarize(reqs []Request) Summary {
	s := Summary{Requests: len(reqs)}
	if len(reqs) == 0 {
		return s
	}
	s.Span = reqs[len(reqs)-1].Arrival
	if s.Span > 0 {
		s.MeanRate = float64(len(reqs)) / s.Span.Seconds()
	}
	var in, out float64
	perMinute := map[int64]int{}
	peak := 0
	for _, r := range reqs {
		in += float64(r.InputTokens)
		out += float64(r.OutputTokens)
		m := int64(r.Arrival / time.Minute)
		perMinute[m]++
		peak = max(peak, perMinute[m])
	}
	s.MeanInputTokens = in / float64(len(reqs))
	s.MeanOutputTokens = out / float64(len(reqs))
	s.PeakMinuteRate = float64(peak) / 60
	return s
}

// Window returns the requests of reqs (sorted by arrival) that arrive in [from, to), sharing
// reqs' backing array.
func Window(reqs []Request, from, to time.Duration) []Request {
	lo := sort.Search(len(reqs), func(i int) bool { return reqs[i].Arrival >= from })
	hi := sort.Search(len(reqs), func(i int) bool { return reqs[i].Arrival >= to })
	return reqs[lo:hi]
}

// sortByArrival sorts reqs by arrival, keeping the order of equal arrivals.
func sortByArrival(reqs []Request) {
	sort.SliceStable(reqs, func(i, j int) bool { return reqs[i].Arrival < reqs[j].Arrival })
}
