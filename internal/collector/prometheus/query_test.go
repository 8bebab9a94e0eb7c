package promsource

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// queryOutcome is what one Query call returned, in a comparable form.
type queryOutcome struct {
	Value    model.Value
	Warnings promv1.Warnings
	Infos    promv1.Infos
	ErrType  promv1.ErrorType
	ErrMsg   string
	Detail   string
	OtherErr string
}

func outcome(v model.Value, w promv1.Warnings, i promv1.Infos, err error) queryOutcome {
	o := queryOutcome{Value: v, Warnings: w, Infos: i}
	var perr *promv1.Error
	switch {
	case errors.As(err, &perr):
		o.ErrType, o.ErrMsg, o.Detail = perr.Type, perr.Msg, perr.Detail
		// On an error promv1 returns no value; neither need we. Our message for a malformed
		// body names json-iterator's position rather than encoding/json's: only the type is
		// compared there.
		o.Value = nil
		if perr.Type == promv1.ErrBadResponse && !strings.HasPrefix(perr.Msg, "bad response code") && perr.Msg != "inconsistent body for response code" {
			o.ErrMsg = ""
		}
	case err != nil:
		o.OtherErr = err.Error()
	}
	return o
}

// sameOutcome compares two outcomes, NaN equal to NaN.
func sameOutcome(a, b queryOutcome) string {
	return cmp.Diff(a, b, nanEqual)
}

// bothClients returns our client and promv1's for address, over the same transport.
func bothClients(t testing.TB, address string, rt http.RoundTripper) (*queryClient, promv1.API) {
	c, err := api.NewClient(api.Config{Address: address, RoundTripper: rt})
	if err != nil {
		t.Fatal(err)
	}
	return &queryClient{client: c}, promv1.NewAPI(c)
}

// TestQueryClientMatchesPromV1 runs the same queries through queryClient and promv1.API
// against the package's real Prometheus: vectors (with data and empty), a scalar, a string, a
// matrix, and queries Prometheus rejects.
func TestQueryClientMatchesPromV1(t *testing.T) {
	ours, ref := bothClients(t, prom.URL, nil)
	// On a whole millisecond: Prometheus rounds the time it is sent to the millisecond, and a
	// string result carries it back.
	now := time.Now().Truncate(time.Millisecond)
	for _, q := range []string{
		`up`,
		`sum by (job) (up)`,
		`up{job="no-such-job"}`,
		`1 + 1`,
		`"text"`,
		`up[1m]`,
		`sum(`,                  // bad_data, 400
		`rate(up[1m]`,           // bad_data, 400
		`histogram_quantile(1)`, // wrong argument count
		`label_replace(up, "x", "$1", "instance", "(.*)")`,
		`up / 0`, // +Inf
	} {
		got := outcome(ours.Query(context.Background(), q, now))
		want := outcome(ref.Query(context.Background(), q, now))
		if q == `"text"` {
			// promv1 (v1.25) fails to decode a string result; this client reads it.
			want = queryOutcome{Value: &model.String{Value: "text", Timestamp: model.TimeFromUnixNano(now.UnixNano())}}
		}
		if d := sameOutcome(want, got); d != "" {
			t.Errorf("%s: (-promv1 +ours)\n%s", q, d)
		}
		if q == `up` {
			if vec, ok := got.Value.(model.Vector); !ok || len(vec) != len(scenarios) {
				t.Errorf("up: %v, want %d series", got.Value, len(scenarios))
			}
		}
	}
	// The evaluation time is sent: a query at a time before any scrape finds nothing.
	v, _, _, err := ours.Query(context.Background(), `up`, now.Add(-24*time.Hour))
	if vec, ok := v.(model.Vector); err != nil || !ok || len(vec) != 0 {
		t.Errorf("up a day ago: %v, %v; want an empty vector", v, err)
	}
}

