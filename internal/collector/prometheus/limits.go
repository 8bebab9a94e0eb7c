package promsource

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
)

// Keys of the response limits, in the environment and in the main ConfigMap.
const (
	// EnvMaxResponseBytes bounds the size of one query's response body (after decompression). It
	// is a byte count or a Kubernetes quantity such as 10Mi.
	EnvMaxResponseBytes = "PROMETHEUS_MAX_RESPONSE_BYTES"
	// EnvMaxSeries bounds the number of series in one query's result.
	EnvMaxSeries = "PROMETHEUS_MAX_SERIES"
)

// Defaults of the response limits, sized by BenchmarkCollectHugeResponse.
//
// Every query aggregates by (namespace, pod, pod_name, model_name) or by the five
// cache-config labels, so a series carries only those labels: about 70 bytes of JSON besides
// the label values; 125 bytes for namespace "team-000", pod "vllm-000000-5d4f7c9b8-x2k4q" and
// model "meta-llama/Llama-3.1-8B-Instruct". Kubernetes caps namespaces at 63 characters and
// the names of a ReplicaSet's pods at 63, so with a 128-character model name a series is at
// most about 330 bytes.
//
// Memory, not bytes on the wire, sets the limits: client_golang buffers a response and decodes
// it into a model.Vector at about 2 KB allocated and 1.6 KiB of peak heap per series, and the
// five queries run in parallel. A fleet of 10,000 variants with 2 ready pods each
// (BenchmarkRunOnce) answers 20,000 series per query, about 140 MiB of peak heap per
// collection; DefaultMaxSeries allows 1.5 times that (10,000 variants of 3 pods), about
// 250 MiB, within the manifest's 512 MiB memory limit. DefaultMaxResponseBytes holds
// DefaultMaxSeries series even at the longest names (10 MiB / 330 B = 31,800), so at typical
// names the series limit is the one hit, after about 3.6 MiB. A response over a limit is
// abandoned while it streams in, before anything is decoded.
const (
	DefaultMaxResponseBytes int64 = 10 << 20
	DefaultMaxSeries              = 30_000
)

// EffectiveMaxResponseBytes returns MaxResponseBytes, or DefaultMaxResponseBytes when it is 0.
func (c Config) EffectiveMaxResponseBytes() int64 {
	if c.MaxResponseBytes > 0 {
		return c.MaxResponseBytes
	}
	return DefaultMaxResponseBytes
}

// EffectiveMaxSeries returns MaxSeries, or DefaultMaxSeries when it is 0.
func (c Config) EffectiveMaxSeries() int {
	if c.MaxSeries > 0 {
		return c.MaxSeries
	}
	return DefaultMaxSeries
}

// validateLimits reports negative limits; configFrom stores unparsable values as -1.
func (c Config) validateLimits() []error {
	var errs []error
	if c.MaxResponseBytes < 0 {
		errs = append(errs, fmt.Errorf("%s must be a positive byte count such as 10485760 or 10Mi (unset means %d)",
			EnvMaxResponseBytes, DefaultMaxResponseBytes))
	}
	if c.MaxSeries < 0 {
		errs = append(errs, fmt.Errorf("%s must be a positive integer such as 30000 (unset means %d)", EnvMaxSeries, DefaultMaxSeries))
	}
	return errs
}

// parseLimits reads the limits with val (trimmed values); unset or empty is 0 (the default),
// anything that is not a positive number is -1, which Validate rejects.
func parseLimits(c *Config, val func(string) string) {
	if s := val(EnvMaxResponseBytes); s != "" {
		c.MaxResponseBytes = -1
		if q, err := resource.ParseQuantity(s); err == nil && q.Sign() > 0 {
			c.MaxResponseBytes = q.Value()
		}
	}
	if s := val(EnvMaxSeries); s != "" {
		c.MaxSeries = -1
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			c.MaxSeries = n
		}
	}
}

// limitResponses wraps next so that every response body fails to read once it exceeds
// maxBytes bytes or maxSeries series. The check runs while the body streams in, before
// client_golang buffers and decodes it, so an oversized answer is read no further than the
// limit and never decoded.
func limitResponses(next http.RoundTripper, maxBytes int64, maxSeries int) http.RoundTripper {
	return &limitRoundTripper{next: next, maxBytes: maxBytes, maxSeries: maxSeries}
}

type limitRoundTripper struct {
	next      http.RoundTripper
	maxBytes  int64
	maxSeries int
}

func (l *limitRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, maxBytes: l.maxBytes, maxSeries: l.maxSeries}
	return resp, nil
}

// Values of the limit label of wva_collector_response_limit_exceeded_total.
const (
	limitBytes  = "bytes"
	limitSeries = "series"
)

// limitError says which limit a response exceeded. It wraps collector.ErrResponseTooLarge.
type limitError struct {
	limit string // limitBytes or limitSeries
	max   int64
}

func (e *limitError) Error() string {
	if e.limit == limitSeries {
		return fmt.Sprintf("the Prometheus response has more than %d series, the limit set by %s", e.max, EnvMaxSeries)
	}
	return fmt.Sprintf("the Prometheus response is larger than %d bytes, the limit set by %s", e.max, EnvMaxResponseBytes)
}

func (e *limitError) Unwrap() error { return collector.ErrResponseTooLarge }

// limitedBody passes a response body through until it exceeds a limit, then fails every read.
type limitedBody struct {
	io.ReadCloser
	maxBytes  int64
	maxSeries int
	read      int64
	series    seriesCounter
	err       error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	// Read at most one byte beyond the limit: enough to tell that the body is larger. (room+1
	// cannot overflow here: room < len(p).)
	if room := b.maxBytes - b.read; int64(len(p)) > room {
		p = p[:room+1]
	}
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	if b.read > b.maxBytes {
		n -= int(b.read - b.maxBytes)
		b.err = &limitError{limit: limitBytes, max: b.maxBytes}
	}
	if b.series.scan(p[:n]) > b.maxSeries {
		b.err = &limitError{limit: limitSeries, max: int64(b.maxSeries)}
	}
	if b.err != nil {
		return n, b.err
	}
	return n, err
}

// seriesCounter counts the series of a Prometheus API response as its bytes stream by: the
// objects that are elements of an array inside an object inside the top-level object, i.e. the
// samples of data.result (whose other members are strings; warnings and infos are arrays of
// strings one level up). It follows JSON strings and escapes, so label values cannot fool it,
// and ignores whitespace.
type seriesCounter struct {
	// outer holds the kinds ('{' or '[') of the three outermost open containers.
	outer    [3]byte
	depth    int
	inString bool
	escaped  bool
	n        int
}

// scan consumes p and returns the number of series seen so far.
func (c *seriesCounter) scan(p []byte) int {
	for _, ch := range p {
		if c.inString {
			switch {
			case c.escaped:
				c.escaped = false
			case ch == '\\':
				c.escaped = true
			case ch == '"':
				c.inString = false
			}
			continue
		}
		switch ch {
		case '"':
			c.inString = true
		case '{', '[':
			if ch == '{' && c.depth == 3 && c.outer == [3]byte{'{', '{', '['} {
				c.n++
			}
			if c.depth < len(c.outer) {
				c.outer[c.depth] = ch
			}
			c.depth++
		case '}', ']':
			if c.depth > 0 {
				c.depth--
			}
		}
	}
	return c.n
}

// countLimit counts err in m when it is a limitError.
func (m *Metrics) countLimit(query string, err error) {
	if le, ok := errors.AsType[*limitError](err); ok {
		m.limitExceeded.WithLabelValues(le.limit, query).Inc()
	}
}
