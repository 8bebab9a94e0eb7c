package analysis

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
)

// bucketJSON is the JSON form of a Bucket: the bound is a number, or the string "+Inf" for the
// last bucket (as Prometheus writes its le label), since JSON has no infinite number.
type bucketJSON struct {
	UpperBound any     `json:"le"`
	Count      float64 `json:"count"`
}

// MarshalJSON writes the bucket, its infinite bound as "+Inf".
func (b Bucket) MarshalJSON() ([]byte, error) {
	var le any = b.UpperBound
	switch {
	case math.IsInf(b.UpperBound, 1):
		le = "+Inf"
	case math.IsInf(b.UpperBound, -1) || math.IsNaN(b.UpperBound):
		return nil, errors.New("a histogram bucket bound must be a number or +Inf")
	}
	if math.IsInf(b.Count, 0) || math.IsNaN(b.Count) {
		return nil, errors.New("a histogram bucket count must be a finite number")
	}
	return json.Marshal(bucketJSON{UpperBound: le, Count: b.Count})
}

// UnmarshalJSON reads a bucket whose bound is a number or "+Inf".
func (b *Bucket) UnmarshalJSON(data []byte) error {
	var raw struct {
		UpperBound json.RawMessage `json:"le"`
		Count      float64         `json:"count"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return errors.New("a histogram bucket must be an object {\"le\": number or \"+Inf\", \"count\": number}")
	}
	le, err := parseBound(raw.UpperBound)
	if err != nil {
		return err
	}
	b.UpperBound, b.Count = le, raw.Count
	return nil
}

// parseBound reads a bucket bound: a JSON number or the string "+Inf".
func parseBound(raw json.RawMessage) (float64, error) {
	if len(raw) == 0 {
		return 0, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "+Inf" || s == "Inf" {
			return math.Inf(1), nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, nil
		}
		return 0, errors.New(`a histogram bucket bound "le" must be a number or "+Inf"`)
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return 0, errors.New(`a histogram bucket bound "le" must be a number or "+Inf"`)
	}
	return f, nil
}
