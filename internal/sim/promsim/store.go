package promsim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"

	promsource "github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector/prometheus"
)

// DefaultLookbackDelta is how far back an instant selector looks for a sample: Prometheus'
// default.
const DefaultLookbackDelta = 5 * time.Minute

// queryTimeout bounds one in-process query; the engine itself evaluates in microseconds.
const queryTimeout = time.Minute

// maxSamples bounds the samples one query may load, as --query.max-samples does.
const maxSamples = 50_000_000

// TSDB is an in-memory Prometheus TSDB (a head block, never compacted) with the PromQL engine
// over it. It implements promsource.QueryAPI. Appends and queries are safe for concurrent use.
type TSDB struct {
	dir    string
	head   *tsdb.Head
	engine *promql.Engine
}

var _ promsource.QueryAPI = (*TSDB)(nil)

// NewTSDB opens an empty TSDB. Its head keeps full chunks in a temporary directory, removed by
// Close.
func NewTSDB() (*TSDB, error) {
	dir, err := os.MkdirTemp("", "wva-promsim-")
	if err != nil {
		return nil, fmt.Errorf("creating the TSDB directory: %w", err)
	}
	opts := tsdb.DefaultHeadOptions()
	opts.ChunkDirRoot = dir
	opts.ChunkWriteQueueSize = 0 // write full chunks synchronously: no background goroutine
	head, err := tsdb.NewHead(nil, nil, nil, nil, opts, nil)
	if err == nil {
		err = head.Init(math.MinInt64)
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("opening the TSDB head: %w", err)
	}
	engine := promql.NewEngine(promql.EngineOpts{
		MaxSamples:           maxSamples,
		Timeout:              queryTimeout,
		LookbackDelta:        DefaultLookbackDelta,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
	})
	return &TSDB{dir: dir, head: head, engine: engine}, nil
}

// Close releases the head and removes its directory.
func (db *TSDB) Close() error {
	return errors.Join(db.head.Close(), os.RemoveAll(db.dir))
}

// Appender returns an appender of samples; Commit makes them visible to queries.
func (db *TSDB) Appender(ctx context.Context) storage.Appender { return db.head.Appender(ctx) }

// Querier implements storage.Queryable over the head.
func (db *TSDB) Querier(mint, maxt int64) (storage.Querier, error) {
	return tsdb.NewBlockQuerier(tsdb.NewRangeHead(db.head, mint, maxt), mint, maxt)
}

// Query evaluates an instant query at ts, as Prometheus' /api/v1/query does, and returns the
// result in client_golang's model types. Options (the HTTP API's timeout) do not apply in process.
func (db *TSDB) Query(ctx context.Context, query string, ts time.Time, _ ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error) {
	q, err := db.engine.NewInstantQuery(ctx, db, nil, query, ts)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("bad_data: %w", err)
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, nil, nil, fmt.Errorf("execution: %w", res.Err)
	}
	warnings, infos := res.Warnings.AsStrings(query, 0, 0)
	v, err := toModel(res.Value)
	return v, warnings, infos, err
}

// toModel converts a PromQL result to client_golang's model value, as the HTTP API's JSON
// round trip would.
func toModel(v parser.Value) (model.Value, error) {
	switch v := v.(type) {
	case promql.Vector:
		out := make(model.Vector, 0, len(v))
		for _, s := range v {
			if s.H != nil {
				return nil, errors.New("native histogram samples are not supported")
			}
			out = append(out, &model.Sample{Metric: toMetric(s.Metric), Value: model.SampleValue(s.F), Timestamp: model.Time(s.T)})
		}
		return out, nil
	case promql.Scalar:
		return &model.Scalar{Value: model.SampleValue(v.V), Timestamp: model.Time(v.T)}, nil
	case promql.String:
		return &model.String{Value: v.V, Timestamp: model.Time(v.T)}, nil
	case promql.Matrix:
		out := make(model.Matrix, 0, len(v))
		for _, s := range v {
			ss := &model.SampleStream{Metric: toMetric(s.Metric)}
			for _, p := range s.Floats {
				ss.Values = append(ss.Values, model.SamplePair{Timestamp: model.Time(p.T), Value: model.SampleValue(p.F)})
			}
			out = append(out, ss)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected PromQL result type %T", v)
}

func toMetric(ls labels.Labels) model.Metric {
	m := make(model.Metric, ls.Len())
	ls.Range(func(l labels.Label) { m[model.LabelName(l.Name)] = model.LabelValue(l.Value) })
	return m
}
