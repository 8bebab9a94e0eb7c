package promsource

import (
	"context"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	clocktesting "k8s.io/utils/clock/testing"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/saturation"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

func TestSeriesCounter(t *testing.T) {
	const two = `{"status":"success","data":{"resultType":"vector","result":[` +
		`{"metric":{"namespace":"a","pod":"p"},"value":[1,"1"]},{"metric":{},"value":[1,"2"]}]}}`
	cases := map[string]struct {
		body string
		want int
	}{
		"compact": {body: two, want: 2},
		"empty":   {body: `{"status":"success","data":{"resultType":"vector","result":[]}}`},
		"pretty": {body: "{\n  \"status\": \"success\",\n  \"data\": {\n    \"resultType\": \"vector\",\n    \"result\": [\n" +
			"      { \"metric\": { \"pod\": \"p\" }, \"value\": [ 1, \"1\" ] },\n      {\"metric\":{},\"value\":[1,\"1\"]}\n    ]\n  }\n}", want: 2},
		"braces and quotes in label values": {body: `{"status":"success","data":{"resultType":"vector","result":[` +
			`{"metric":{"model_name":"x\"}]},{\"metric\":{","pod":"\\"},"value":[1,"1"]}]}}`, want: 1},
		"warnings and infos are strings": {body: `{"status":"success","warnings":["{not a series}"],"infos":["[{"],` +
			`"data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}}`, want: 1},
		"matrix: the points are arrays": {body: `{"status":"success","data":{"resultType":"matrix","result":[` +
			`{"metric":{},"values":[[1,"1"],[2,"2"]]},{"metric":{},"values":[[1,"1"]]}]}}`, want: 2},
		"histogram samples are deeper": {body: `{"status":"success","data":{"resultType":"vector","result":[` +
			`{"metric":{},"histogram":[1,{"count":"1","buckets":[[0,"0","1","1"]]}]}]}}`, want: 1},
		"error": {body: `{"status":"error","errorType":"bad_data","error":"parse error"}`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var whole seriesCounter
			if got := whole.scan([]byte(tc.body)); got != tc.want {
				t.Errorf("scan(body) = %d, want %d", got, tc.want)
			}
			var bytewise seriesCounter // the body may arrive in pieces of any size
			got := 0
			for i := range len(tc.body) {
				got = bytewise.scan([]byte{tc.body[i]})
			}
			if got != tc.want {
				t.Errorf("scanned byte by byte: %d, want %d", got, tc.want)
			}
		})
	}
}

func TestLimitedBody(t *testing.T) {
	const sample = `{"metric":{},"value":[1,"1"]}`
	body := func(n int) string {
		return `{"status":"success","data":{"resultType":"vector","result":[` +
			strings.TrimSuffix(strings.Repeat(sample+",", n), ",") + `]}}`
	}
	three := body(3)
	cases := map[string]struct {
		body      string
		maxBytes  int64
		maxSeries int
		wantLimit string // "" = the whole body is read
	}{
		"at both limits":      {body: three, maxBytes: int64(len(three)), maxSeries: 3},
		"one byte too many":   {body: three, maxBytes: int64(len(three)) - 1, maxSeries: 3, wantLimit: limitBytes},
		"one series too many": {body: three, maxBytes: 1 << 20, maxSeries: 2, wantLimit: limitSeries},
		"far too large":       {body: body(10_000), maxBytes: 1000, maxSeries: 1 << 20, wantLimit: limitBytes},
		"largest limits":      {body: three, maxBytes: math.MaxInt64, maxSeries: math.MaxInt},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			b := &limitedBody{ReadCloser: io.NopCloser(strings.NewReader(tc.body)), maxBytes: tc.maxBytes, maxSeries: tc.maxSeries}
			got, err := io.ReadAll(b)
			if tc.wantLimit == "" {
				if err != nil || string(got) != tc.body {
					t.Fatalf("ReadAll = %d bytes, %v; want the whole body", len(got), err)
				}
				return
			}
			le, ok := errors.AsType[*limitError](err)
			if !ok || le.limit != tc.wantLimit || !errors.Is(err, collector.ErrResponseTooLarge) {
				t.Fatalf("ReadAll error = %v, want the %s limit wrapping ErrResponseTooLarge", err, tc.wantLimit)
			}
			if int64(len(got)) > tc.maxBytes {
				t.Errorf("read %d bytes past a limit of %d", len(got), tc.maxBytes)
			}
			if _, again := b.Read(make([]byte, 10)); !errors.Is(again, err) {
				t.Errorf("read after the limit: %v, want the same error", again)
			}
		})
	}
}

