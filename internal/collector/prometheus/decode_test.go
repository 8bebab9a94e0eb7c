package promsource

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/common/model"
)

// referenceVector decodes an instant vector's result array with model.Sample.UnmarshalJSON
// (encoding/json), the decoding decodeSample replaces.
func referenceVector(data []byte) (model.Vector, error) {
	var v model.Vector
	err := json.Unmarshal(data, &v)
	return v, err
}

// fastVector decodes it as client_golang does before Go 1.27: json-iterator, with decodeSample.
func fastVector(data []byte) (model.Vector, error) {
	var v model.Vector
	err := jsoniter.Unmarshal(data, &v)
	return v, err
}

// nanEqual makes cmp treat NaN sample values (and native histograms' float strings) as equal.
var nanEqual = cmp.Options{
	cmp.Comparer(func(x, y model.SampleValue) bool {
		return x == y || (math.IsNaN(float64(x)) && math.IsNaN(float64(y)))
	}),
	cmp.Comparer(func(x, y model.FloatString) bool {
		return x == y || (math.IsNaN(float64(x)) && math.IsNaN(float64(y)))
	}),
}

// sameVector compares two vectors, NaN equal to NaN.
func sameVector(a, b model.Vector) bool { return cmp.Equal(a, b, nanEqual) }

var sampleCases = map[string]string{
	"empty":         `[]`,
	"one":           `[{"metric":{"namespace":"ns","pod":"p-0","model_name":"org/m"},"value":[1712345678.123,"0.42"]}]`,
	"special":       `[{"metric":{"a":"NaN"},"value":[1,"NaN"]},{"metric":{"a":"inf"},"value":[1,"+Inf"]},{"metric":{"a":"-inf"},"value":[1,"-Inf"]}]`,
	"escapes":       `[{"metric":{"pod":"p-\"1\"\\n\u00e9\u2603","le":"+Inf"},"value":[2,"1e-300"]}]`,
	"no metric":     `[{"value":[3,"1"]},{"metric":null,"value":[3,"2"]},{"metric":{},"value":[3,"3"]}]`,
	"null label":    `[{"metric":{"a":null},"value":[3,"1"]}]`,
	"extra fields":  `[{"metric":{"a":"b"},"value":[4,"5"],"extra":{"x":[1,2,{"y":null}]},"more":"s"}]`,
	"field order":   `[{"value":[5,"6"],"metric":{"a":"b"}}]`,
	"null value":    `[{"metric":{"a":"b"},"value":null}]`,
	"histogram":     `[{"metric":{"a":"h"},"histogram":[6,{"count":"10","sum":"2.5","buckets":[[0,"0.1","0.2","4"],[0,"0.2","0.5","6"]]}]}]`,
	"both":          `[{"metric":{"a":"h"},"value":[7,"1"],"histogram":[8,{"count":"1","sum":"1"}]}]`,
	"integer time":  `[{"metric":{"a":"b"},"value":[1712345678,"1"]}]`,
	"bad value":     `[{"metric":{"a":"b"},"value":[1,"x"]}]`,
	"short value":   `[{"metric":{"a":"b"},"value":[1]}]`,
	"numeric label": `[{"metric":{"a":1},"value":[1,"1"]}]`,
	"not an object": `[1]`,
	"truncated":     `[{"metric":{"a":"b"},"value":[1,"1"]`,
}

// TestSampleDecoderMatchesReference: on well-formed answers (all Prometheus sends) decodeSample
// gives what model.Sample.UnmarshalJSON gives, and it rejects what that rejects.
func TestSampleDecoderMatchesReference(t *testing.T) {
	for name, in := range sampleCases {
		ref, refErr := referenceVector([]byte(in))
		got, err := fastVector([]byte(in))
		if (refErr == nil) != (err == nil) {
			t.Errorf("%s: error %v, reference error %v", name, err, refErr)
			continue
		}
		if refErr == nil && !sameVector(ref, got) {
			t.Errorf("%s: decoded %v, reference %v", name, got, ref)
		}
	}
	// The decoder is the one in use: the common case decodes without model.Sample's method.
	v, err := fastVector([]byte(sampleCases["one"]))
	if err != nil || len(v) != 1 || v[0].Value != 0.42 || v[0].Metric["model_name"] != "org/m" || v[0].Timestamp != 1712345678123 {
		t.Fatalf("one: %v, %v", v, err)
	}
}

// FuzzSampleDecoder: no input panics the decoder, and where the reference decodes an input,
// the decoder gives the same vector.
func FuzzSampleDecoder(f *testing.F) {
	for _, in := range sampleCases {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := fastVector(data)
		ref, refErr := referenceVector(data)
		if refErr != nil {
			return // the decoder may be more lenient on malformed JSON; it must not panic
		}
		if err != nil {
			t.Fatalf("%q: error %v, the reference decodes %v", data, err, ref)
		}
		if !sameVector(ref, got) {
			t.Fatalf("%q: decoded %v, reference %v", data, got, ref)
		}
	})
}
