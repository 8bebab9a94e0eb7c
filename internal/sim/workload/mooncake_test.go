package workload

import (
	"bytes"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const mooncakePath = "../../../testdata/traces/mooncake-synthetic.jsonl"

func TestReadMooncake(t *testing.T) {
	in := `{"timestamp": 1000, "input_length": 1030, "output_length": 6, "hash_ids": [0, 1, 2]}

{"timestamp": 500.5, "input_length": 20, "output_length": 0, "hash_ids": [], "extra": "ignored"}
  {"timestamp": 1000, "input_length": 600, "output_length": 9, "hash_ids": [0, 7]}
`
	got, err := ReadMooncake(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Request{
		{Arrival: 0, InputTokens: 20, OutputTokens: 1},
		{Arrival: 499500 * time.Microsecond, InputTokens: 1030, OutputTokens: 6, PrefixBlocks: []uint64{0, 1, 2}},
		{Arrival: 499500 * time.Microsecond, InputTokens: 600, OutputTokens: 9, PrefixBlocks: []uint64{0, 7}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ReadMooncake (-want +got):\n%s", d)
	}
	// Each request's blocks are its own: appending to one cannot overwrite the next.
	if cap(got[1].PrefixBlocks) != len(got[1].PrefixBlocks) {
		t.Errorf("PrefixBlocks capacity %d, want it clipped to %d", cap(got[1].PrefixBlocks), len(got[1].PrefixBlocks))
	}
}

func TestReadMooncakeErrors(t *testing.T) {
	ok := `{"timestamp": 0, "input_length": 1, "output_length": 1, "hash_ids": [0]}` + "\n"
	tests := map[string]struct{ in, wantErr string }{
		"empty":             {in: "", wantErr: "no requests"},
		"blank lines":       {in: "\n  \n", wantErr: "no requests"},
		"not json":          {in: ok + "timestamp,1,2\n", wantErr: "line 2: invalid character"},
		"truncated":         {in: ok + ok + `{"timestamp": 3, "input_le`, wantErr: "line 3: unexpected end of JSON input"},
		"missing timestamp": {in: `{"input_length": 1, "output_length": 1}`, wantErr: "line 1: missing timestamp"},
		"missing input":     {in: ok + `{"timestamp": 1, "output_length": 1}`, wantErr: "line 2: missing input_length"},
		"missing output":    {in: `{"timestamp": 1, "input_length": 1}`, wantErr: "line 1: missing output_length"},
		"negative time":     {in: `{"timestamp": -1, "input_length": 1, "output_length": 1}`, wantErr: "line 1: timestamp must be"},
		"huge time":         {in: `{"timestamp": 1e300, "input_length": 1, "output_length": 1}`, wantErr: "line 1: timestamp must be"},
		"negative input":    {in: `{"timestamp": 1, "input_length": -5, "output_length": 1}`, wantErr: "line 1: input_length must be"},
		"fractional output": {in: `{"timestamp": 1, "input_length": 5, "output_length": 1.5}`, wantErr: "line 1: json: cannot unmarshal number 1.5"},
		"huge output":       {in: `{"timestamp": 1, "input_length": 5, "output_length": 99999999999}`, wantErr: "line 1: output_length must be"},
		"negative hash":     {in: `{"timestamp": 1, "input_length": 5, "output_length": 1, "hash_ids": [3, -1]}`, wantErr: "line 1: hash_ids must be"},
		"string hash":       {in: `{"timestamp": 1, "input_length": 5, "output_length": 1, "hash_ids": ["a"]}`, wantErr: "line 1: json: cannot unmarshal string"},
		"array line":        {in: `[1, 2, 3]`, wantErr: "line 1: json: cannot unmarshal array"},
		"too long":          {in: `{"timestamp": 1, "input_length": 5, "output_length": 1, "pad": "` + strings.Repeat("x", maxMooncakeLine) + `"}`, wantErr: "line 1: longer than"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ReadMooncake(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestLoadMooncakeTrace(t *testing.T) {
	reqs, err := Load(mooncakePath, FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(reqs)
	if s.Requests != 3993 || s.Span != 1022025*time.Millisecond {
		t.Errorf("%d requests over %s, want 3993 over 17m2.025s", s.Requests, s.Span)
	}
	if math.Abs(s.MeanInputTokens-15325.5) > 0.1 || math.Abs(s.MeanOutputTokens-149.1) > 0.1 {
		t.Errorf("mean tokens %.1f in, %.1f out; want 15325.5 and 149.1", s.MeanInputTokens, s.MeanOutputTokens)
	}
	blocks := 0
	for i, r := range reqs {
		blocks += len(r.PrefixBlocks)
		if want := (r.InputTokens + MooncakeBlockTokens - 1) / MooncakeBlockTokens; len(r.PrefixBlocks) != want {
			t.Fatalf("request %d: %d prompt tokens in %d blocks, want %d", i, r.InputTokens, len(r.PrefixBlocks), want)
		}
	}
	if blocks != 121877 {
		t.Errorf("%d prefix blocks, want 121877", blocks)
	}
	if reqs[0].InputTokens != 40160 || !slices.Equal(reqs[0].PrefixBlocks[:3], []uint64{0, 1, 2}) {
		t.Errorf("first request %d tokens, blocks %v...; want the file's first line", reqs[0].InputTokens, reqs[0].PrefixBlocks[:3])
	}
}

func TestLoadFormats(t *testing.T) {
	for path, want := range map[string]string{tracePath: FormatAzure, mooncakePath: FormatMooncake} {
		got, err := DetectFormat(path)
		if err != nil || got != want {
			t.Errorf("DetectFormat(%s) = %q, %v; want %q", path, got, err, want)
		}
		auto, err := Load(path, "")
		if err != nil {
			t.Fatal(err)
		}
		explicit, err := Load(path, want)
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(auto, explicit) {
			t.Errorf("%s: auto-detected and explicit %s differ", path, want)
		}
	}
	// The wrong explicit format fails with a message naming the line, not a panic.
	if _, err := Load(mooncakePath, FormatAzure); err == nil || !strings.Contains(err.Error(), "reading header") {
		t.Errorf("Mooncake read as Azure: error = %v, want a header error", err)
	}
	if _, err := Load(tracePath, FormatMooncake); err == nil || !strings.Contains(err.Error(), "line 1:") {
		t.Errorf("Azure read as Mooncake: error = %v, want a line-1 error", err)
	}
	if _, err := Load(tracePath, "parquet"); err == nil || !strings.Contains(err.Error(), "valid formats are auto, azure, mooncake") {
		t.Errorf("unknown format: error = %v", err)
	}
	if _, err := Load("no-such-file.jsonl", FormatAuto); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing file: error = %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestReadDetectsByContent(t *testing.T) {
	tests := map[string]struct {
		in   string
		want Request
	}{
		"mooncake after BOM and space": {in: "\ufeff \n\t{\"timestamp\": 0, \"input_length\": 3, \"output_length\": 4}\n",
			want: Request{InputTokens: 3, OutputTokens: 4}},
		"azure with BOM": {in: "\ufeffTIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,5,6\n",
			want: Request{InputTokens: 5, OutputTokens: 6}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Read(strings.NewReader(tc.in), FormatAuto)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff([]Request{tc.want}, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// checkStream asserts the invariants of every stream a reader returns.
func checkStream(t *testing.T, reqs []Request) {
	t.Helper()
	for i, r := range reqs {
		if r.Arrival < 0 || r.InputTokens < 0 || r.OutputTokens < 1 {
			t.Fatalf("request %d: %+v breaks arrival >= 0, input >= 0, output >= 1", i, r)
		}
		if i > 0 && r.Arrival < reqs[i-1].Arrival {
			t.Fatalf("request %d arrives before request %d", i, i-1)
		}
	}
	if len(reqs) > 0 && reqs[0].Arrival != 0 {
		t.Fatalf("first arrival %s, want 0", reqs[0].Arrival)
	}
}

// fuzzSeeds adds the first lines of a bundled trace and a few edge cases.
func fuzzSeeds(f *testing.F, path string, lines int, extra ...string) {
	data, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	head := bytes.SplitAfterN(data, []byte("\n"), lines+1)
	f.Add(bytes.Join(head[:lines], nil))
	for _, e := range extra {
		f.Add([]byte(e))
	}
}

func FuzzReadMooncake(f *testing.F) {
	fuzzSeeds(f, mooncakePath, 3,
		"", "\n", "{}", `{"timestamp": 1e308, "input_length": 1, "output_length": 1}`,
		`{"timestamp": 0, "input_length": 1, "output_length": 1, "hash_ids": [18446744073709551615]}`,
		`{"timestamp": 5, "input_length": 0, "output_length": 0, "hash_ids": null}`+"\n"+`{"timestamp": 1, "input_length": 2, "output_length": 3}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		reqs, err := ReadMooncake(bytes.NewReader(data))
		if err == nil {
			checkStream(t, reqs)
		}
	})
}

func FuzzReadAzureCSV(f *testing.F) {
	fuzzSeeds(f, tracePath, 4,
		"", "TIMESTAMP\n", "TIMESTAMP,ContextTokens,GeneratedTokens\n\"a,1,2\n",
		"GeneratedTokens,TIMESTAMP,ContextTokens\n3,2023-11-16 18:15:46.1,4\n",
		"TIMESTAMP,ContextTokens,GeneratedTokens,x\n2023-11-16 18:15:46,1,2\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		reqs, err := ReadAzureCSV(bytes.NewReader(data))
		if err == nil {
			checkStream(t, reqs)
		}
	})
}

func FuzzRead(f *testing.F) {
	f.Add([]byte("\ufeff{\"timestamp\": 0, \"input_length\": 3, \"output_length\": 4}"))
	f.Add([]byte("  TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,5,6\n"))
	f.Add([]byte("\ufeff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		reqs, err := Read(bytes.NewReader(data), FormatAuto)
		if err == nil {
			checkStream(t, reqs)
		}
	})
}