func TestLimitsFromEnvAndConfigMap(t *testing.T) {
	base := map[string]string{EnvBaseURL: "https://p:9090"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := map[string]struct {
		data                   map[string]string
		wantBytes              int64
		wantSeries             int
		wantErr                []string
		effectiveB, effectiveS int64
	}{
		"unset: defaults": {data: base, effectiveB: DefaultMaxResponseBytes, effectiveS: DefaultMaxSeries},
		"byte count and series": {data: with(EnvMaxResponseBytes, " 1048576 ", EnvMaxSeries, "1000"),
			wantBytes: 1 << 20, wantSeries: 1000, effectiveB: 1 << 20, effectiveS: 1000},
		"quantity": {data: with(EnvMaxResponseBytes, "64Mi"), wantBytes: 64 << 20,
			effectiveB: 64 << 20, effectiveS: DefaultMaxSeries},
		"garbage": {data: with(EnvMaxResponseBytes, "lots", EnvMaxSeries, "many"), wantBytes: -1, wantSeries: -1,
			wantErr: []string{EnvMaxResponseBytes + " must be a positive byte count", EnvMaxSeries + " must be a positive integer"}},
		"zero and negative": {data: with(EnvMaxResponseBytes, "0", EnvMaxSeries, "-5"), wantBytes: -1, wantSeries: -1,
			wantErr: []string{EnvMaxResponseBytes, EnvMaxSeries}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			fromEnv, _ := ConfigFromEnvAndConfigMap(func(k string) string { return tc.data[k] }, nil)
			fromCM, _ := ConfigFromEnvAndConfigMap(func(string) string { return "" }, tc.data)
			for src, cfg := range map[string]Config{"env": fromEnv, "ConfigMap": fromCM} {
				if cfg.MaxResponseBytes != tc.wantBytes || cfg.MaxSeries != tc.wantSeries {
					t.Errorf("%s: MaxResponseBytes, MaxSeries = %d, %d; want %d, %d", src, cfg.MaxResponseBytes, cfg.MaxSeries, tc.wantBytes, tc.wantSeries)
				}
				err := cfg.Validate()
				if len(tc.wantErr) == 0 {
					if err != nil {
						t.Errorf("%s: Validate() = %v", src, err)
					}
					if b, s := cfg.EffectiveMaxResponseBytes(), cfg.EffectiveMaxSeries(); b != tc.effectiveB || int64(s) != tc.effectiveS {
						t.Errorf("%s: effective limits %d bytes, %d series; want %d, %d", src, b, s, tc.effectiveB, tc.effectiveS)
					}
					continue
				}
				for _, want := range tc.wantErr {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("%s: Validate() = %v, want it to contain %q", src, err, want)
					}
				}
			}
		})
	}
}

const hugeModel = "meta-llama/Llama-3.1-8B-Instruct"

// TestCollectRefusesHugeResponses: a Prometheus answering one query with 100,000 series (or
// with more bytes than allowed) fails the collection with ErrResponseTooLarge, naming the query
// and the limit, and counts it; the same server with a normal answer is read as usual.
func TestCollectRefusesHugeResponses(t *testing.T) {
	fx := newServingFixture(t, hugeModel)
	f := startVectorServer(t, hugeModel, fx.pods...)
	tgt := fx.target
	wantObs := collector.VariantObservation{TargetFound: true, CurrentReplicas: 2, ReadyReplicas: 2, KvCacheTokens: 32768,
		Metrics: found(), Pods: []analysis.PodMetrics{
			{Name: fx.pods[0].Name, KvCacheUsage: 0.9, QueueLength: 10, RunningRequests: 8, MeanRunningRequests: 6, ITLMedianSeconds: 0.02,
				MeanPromptTokens: 1000, MeanPrefillSeconds: 0.05, FinishRate: 2},
			{Name: fx.pods[1].Name, KvCacheUsage: 0.9, QueueLength: 10, RunningRequests: 8, MeanRunningRequests: 6, ITLMedianSeconds: 0.02,
				MeanPromptTokens: 1000, MeanPrefillSeconds: 0.05, FinishRate: 2}}}

	cases := map[string]struct {
		cfg     Config
		extra   map[string]int
		wantErr []string // substrings; none means the collection succeeds
		limit   string
	}{
		"normal response":           {},
		"10,000 variants of 2 pods": {extra: allQueries(20_000)},
		"100k series": {extra: map[string]int{QueryRequestsWaiting: 100_000}, limit: limitSeries,
			wantErr: []string{"querying num_requests_waiting: ", "more than 30000 series", EnvMaxSeries}},
		"100k series in every query": {extra: allQueries(100_000), limit: limitSeries,
			wantErr: []string{"more than 30000 series", "(and 9 more of 10 queries failed)"}},
		"too many bytes": {cfg: Config{MaxResponseBytes: 64 << 10}, extra: map[string]int{QueryKvCacheBlocks: 1000}, limit: limitBytes,
			wantErr: []string{"querying kv_cache_blocks: ", "larger than 65536 bytes", EnvMaxResponseBytes}},
		"lower series limit": {cfg: Config{MaxSeries: 100}, extra: map[string]int{QueryLastSample: 99}, limit: limitSeries,
			wantErr: []string{"querying last_sample: ", "more than 100 series"}},
		"at the series limit": {cfg: Config{MaxSeries: 101}, extra: map[string]int{QueryLastSample: 99}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f.setExtra(tc.extra)
			m, err := NewMetrics(prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			// A long query timeout: the first answer of 100k series is rendered in the request, which
			// takes seconds under the race detector; the timeout is not under test.
			snap, err := f.source(t, tc.cfg, WithMetrics(m), WithQueryTimeout(time.Minute)).Collect(context.Background(), []collector.Target{tgt}, time.Now())
			t.Logf("Collect: %v after %s", err, time.Since(start).Round(time.Millisecond))
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Collect: %v", err)
				}
				if diff := cmp.Diff(wantObs, snap.Variants[tgt.VariantAutoscaling], ignoreMessages); diff != "" {
					t.Errorf("observation (-want +got):\n%s", diff)
				}
				if n := promtestutil.CollectAndCount(m.limitExceeded); n != 0 {
					t.Errorf("%d limit counters, want none", n)
				}
				return
			}
			if !errors.Is(err, collector.ErrResponseTooLarge) {
				t.Fatalf("Collect error = %v, want ErrResponseTooLarge", err)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if snap.Variants != nil {
				t.Errorf("observations %v, want none", snap.Variants)
			}
			total := 0.0
			for q, n := range tc.extra {
				if n > 0 {
					total += promtestutil.ToFloat64(m.limitExceeded.WithLabelValues(tc.limit, q))
				}
			}
			if want := float64(len(tc.extra)); total != want {
				t.Errorf("wva_collector_response_limit_exceeded_total{limit=%q} = %v, want %v", tc.limit, total, want)
			}
		})
	}
}

