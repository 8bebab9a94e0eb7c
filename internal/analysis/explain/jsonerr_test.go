package explain

import (
	"regexp"
	"strings"
	"testing"
)

// goTypeName matches what encoding/json's messages leak: Go type and struct names.
var goTypeName = regexp.MustCompile(`Go (struct|value)|of type|\b(float64|int64|VariantState|ModelState|ModelMetrics|PodMetrics|Snapshot|Bucket|SLOTargets|SaturationScalingConfig)\b|analysis\.|interfaces\.|time\.`)

func TestDecodeErrorsNameLineAndColumn(t *testing.T) {
	tests := map[string]struct {
		in   string
		want string
	}{
		"syntax error": {"{\n  \"models\": [\n    {\"modelID\": \"m\",}\n  ]\n}",
			"line 3, column 21: invalid character '}' looking for beginning of object key string"},
		"truncated": {"{\n  \"models\": [", "line 2, column 14: the document ends before the JSON value does"},
		"unknown field": {"{\"models\": [{\"modelID\": \"m\",\n  \"variants\": [{\"name\": \"v\", \"pods\": [\n    {\"kvCache\": 0.5}]}]}]}",
			`line 3, column 6: models[0].variants[0].pods[0]: unknown field "kvCache" (known: finishRate, itlMedianSeconds, kvCacheUsage, meanPrefillSeconds, meanPromptTokens, meanRunningRequests, name, queueLength, runningRequests)`},
		"fractional replicas": {"{\"models\": [{\"modelID\": \"m\",\n \"variants\": [{\"name\": \"v\", \"currentReplicas\": 1.5}]}]}",
			"line 2, column 48: models[0].variants[0].currentReplicas: want an integer, got the number 1.5"},
		"string for a number": {`{"models": [{"modelID": "m", "variants": [{"name": "v", "cost": "5"}]}]}`,
			`line 1, column 65: models[0].variants[0].cost: want a number, got the string "5"`},
		"object for a string": {`{"analyzer": {"name": "v1"}, "models": []}`, `line 1, column 14: analyzer: want a string, got an object`},
		"array for an object": {`{"models": [[]]}`, `line 1, column 13: models[0]: want an object, got an array`},
		"duration as a string": {`{"models": [{"modelID": "m", "slo": {"ttft": "500ms"}}]}`,
			`line 1, column 46: models[0].slo.ttft: want an integer number of nanoseconds, got the string "500ms"`},
		"bad time": {`{"capturedAt": "yesterday", "models": []}`, `line 1, column 16: capturedAt: want an RFC 3339 time`},
		"bad bucket bound": {`{"models": [{"modelID": "m", "metrics": {"window": 60000000000, "ttft": {"buckets": [{"le": "high", "count": 1}]}}}]}`,
			`line 1, column 93: models[0].metrics.ttft.buckets[0].le: want a number or "+Inf", got the string "high"`},
		"unknown saturation key": {`{"saturationConfig": {"default": {"kvThreshold": 0.8}}, "models": []}`,
			`line 1, column 35: saturationConfig["default"]: unknown field "kvThreshold"`},
		"trailing data": {"{\"models\": []}\n{}", "line 2, column 1: unexpected data after the JSON object"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Decode() error = %v,\nwant it to contain %q", err, tc.want)
			}
			if m := goTypeName.FindString(err.Error()); m != "" {
				t.Errorf("Decode() error %q names a Go type (%q)", err, m)
			}
		})
	}
}

func TestDecodeAcceptsInfBoundAndRoundTrips(t *testing.T) {
	in := `{"models": [{"modelID": "m", "metrics": {"window": 60000000000, "requestRate": 0, "arrivalRate": 2, "promptTokensRate": 0,
	  "generationTokensRate": 0, "meanPromptTokens": 0, "meanOutputTokens": 0, "waiting": 0, "waitingTokens": 0, "waitingGrowth": 0,
	  "runningGrowth": 0, "prefixCacheHitRate": 0, "ttft": {"buckets": [{"le": 0.5, "count": 1}, {"le": "+Inf", "count": 2}]}}, "variants": []}]}`
	s, err := Decode(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	if err := Encode(&buf, s); err != nil {
		t.Fatalf("Encode() = %v", err)
	}
	if !strings.Contains(buf.String(), `"le": "+Inf"`) {
		t.Errorf("encoded = %s, want the +Inf bound as a string", buf.String())
	}
	again, err := Decode(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatalf("decoding the encoded snapshot: %v", err)
	}
	var buf2 strings.Builder
	_ = Encode(&buf2, again)
	if buf.String() != buf2.String() {
		t.Errorf("round trip changed the snapshot:\n%s\n%s", buf.String(), buf2.String())
	}
}
