package promsource

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unsafe"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// queryClient runs instant queries against Prometheus's /api/v1/query and decodes each answer
// in one json-iterator pass. promv1.API's Query reads the same answer three times: encoding/json
// validates the envelope and copies its data field out, then json-iterator decodes the copy. At
// 10,000 pods those two extra passes were about 60 % of what decoding a cycle's queries cost
// (BenchmarkQueryDecode in test/scale). The HTTP round trip, authentication, TLS and the
// response limits stay client_golang's and the RoundTripper's; the request (a form POST, a GET
// when the server refuses POST) and the errors (a *promv1.Error of the same type and message)
// are those of promv1.API, which TestQueryClientMatchesPromV1 holds it to against a real
// Prometheus.
type queryClient struct {
	client api.Client
	// timeout is sent as the query's evaluation timeout; 0 sends none.
	timeout time.Duration
}

var _ QueryAPI = (*queryClient)(nil)

// queryJSON decodes the envelope. It is configured as encoding/json behaves, as promv1 is.
var queryJSON = jsoniter.ConfigCompatibleWithStandardLibrary

// Query evaluates query at ts (now when ts is zero). opts are not read: promv1's options are
// opaque, and the Source sets only the timeout, which this client takes from its Config.
func (c *queryClient) Query(ctx context.Context, query string, ts time.Time, _ ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error) {
	form := url.Values{"query": {query}}
	if !ts.IsZero() {
		form.Set("time", strconv.FormatFloat(float64(ts.Unix())+float64(ts.Nanosecond())/1e9, 'f', -1, 64))
	}
	if c.timeout > 0 {
		// In seconds: Prometheus reads a float of seconds, but not every Duration.String
		// ("1.5s") as a duration.
		form.Set("timeout", strconv.FormatFloat(c.timeout.Seconds(), 'f', -1, 64))
	}
	u := c.client.URL("/api/v1/query", nil)
	encoded := form.Encode()
	req, err := http.NewRequest(http.MethodPost, u.String(), strings.NewReader(encoded))
	if err != nil {
		return nil, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// A query changes nothing: the transport may retry it on a broken keep-alive connection.
	req.Header["Idempotency-Key"] = nil
	resp, body, err := c.client.Do(ctx, req)
	if err == nil && refusesPost(resp.StatusCode) {
		u.RawQuery = encoded
		if req, err = http.NewRequest(http.MethodGet, u.String(), nil); err != nil {
			return nil, nil, nil, err
		}
		resp, body, err = c.client.Do(ctx, req)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	return decodeQueryResponse(resp.StatusCode, body)
}

// refusesPost reports whether a status answers a POST with "use GET" (a proxy or an old
// Prometheus in front of the API).
func refusesPost(code int) bool {
	return code == http.StatusForbidden || code == http.StatusMethodNotAllowed || code == http.StatusNotImplemented
}

// queryResponse is the API's envelope around an instant query's result.
type queryResponse struct {
	Status    string           `json:"status"`
	Data      queryData        `json:"data"`
	ErrorType promv1.ErrorType `json:"errorType"`
	Error     string           `json:"error"`
	Warnings  []string         `json:"warnings"`
	Infos     []string         `json:"infos"`
}

// queryData is the envelope's data: the result, of the type resultType names.
type queryData struct {
	value model.Value
}

func init() {
	jsoniter.RegisterTypeDecoderFunc("promsource.queryData", decodeQueryData)
}

// decodeQueryData decodes {"resultType": t, "result": r}. Prometheus writes resultType first,
// and the result is then decoded as it is read; otherwise it is kept and decoded at the end.
// A vector's samples go through decodeSample.
func decodeQueryData(ptr unsafe.Pointer, iter *jsoniter.Iterator) {
	d := (*queryData)(ptr)
	var (
		typ     string
		pending []byte
	)
	if iter.WhatIsNext() == jsoniter.NilValue {
		iter.Skip()
		return
	}
	iter.ReadObjectCB(func(iter *jsoniter.Iterator, field string) bool {
		switch {
		case strings.EqualFold(field, "resultType"):
			typ = iter.ReadString()
		case strings.EqualFold(field, "result"):
			if typ == "" {
				pending = iter.SkipAndReturnBytes()
				return iter.Error == nil
			}
			d.value = readResult(iter, typ)
		default:
			iter.Skip()
		}
		return iter.Error == nil
	})
	if iter.Error != nil || pending == nil {
		return
	}
	sub := queryJSON.BorrowIterator(pending)
	defer queryJSON.ReturnIterator(sub)
	if d.value = readResult(sub, typ); sub.Error != nil {
		iter.ReportError("decode query result", sub.Error.Error())
	}
}

// readResult reads a result of type typ from iter.
func readResult(iter *jsoniter.Iterator, typ string) model.Value {
	var v model.Value
	switch typ {
	case model.ValVector.String():
		vec := model.Vector{}
		iter.ReadVal(&vec)
		v = vec
	case model.ValMatrix.String():
		m := model.Matrix{}
		iter.ReadVal(&m)
		v = m
	case model.ValScalar.String():
		s := &model.Scalar{}
		iter.ReadVal(s)
		v = s
	case model.ValString.String():
		s := &model.String{}
		iter.ReadVal(s)
		v = s
	default:
		iter.ReportError("decode query result", fmt.Sprintf("unknown result type %q", typ))
	}
	return v
}

// decodeQueryResponse turns an answer into promv1.API's return values. Prometheus answers a bad
// query with 400 or 422 and an error envelope; any other non-2xx status is an error of the
// transport's kind, carrying the body as its detail.
func decodeQueryResponse(code int, body []byte) (model.Value, promv1.Warnings, promv1.Infos, error) {
	apiErr := code == http.StatusBadRequest || code == http.StatusUnprocessableEntity
	if code/100 != 2 && !apiErr {
		return nil, nil, nil, statusError(code, body)
	}
	var r queryResponse
	if err := queryJSON.Unmarshal(body, &r); err != nil {
		if apiErr {
			return nil, nil, nil, statusError(code, body)
		}
		return nil, r.Warnings, r.Infos, &promv1.Error{Type: promv1.ErrBadResponse, Msg: err.Error()}
	}
	switch {
	case apiErr && r.Status == "success":
		return nil, r.Warnings, r.Infos, &promv1.Error{Type: promv1.ErrBadResponse, Msg: "inconsistent body for response code"}
	case apiErr:
		if r.ErrorType == "" {
			r.ErrorType = promv1.ErrClient
		}
		if r.Error == "" {
			r.Error = fmt.Sprintf("client error: %d", code)
		}
		return nil, r.Warnings, r.Infos, &promv1.Error{Type: r.ErrorType, Msg: r.Error}
	case r.Status == "error":
		return r.Data.value, r.Warnings, r.Infos, &promv1.Error{Type: r.ErrorType, Msg: r.Error}
	}
	return r.Data.value, r.Warnings, r.Infos, nil
}

// statusError is the error for an answer whose status says it failed and whose body does not
// say why.
func statusError(code int, body []byte) error {
	e := &promv1.Error{Type: promv1.ErrBadResponse, Msg: fmt.Sprintf("bad response code %d", code), Detail: string(body)}
	switch code / 100 {
	case 4:
		e.Type, e.Msg = promv1.ErrClient, fmt.Sprintf("client error: %d", code)
	case 5:
		e.Type, e.Msg = promv1.ErrServer, fmt.Sprintf("server error: %d", code)
	}
	return e
}