// fixedAnswer is an HTTP server that answers every request with one status and body, and
// records the requests.
type fixedAnswer struct {
	mu       sync.Mutex
	code     int
	body     string
	postCode int // when set, the status for a POST (with an empty body)
	requests []*http.Request
	forms    []url.Values
}

func (f *fixedAnswer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.mu.Lock()
	f.requests = append(f.requests, r)
	f.forms = append(f.forms, r.Form)
	code, body, postCode := f.code, f.body, f.postCode
	f.mu.Unlock()
	if r.Method == http.MethodPost && postCode != 0 {
		w.WriteHeader(postCode)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

var answerCases = map[string]struct {
	code int
	body string
}{
	"vector":             {200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"p"},"value":[1.5,"2"]}]}}`},
	"data first":         {200, `{"data":{"result":[{"metric":{"pod":"p"},"value":[1.5,"2"]}],"resultType":"vector"},"status":"success"}`},
	"empty vector":       {200, `{"status":"success","data":{"resultType":"vector","result":[]}}`},
	"warnings":           {200, `{"status":"success","warnings":["w1","w2"],"infos":["i"],"data":{"resultType":"vector","result":[]}}`},
	"scalar":             {200, `{"status":"success","data":{"resultType":"scalar","result":[3,"NaN"]}}`},
	"string":             {200, `{"status":"success","data":{"resultType":"string","result":[3,"s"]}}`},
	"matrix":             {200, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[1,"1"],[2,"2"]]}]}}`},
	"bad data":           {400, `{"status":"error","errorType":"bad_data","error":"parse error"}`},
	"execution":          {422, `{"status":"error","errorType":"execution","error":"too many samples","warnings":["w"]}`},
	"empty 422":          {422, `{"status":"error"}`},
	"inconsistent":       {400, `{"status":"success","data":{"resultType":"vector","result":[]}}`},
	"error on 200":       {200, `{"status":"error","errorType":"timeout","error":"query timed out"}`},
	"server error":       {503, `Service Unavailable`},
	"not found":          {404, `404 page not found`},
	"redirect-ish":       {304, ``},
	"html 400":           {400, `<html>bad</html>`},
	"malformed":          {200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"p"},"value":[1.5,"x"]}]}}`},
	"truncated":          {200, `{"status":"success","data":{"resultType":"vector","result":[`},
	"unknown type":       {200, `{"status":"success","data":{"resultType":"histogram","result":[]}}`},
	"null data":          {200, `{"status":"success","data":null}`},
	"no data":            {200, `{"status":"success"}`},
	"native histogram":   {200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"h"},"histogram":[6,{"count":"10","sum":"2.5","buckets":[[0,"0.1","0.2","4"]]}]}]}}`},
	"extra envelope key": {200, `{"status":"success","extra":{"x":[1]},"data":{"resultType":"vector","result":[],"stats":{"a":1}}}`},
}

// TestQueryClientMatchesPromV1Answers: on every kind of answer, well-formed or not, queryClient
// returns what promv1.API returns.
func TestQueryClientMatchesPromV1Answers(t *testing.T) {
	for name, tc := range answerCases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(&fixedAnswer{code: tc.code, body: tc.body})
			defer srv.Close()
			ours, ref := bothClients(t, srv.URL, nil)
			got := outcome(ours.Query(context.Background(), "q", time.Unix(10, 0)))
			want := outcome(ref.Query(context.Background(), "q", time.Unix(10, 0)))
			if name == "string" { // promv1 (v1.25) fails to decode a string result
				want = queryOutcome{Value: &model.String{Value: "s", Timestamp: 3000}}
			}
			if d := sameOutcome(want, got); d != "" {
				t.Errorf("(-promv1 +ours)\n%s", d)
			}
		})
	}
}

