package workload

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Column names of the Azure LLM inference trace CSV files (AzurePublicDataset, 2023 and 2024).
const (
	azureTimestamp = "TIMESTAMP"
	azureContext   = "ContextTokens"
	azureGenerated = "GeneratedTokens"
)

// azureTimeLayout is the timestamp layout of the trace; fractional seconds (seven digits in the
// files) are accepted after the seconds field when parsing.
const azureTimeLayout = "2006-01-02 15:04:05"

// LoadAzureCSV reads the Azure LLM inference trace at path; see ReadAzureCSV.
func LoadAzureCSV(path string) ([]Request, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening trace: %w", err)
	}
	defer f.Close()
	reqs, err := ReadAzureCSV(f)
	if err != nil {
		return nil, fmt.Errorf("reading trace %s: %w", path, err)
	}
	return reqs, nil
}

// ReadAzureCSV parses a trace in the Azure LLM inference trace format: a header naming the
// columns TIMESTAMP, ContextTokens and GeneratedTokens (in any order; other columns are ignored)
// and one request per row. Arrivals are made relative to the earliest timestamp and the result
// is sorted by arrival (rows with equal timestamps keep their file order). A request with zero
// generated tokens is read as generating one token, since a served request returns at least one.
func ReadAzureCSV(r io.Reader) ([]Request, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty file: want a header with TIMESTAMP, ContextTokens, GeneratedTokens")
		}
		return nil, fmt.Errorf("reading header: %w", err)
	}
	col := map[string]int{}
	for i, name := range header {
		col[strings.TrimSpace(strings.TrimPrefix(name, "\ufeff"))] = i
	}
	iTime, okT := col[azureTimestamp]
	iIn, okI := col[azureContext]
	iOut, okO := col[azureGenerated]
	if !okT || !okI || !okO {
		return nil, fmt.Errorf("header %q lacks one of %s, %s, %s", strings.Join(header, ","), azureTimestamp, azureContext, azureGenerated)
	}

	type row struct {
		at       time.Time
		in, outT int
	}
	var rows []row
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		at, err := time.Parse(azureTimeLayout, strings.TrimSpace(rec[iTime]))
		if err != nil {
			return nil, fmt.Errorf("line %d: parsing %s: %w", line, azureTimestamp, err)
		}
		in, err := strconv.Atoi(strings.TrimSpace(rec[iIn]))
		if err != nil || in < 0 {
			return nil, fmt.Errorf("line %d: %s must be a non-negative integer, got %q", line, azureContext, rec[iIn])
		}
		out, err := strconv.Atoi(strings.TrimSpace(rec[iOut]))
		if err != nil || out < 0 {
			return nil, fmt.Errorf("line %d: %s must be a non-negative integer, got %q", line, azureGenerated, rec[iOut])
		}
		rows = append(rows, row{at: at, in: in, outT: max(out, 1)})
	}
	if len(rows) == 0 {
		return nil, errors.New("no requests after the header")
	}
	first := rows[0].at
	for _, r := range rows {
		if r.at.Before(first) {
			first = r.at
		}
	}
	reqs := make([]Request, len(rows))
	for i, r := range rows {
		reqs[i] = Request{Arrival: r.at.Sub(first), InputTokens: r.in, OutputTokens: r.outT}
	}
	sortByArrival(reqs)
	return reqs, nil
}
