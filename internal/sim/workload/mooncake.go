package workload

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"
)

// Trace formats Load reads.
const (
	// FormatAuto detects the format from the file's first non-space byte: '{' is Mooncake,
	// anything else the Azure CSV.
	FormatAuto = "auto"
	// FormatAzure is the Azure LLM inference trace CSV (ReadAzureCSV).
	FormatAzure = "azure"
	// FormatMooncake is the Mooncake JSONL trace (ReadMooncake).
	FormatMooncake = "mooncake"
)

// Formats lists the values Load accepts as a format.
func Formats() []string { return []string{FormatAuto, FormatAzure, FormatMooncake} }

// MooncakeBlockTokens is the number of prompt tokens one Mooncake hash id stands for.
const MooncakeBlockTokens = 512

// maxMooncakeLine bounds one line of a Mooncake trace (a 1M-token prompt has ~2,000 hash ids,
// about 20 KB; the bound leaves ample room and keeps a corrupt file from exhausting memory).
const maxMooncakeLine = 16 << 20

// maxTimestampMs bounds a timestamp (about 31 years in milliseconds), well inside a
// time.Duration.
const maxTimestampMs = 1e12

// Load reads the trace at path in the given format (Formats; "" means FormatAuto).
func Load(path, format string) ([]Request, error) {
	switch format {
	case "", FormatAuto, FormatAzure, FormatMooncake:
	default:
		return nil, fmt.Errorf("unknown trace format %q: valid formats are %s", format, strings.Join(Formats(), ", "))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening trace: %w", err)
	}
	defer f.Close()
	reqs, err := Read(f, format)
	if err != nil {
		return nil, fmt.Errorf("reading trace %s: %w", path, err)
	}
	return reqs, nil
}

// Read parses a trace in the given format (Formats; "" means FormatAuto, which looks at the
// first byte that is not white space or a UTF-8 byte-order mark: '{' selects the Mooncake JSONL
// format, anything else the Azure CSV).
func Read(r io.Reader, format string) ([]Request, error) {
	br := bufio.NewReader(r)
	if format == "" || format == FormatAuto {
		var err error
		if format, err = detect(br); err != nil {
			return nil, err
		}
	}
	switch format {
	case FormatAzure:
		return ReadAzureCSV(br)
	case FormatMooncake:
		return ReadMooncake(br)
	}
	return nil, fmt.Errorf("unknown trace format %q: valid formats are %s", format, strings.Join(Formats(), ", "))
}

// DetectFormat returns the format Read would choose for the trace at path.
func DetectFormat(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("opening trace: %w", err)
	}
	defer f.Close()
	return detect(bufio.NewReader(f))
}

// detect peeks at br's first bytes without consuming them.
func detect(br *bufio.Reader) (string, error) {
	head, err := br.Peek(4096)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return "", fmt.Errorf("reading trace: %w", err)
	}
	head = bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\ufeff")), " \t\r\n")
	if len(head) > 0 && head[0] == '{' {
		return FormatMooncake, nil
	}
	// Anything else, including an empty file, is left to the CSV reader to accept or explain.
	return FormatAzure, nil
}

// mooncakeLine is one line of a Mooncake trace; pointers tell missing fields from zeros.
type mooncakeLine struct {
	Timestamp    *float64 `json:"timestamp"`
	InputLength  *int64   `json:"input_length"`
	OutputLength *int64   `json:"output_length"`
	HashIDs      []int64  `json:"hash_ids"`
}

// ReadMooncake parses a trace in the Mooncake format (the traces released with the Mooncake
// serving system, FAST 2025): one JSON object per line with timestamp (arrival in milliseconds),
// input_length and output_length (tokens) and hash_ids, the ids of the prompt's 512-token blocks
// (equal ids are equal prefixes), kept as Request.PrefixBlocks. Other fields are ignored; blank
// lines are skipped. Arrivals are made relative to the earliest timestamp and the result is
// sorted by arrival (equal timestamps keep their file order). A request with zero output tokens
// is read as generating one, as ReadAzureCSV does.
func ReadMooncake(r io.Reader) ([]Request, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxMooncakeLine)
	type row struct {
		atMs     float64
		in, outT int
		blocks   []uint64
	}
	var rows []row
	// All hash ids share one backing array, sub-sliced per request with a capped capacity:
	// one allocation per growth instead of one per request.
	var slab []uint64
	var spans [][2]int
	for line := 1; sc.Scan(); line++ {
		text := sc.Bytes()
		if line == 1 {
			text = bytes.TrimPrefix(text, []byte("\ufeff"))
		}
		text = bytes.TrimSpace(text)
		if len(text) == 0 {
			continue
		}
		var m mooncakeLine
		if err := json.Unmarshal(text, &m); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		switch {
		case m.Timestamp == nil:
			return nil, fmt.Errorf("line %d: missing timestamp", line)
		case m.InputLength == nil:
			return nil, fmt.Errorf("line %d: missing input_length", line)
		case m.OutputLength == nil:
			return nil, fmt.Errorf("line %d: missing output_length", line)
		}
		ts := *m.Timestamp
		if !(ts >= 0) || ts > maxTimestampMs {
			return nil, fmt.Errorf("line %d: timestamp must be a non-negative number of milliseconds, got %g", line, ts)
		}
		in, out := *m.InputLength, *m.OutputLength
		if in < 0 || in > math.MaxInt32 {
			return nil, fmt.Errorf("line %d: input_length must be a non-negative integer below 2^31, got %d", line, in)
		}
		if out < 0 || out > math.MaxInt32 {
			return nil, fmt.Errorf("line %d: output_length must be a non-negative integer below 2^31, got %d", line, out)
		}
		start := len(slab)
		for _, id := range m.HashIDs {
			if id < 0 {
				return nil, fmt.Errorf("line %d: hash_ids must be non-negative integers, got %d", line, id)
			}
			slab = append(slab, uint64(id))
		}
		spans = append(spans, [2]int{start, len(slab)})
		rows = append(rows, row{atMs: ts, in: int(in), outT: max(int(out), 1)})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d: longer than %d bytes", len(rows)+1, maxMooncakeLine)
		}
		return nil, fmt.Errorf("reading: %w", err)
	}
	if len(rows) == 0 {
		return nil, errors.New("no requests: want one JSON object per line with timestamp, input_length, output_length")
	}
	first := rows[0].atMs
	for _, r := range rows {
		first = min(first, r.atMs)
	}
	reqs := make([]Request, len(rows))
	for i, r := range rows {
		reqs[i] = Request{
			Arrival:      time.Duration(math.Round((r.atMs - first) * float64(time.Millisecond))),
			InputTokens:  r.in,
			OutputTokens: r.outT,
		}
		if s := spans[i]; s[1] > s[0] {
			reqs[i].PrefixBlocks = slices.Clip(slab[s[0]:s[1]])
		}
	}
	sortByArrival(reqs)
	return reqs, nil
}