// TestEngineHoldsDecisionOnHugeResponse runs the saturation engine on the real Source: after a
// scale-up, a cycle in which Prometheus answers 100,000 series keeps the scale-up target, with
// MetricsAvailable=False and the reason MetricsLimitExceeded; the next normal cycle decides again.
func TestEngineHoldsDecisionOnHugeResponse(t *testing.T) {
	fx := newServingFixture(t, hugeModel)
	f := startVectorServer(t, hugeModel, fx.pods...)
	va := testutil.VariantAutoscaling(fx.target.VariantAutoscaling.Name).Namespace(fx.target.VariantAutoscaling.Namespace).
		Model(hugeModel).Target(fx.target.Deployment).Obj()
	vas := common.NewVACache()
	vas.Update(va)
	decisions := common.NewInternalDecisionCache()
	clk := clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := saturation.New(f.source(t, Config{}, WithMetrics(m), WithQueryTimeout(time.Minute)), vas, common.NewGlobalConfig(), decisions,
		common.NewDecisionTrigger(), saturation.WithClock(clk), saturation.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	cycle := func() {
		t.Helper()
		clk.Step(30 * time.Second)
		if err := engine.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	cycle()
	first, _ := decisions.Get(va.Name, va.Namespace)
	if first.TargetReplicas <= 2 || !first.MetricsAvailable {
		t.Fatalf("setup: 2 pods at KV 0.9 with 10 waiting requests: %+v, want a scale-up on fresh metrics", first)
	}

	f.setExtra(map[string]int{QueryRequestsWaiting: 100_000})
	cycle()
	held, _ := decisions.Get(va.Name, va.Namespace)
	t.Logf("held: %s (%s)", held.Reason, held.MetricsMessage)
	if held.TargetReplicas != first.TargetReplicas || held.MetricsAvailable || held.MetricsReason != wvav1alpha1.ReasonMetricsLimitExceeded {
		t.Errorf("after a 100k-series answer: target %d, metrics available %v, reason %q; want %d held, false, %q",
			held.TargetReplicas, held.MetricsAvailable, held.MetricsReason, first.TargetReplicas, wvav1alpha1.ReasonMetricsLimitExceeded)
	}
	if !strings.Contains(held.MetricsMessage, "querying num_requests_waiting") || !strings.Contains(held.MetricsMessage, EnvMaxSeries) {
		t.Errorf("message %q does not name the query and the setting", held.MetricsMessage)
	}
	if got := promtestutil.ToFloat64(m.limitExceeded.WithLabelValues(limitSeries, QueryRequestsWaiting)); got != 1 {
		t.Errorf("limit counter = %v, want 1", got)
	}

	f.setExtra(nil)
	cycle()
	if d, _ := decisions.Get(va.Name, va.Namespace); !d.MetricsAvailable || d.MetricsReason != wvav1alpha1.ReasonMetricsFound {
		t.Errorf("after the answer shrank again: %+v, want fresh metrics", d)
	}
}
