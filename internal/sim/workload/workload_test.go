package workload

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const tracePath = "../../../testdata/traces/azure-llm-inference-2023-conv.csv"

func TestReadAzureCSV(t *testing.T) {
	in := "TIMESTAMP,ContextTokens,GeneratedTokens\n" +
		"2023-11-16 18:15:46.6805900,374,44\n" +
		"2023-11-16 18:15:50.9951690,396,109\n" +
		"2023-11-16 18:15:46.1805900,91,0\n"
	got, err := ReadAzureCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Request{
		{Arrival: 0, InputTokens: 91, OutputTokens: 1},
		{Arrival: 500 * time.Millisecond, InputTokens: 374, OutputTokens: 44},
		{Arrival: 4814579 * time.Microsecond, InputTokens: 396, OutputTokens: 109},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ReadAzureCSV (-want +got):\n%s", d)
	}
}

func TestReadAzureCSVErrors(t *testing.T) {
	tests := map[string]struct{ in, wantErr string }{
		"empty":          {in: "", wantErr: "empty file"},
		"missing column": {in: "TIMESTAMP,ContextTokens\n", wantErr: "lacks one of"},
		"no rows":        {in: "TIMESTAMP,ContextTokens,GeneratedTokens\n", wantErr: "no requests"},
		"bad time":       {in: "TIMESTAMP,ContextTokens,GeneratedTokens\nyesterday,1,2\n", wantErr: "line 2: parsing TIMESTAMP"},
		"bad tokens":     {in: "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,-1,2\n", wantErr: "line 2: ContextTokens must be"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ReadAzureCSV(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestLoadAzureTrace(t *testing.T) {
	reqs, err := LoadAzureCSV(tracePath)
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(reqs)
	if s.Requests != 19366 || s.Span.Round(time.Second) != 3502*time.Second {
		t.Errorf("%d requests over %s, want 19366 over about 58m22s", s.Requests, s.Span)
	}
	if math.Abs(s.MeanInputTokens-1154.7) > 0.1 || math.Abs(s.MeanOutputTokens-211.1) > 0.1 {
		t.Errorf("mean tokens %.1f in / %.1f out, want 1154.7 / 211.1", s.MeanInputTokens, s.MeanOutputTokens)
	}
	if s.PeakMinuteRate != 507.0/60 {
		t.Errorf("peak minute rate %g, want 507/60", s.PeakMinuteRate)
	}
}

func TestScaleMultipliesArrivals(t *testing.T) {
	base, err := LoadAzureCSV(tracePath)
	if err != nil {
		t.Fatal(err)
	}
	perMinute := func(reqs []Request) []float64 {
		out := make([]float64, 59)
		for _, r := range reqs {
			if m := int(r.Arrival / time.Minute); m < len(out) {
				out[m]++
			}
		}
		return out
	}
	baseMinutes := perMinute(base)
	for _, k := range []float64{0.5, 1, 2.5, 6} {
		got, err := Scale(base, k, 1, DefaultJitter)
		if err != nil {
			t.Fatal(err)
		}
		ratio := float64(len(got)) / float64(len(base))
		if math.Abs(ratio-k) > 0.02*k {
			t.Errorf("k=%g: %d requests, %.3f times the trace", k, len(got), ratio)
		}
		if k == math.Floor(k) && len(got) != int(k)*len(base) {
			t.Errorf("k=%g: %d requests, want exactly %d", k, len(got), int(k)*len(base))
		}
		for i := 1; i < len(got); i++ {
			if got[i].Arrival < got[i-1].Arrival {
				t.Fatalf("k=%g: not sorted at %d", k, i)
			}
		}
		// The shape over time is kept: every minute carries k times its recorded arrivals.
		for m, n := range perMinute(got) {
			if want := k * baseMinutes[m]; math.Abs(n-want) > 0.15*want+3 {
				t.Errorf("k=%g: minute %d has %g arrivals, want about %g", k, m, n, want)
			}
		}
	}
	same, _ := Scale(base, 1, 99, DefaultJitter)
	if d := cmp.Diff(base, same); d != "" {
		t.Errorf("k=1 changed the trace:\n%s", d)
	}
	a, _ := Scale(base, 2.5, 7, DefaultJitter)
	b, _ := Scale(base, 2.5, 7, DefaultJitter)
	c, _ := Scale(base, 2.5, 8, DefaultJitter)
	if !cmp.Equal(a, b) || cmp.Equal(a, c) {
		t.Error("Scale must be a function of its seed")
	}
}

func TestScaleJitterAndErrors(t *testing.T) {
	reqs := []Request{{Arrival: time.Second, InputTokens: 5, OutputTokens: 7}}
	got, err := Scale(reqs, 4, 3, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || !cmp.Equal(got[0], reqs[0]) {
		t.Fatalf("got %+v, want the original first and three copies", got)
	}
	for _, r := range got[1:] {
		if r.Arrival < time.Second || r.Arrival >= 1500*time.Millisecond || r.InputTokens != 5 || r.OutputTokens != 7 {
			t.Errorf("copy %+v: want arrival in [1s, 1.5s) and the original's tokens", r)
		}
	}
	for _, k := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if _, err := Scale(reqs, k, 1, 0); err == nil {
			t.Errorf("Scale(k=%g) succeeded", k)
		}
	}
}

func TestSyntheticShapes(t *testing.T) {
	burst := Burst(1, 10, time.Minute, 15*time.Second, 150*time.Second)
	wantBurst := []Phase{
		{45 * time.Second, 1}, {15 * time.Second, 10},
		{45 * time.Second, 1}, {15 * time.Second, 10},
		{30 * time.Second, 1},
	}
	if d := cmp.Diff(wantBurst, burst); d != "" {
		t.Errorf("Burst (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]Phase{{time.Minute, 2}, {2 * time.Minute, 8}}, Step(2, 8, time.Minute, 3*time.Minute)); d != "" {
		t.Errorf("Step (-want +got):\n%s", d)
	}

	paced, err := Paced(Steps(10*time.Second, 1, 3), FixedTokens(100, 20), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(paced) != 10+30 || paced[10].Arrival != 10*time.Second || paced[11].Arrival-paced[10].Arrival != time.Second/3 {
		t.Errorf("Paced: %d requests, 11th at %s", len(paced), paced[10].Arrival)
	}

	// Poisson arrivals follow the phases' rates.
	reqs, err := Poisson(Step(5, 50, 10*time.Minute, 20*time.Minute), SampledTokens(paced), 9)
	if err != nil {
		t.Fatal(err)
	}
	low := len(Window(reqs, 0, 10*time.Minute))
	high := len(Window(reqs, 10*time.Minute, 20*time.Minute))
	if math.Abs(float64(low)-3000) > 200 || math.Abs(float64(high)-30000) > 600 {
		t.Errorf("Poisson step: %d then %d arrivals, want about 3000 then 30000", low, high)
	}
	for _, r := range reqs {
		if r.InputTokens != 100 || r.OutputTokens != 20 {
			t.Fatalf("sampled tokens %+v, want the sample's 100/20", r)
		}
	}
	again, _ := Poisson(Step(5, 50, 10*time.Minute, 20*time.Minute), SampledTokens(paced), 9)
	if !cmp.Equal(reqs, again) {
		t.Error("Poisson must be a function of its seed")
	}
	if _, err := Poisson([]Phase{{time.Second, -1}}, FixedTokens(1, 1), 1); err == nil {
		t.Error("a negative rate must be rejected")
	}
}
