package promsource

import (
	"encoding/json"
	"strings"
	"unsafe"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/common/model"
)

// client_golang (before Go 1.27) decodes an instant vector with json-iterator, which calls
// model.Sample's UnmarshalJSON for every series, and that decodes the series again with
// encoding/json, validating its bytes first: at 10,000 pods that was about 90 % of a cycle's
// collection CPU, some 30 allocations a series (BenchmarkQueryDecode in test/scale). The
// decoder registered here reads a sample in json-iterator's own pass, its [time, "value"] pair
// with model.Time's and model.SampleValue's own parsers; TestSampleDecoderMatchesReference and
// FuzzSampleDecoder hold it to model.Sample.UnmarshalJSON. From Go 1.27 client_golang decodes
// with encoding/json and this decoder is not used.
func init() {
	jsoniter.RegisterTypeDecoderFunc("model.Sample", decodeSample)
}

// decodeSample decodes {"metric": {...}, "value": [t, "v"]} or {"metric": {...},
// "histogram": [t, {...}]} into the model.Sample at ptr, as model.Sample.UnmarshalJSON does:
// other fields are ignored, a histogram wins over a value, a null metric leaves none. Label
// names are not validated (encoding/json does not validate map keys either).
func decodeSample(ptr unsafe.Pointer, iter *jsoniter.Iterator) {
	s := (*model.Sample)(ptr)
	var (
		value        model.SamplePair
		histogram    model.SampleHistogramPair
		hasHistogram bool
	)
	iter.ReadObjectCB(func(iter *jsoniter.Iterator, field string) bool {
		// encoding/json matches field names without regard to case (FuzzSampleDecoder found
		// "vAlue"); so does this.
		switch {
		case strings.EqualFold(field, "metric"):
			if iter.WhatIsNext() == jsoniter.NilValue {
				iter.Skip()
				s.Metric = nil
				return true
			}
			m := make(model.Metric, 4)
			iter.ReadMapCB(func(iter *jsoniter.Iterator, name string) bool {
				switch iter.WhatIsNext() {
				case jsoniter.StringValue:
					m[model.LabelName(name)] = model.LabelValue(iter.ReadString())
				case jsoniter.NilValue: // as encoding/json: the zero value
					iter.Skip()
					m[model.LabelName(name)] = ""
				default:
					iter.ReportError("unmarshal model.Sample", "the value of label "+name+" is not a string")
					return false
				}
				return true
			})
			s.Metric = m
		case strings.EqualFold(field, "value"):
			if iter.WhatIsNext() == jsoniter.NilValue {
				iter.Skip()
				return true
			}
			value = decodePair(iter)
		case strings.EqualFold(field, "histogram"):
			// Native histograms are rare here (vLLM exports classic ones): decoded as the
			// reference does, with encoding/json.
			raw := iter.SkipAndReturnBytes()
			if iter.Error != nil {
				return false
			}
			if err := json.Unmarshal(raw, &histogram); err != nil {
				iter.ReportError("unmarshal model.Sample", err.Error())
				return false
			}
			hasHistogram = histogram.Histogram != nil
		default:
			iter.Skip()
		}
		return iter.Error == nil
	})
	if iter.Error != nil {
		return
	}
	if hasHistogram {
		s.Timestamp, s.Histogram = histogram.Timestamp, histogram.Histogram
		return
	}
	s.Timestamp, s.Value = value.Timestamp, value.Value
}

// decodePair decodes a [time, "value"] pair as model.SamplePair.UnmarshalJSON does: each of the
// first two elements with its own UnmarshalJSON (a null one left zero), further ones ignored.
func decodePair(iter *jsoniter.Iterator) model.SamplePair {
	var p model.SamplePair
	i := 0
	iter.ReadArrayCB(func(iter *jsoniter.Iterator) bool {
		defer func() { i++ }()
		if i > 1 || iter.WhatIsNext() == jsoniter.NilValue {
			iter.Skip()
			return iter.Error == nil
		}
		raw := iter.SkipAndReturnBytes()
		if iter.Error != nil {
			return false
		}
		var err error
		if i == 0 {
			err = p.Timestamp.UnmarshalJSON(raw)
		} else {
			err = p.Value.UnmarshalJSON(raw)
		}
		if err != nil {
			iter.ReportError("unmarshal model.SamplePair", err.Error())
			return false
		}
		return true
	})
	return p
}
