package vllmemu

import (
	"path/filepath"
	"testing"
)

func TestLoadRequestStream(t *testing.T) {
	trace := filepath.Join("..", "..", "..", "testdata", "traces", "azure-llm-inference-2023-conv.csv")
	for name, tc := range map[string]struct {
		lr      LoadRequest
		wantErr bool
		wantNil bool
		minReqs int
	}{
		"rate":          {lr: LoadRequest{Namespace: "ns", Model: "m", Rate: 2, InputTokens: 10, OutputTokens: 5}, minReqs: 1000},
		"stop":          {lr: LoadRequest{Namespace: "ns", Model: "m"}, wantNil: true},
		"no namespace":  {lr: LoadRequest{Model: "m", Rate: 1}, wantErr: true},
		"trace":         {lr: LoadRequest{Namespace: "ns", Model: "m", Trace: trace}, minReqs: 100},
		"scaled trace":  {lr: LoadRequest{Namespace: "ns", Model: "m", Trace: trace, RateScale: 2}, minReqs: 200},
		"missing trace": {lr: LoadRequest{Namespace: "ns", Model: "m", Trace: "does-not-exist.csv"}, wantErr: true},
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