// TestQueryClientRequest: the query, its time and the timeout are sent as a form POST; a server
// that refuses POST is asked again with GET.
func TestQueryClientRequest(t *testing.T) {
	for _, refuse := range []int{0, http.StatusMethodNotAllowed, http.StatusForbidden, http.StatusNotImplemented} {
		f := &fixedAnswer{code: 200, body: answerCases["vector"].body, postCode: refuse}
		srv := httptest.NewServer(f)
		c, err := api.NewClient(api.Config{Address: srv.URL + "/prefix"})
		if err != nil {
			t.Fatal(err)
		}
		qc := &queryClient{client: c, timeout: 1500 * time.Millisecond}
		v, _, _, err := qc.Query(context.Background(), `sum(x{a="b c"})`, time.Unix(1712345678, 250_000_000))
		srv.Close()
		if vec, ok := v.(model.Vector); err != nil || !ok || len(vec) != 1 || vec[0].Value != 2 {
			t.Fatalf("POST refused with %d: %v, %v", refuse, v, err)
		}
		want := 1
		if refuse != 0 {
			want = 2
		}
		if len(f.requests) != want {
			t.Fatalf("POST refused with %d: %d requests, want %d", refuse, len(f.requests), want)
		}
		last := f.requests[want-1]
		if wantMethod := map[bool]string{true: http.MethodPost, false: http.MethodGet}[refuse == 0]; last.Method != wantMethod || last.URL.Path != "/prefix/api/v1/query" {
			t.Errorf("POST refused with %d: %s %s, want %s /prefix/api/v1/query", refuse, last.Method, last.URL.Path, wantMethod)
		}
		form := f.forms[want-1]
		if form.Get("query") != `sum(x{a="b c"})` || form.Get("time") != "1712345678.25" || form.Get("timeout") != "1.5" {
			t.Errorf("POST refused with %d: form %v", refuse, form)
		}
	}
	// No timeout configured, no time given: neither is sent.
	f := &fixedAnswer{code: 200, body: answerCases["vector"].body}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, _ := api.NewClient(api.Config{Address: srv.URL})
	if _, _, _, err := (&queryClient{client: c}).Query(context.Background(), "up", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if form := f.forms[0]; form.Has("timeout") || form.Has("time") {
		t.Errorf("form %v, want neither time nor timeout", form)
	}
}

// TestNewAPISendsQueryTimeout: the client NewAPI builds sends the Config's query timeout.
func TestNewAPISendsQueryTimeout(t *testing.T) {
	f := &fixedAnswer{code: 200, body: answerCases["empty vector"].body}
	srv := httptest.NewServer(f)
	defer srv.Close()
	a, err := NewAPI(Config{BaseURL: srv.URL, AllowHTTP: true, QueryTimeout: 7 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := a.Query(context.Background(), "up", time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := f.forms[0].Get("timeout"); got != "7" {
		t.Errorf("timeout %q, want 7", got)
	}
}

// bodyTransport answers every request with one 200 body, without a network.
type bodyTransport []byte

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(b)), Request: r}, nil
}

// FuzzQueryResponse: no answer panics queryClient, and where promv1.API decodes an answer
// without error, queryClient gives the same result.
func FuzzQueryResponse(f *testing.F) {
	for _, tc := range answerCases {
		f.Add([]byte(tc.body))
	}
	for _, in := range sampleCases {
		f.Add([]byte(`{"status":"success","data":{"resultType":"vector","result":` + in + `}}`))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ours, ref := bothClients(t, "http://prometheus.invalid", bodyTransport(body))
		gv, gw, gi, gerr := ours.Query(context.Background(), "q", time.Unix(1, 0))
		rv, rw, ri, rerr := ref.Query(context.Background(), "q", time.Unix(1, 0))
		if rerr != nil {
			return // either may be more lenient on a malformed answer; neither may panic
		}
		if d := sameOutcome(outcome(rv, rw, ri, rerr), outcome(gv, gw, gi, gerr)); d != "" {
			t.Fatalf("%q: (-promv1 +ours)\n%s", body, d)
		}
	})
}
