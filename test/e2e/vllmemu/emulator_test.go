package vllmemu

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

func TestLoadRequestStream(t *testing.T) {
	trace := filepath.Join("..", "..", "..", "testdata", "traces", "azure-llm-inference-2023-conv.csv")
	for name, tc := range map[string]struct {
		lr      LoadRequest
		wantErr bool
		wantNil bool
		minReqs int
	}{
		"rate":           {lr: LoadRequest{Namespace: "ns", Model: "m", Rate: 2, InputTokens: 10, OutputTokens: 5}, minReqs: 1000},
		"stop":           {lr: LoadRequest{Namespace: "ns", Model: "m"}, wantNil: true},
		"no namespace":   {lr: LoadRequest{Model: "m", Rate: 1}, wantErr: true},
		"trace":          {lr: LoadRequest{Namespace: "ns", Model: "m", Trace: trace}, minReqs: 100},
		"scaled trace":   {lr: LoadRequest{Namespace: "ns", Model: "m", Trace: trace, RateScale: 2}, minReqs: 200},
		"missing trace":  {lr: LoadRequest{Namespace: "ns", Model: "m", Trace: "does-not-exist.csv"}, wantErr: true},
		"negative speed": {lr: LoadRequest{Namespace: "ns", Model: "m", Trace: trace, Speed: -1}, wantErr: true},
	} {
		t.Run(name, func(t *testing.T) {
			reqs, err := tc.lr.stream()
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantNil && reqs != nil {
				t.Fatalf("got %d requests, want none", len(reqs))
			}
			if len(reqs) < tc.minReqs {
				t.Fatalf("got %d requests, want at least %d", len(reqs), tc.minReqs)
			}
			for i := 1; i < len(reqs); i++ {
				if reqs[i].Arrival < reqs[i-1].Arrival {
					t.Fatalf("arrivals out of order at %d", i)
				}
			}
		})
	}
}

// TestLoadRequestSpanAndSpeed: SpanSeconds keeps the trace's first seconds, Speed compresses
// them in time, RateScale thins them; a request keeps its token counts.
func TestLoadRequestSpanAndSpeed(t *testing.T) {
	trace := filepath.Join("..", "..", "..", "testdata", "traces", "azure-llm-inference-2023-conv.csv")
	full, err := LoadRequest{Namespace: "ns", Model: "m", Trace: trace}.stream()
	if err != nil {
		t.Fatal(err)
	}
	span := 10 * time.Minute
	var inSpan []workload.Request
	for _, r := range full {
		if r.Arrival < span {
			inSpan = append(inSpan, r)
		}
	}
	fast, err := LoadRequest{Namespace: "ns", Model: "m", Trace: trace, SpanSeconds: span.Seconds(), Speed: 10}.stream()
	if err != nil {
		t.Fatal(err)
	}
	if len(fast) != len(inSpan) || len(fast) == len(full) {
		t.Fatalf("span %s: %d requests, want the %d of the span (the trace has %d)", span, len(fast), len(inSpan), len(full))
	}
	for i, r := range fast {
		if want := time.Duration(float64(inSpan[i].Arrival) / 10); r.Arrival != want || r.InputTokens != inSpan[i].InputTokens {
			t.Fatalf("request %d: arrival %s, %d tokens; want %s, %d", i, r.Arrival, r.InputTokens, want, inSpan[i].InputTokens)
		}
	}
	if last := fast[len(fast)-1].Arrival; last >= span/10 {
		t.Fatalf("the last arrival %s is not within span/speed %s", last, span/10)
	}
	thin, err := LoadRequest{Namespace: "ns", Model: "m", Trace: trace, SpanSeconds: span.Seconds(), Speed: 10, RateScale: 0.5, Seed: 1}.stream()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(thin); n < len(inSpan)*4/10 || n > len(inSpan)*6/10 {
		t.Fatalf("rate scale 0.5 kept %d of %d requests", n, len(inSpan))
	}
}
