package promsource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
)

// The inference gateway's (llm-d EPP's) flow-control queue: requests the gateway holds because
// no endpoint can take them, for instance while a model has no replica. Both names carry the
// labels fairness_id, priority, inference_pool, model_name and target_model_name; llm-d renamed
// the family to the llm_d_epp_ prefix and still exports the old name, deprecated.
const (
	MetricFlowControlQueueSize       = "llm_d_epp_flow_control_queue_size"
	MetricLegacyFlowControlQueueSize = "inference_extension_flow_control_queue_size"
	// labelTargetModel is the model name after the gateway's rewrite: the one vLLM serves.
	labelTargetModel = "target_model_name"
	// labelDemandIndex tags each user query's result with its position in the batch.
	labelDemandIndex = "wva_demand_query"
)

// QueryWaitingDemand names the batched query of WaitingDemand in errors.
const QueryWaitingDemand = "waiting_demand"

// BuildDemandQuery returns one PromQL query reading the waiting demand of every model of
// models: the gateway's flow-control queue summed per namespace and target model for those
// without a Query (the newer metric name where a gateway exports both), and each Query summed
// and tagged with its index (label wva_demand_query) for the others. Models with the same Query
// share one entry. The gateway part names the namespaces only, like BuildQueries.
func BuildDemandQuery(models []collector.IdleModel) (string, []string) {
	var namespaces, custom []string
	for _, m := range models {
		if m.Query == "" {
			namespaces = append(namespaces, m.Model.Namespace)
		} else if !slices.Contains(custom, m.Query) {
			custom = append(custom, m.Query)
		}
	}
	var parts []string
	if len(namespaces) > 0 {
		slices.Sort(namespaces)
		sel := "{" + labelNamespace + "=~" + regexAlternation(slices.Compact(namespaces)) + "," + labelTargetModel + `!=""}`
		by := "sum by (" + labelNamespace + ", " + labelTargetModel + ") "
		parts = append(parts, by+"("+MetricFlowControlQueueSize+sel+") or "+by+"("+MetricLegacyFlowControlQueueSize+sel+")")
	}
	for i, q := range custom {
		parts = append(parts, demandPart(i, q))
	}
	return strings.Join(parts, " or "), custom
}

// demandPart is user query q, summed and tagged with index i.
func demandPart(i int, q string) string {
	return "label_replace(sum(" + q + "), " + strconv.Quote(labelDemandIndex) + ", " + strconv.Quote(strconv.Itoa(i)) + `, "", "")`
}

// WaitingDemand reads, in one query evaluated at now, the number of requests waiting for each
// of models (see BuildDemandQuery). A model the query returns no finite value for is left out of
// the result: no reading is not a reading of 0. When the batch fails and it holds user queries,
// each part is queried on its own, so one invalid demandQuery costs only its models: the
// readings of the parts that worked are returned with an error naming the others.
func (s *Source) WaitingDemand(ctx context.Context, models []collector.IdleModel, now time.Time) (map[collector.ModelKey]float64, error) {
	if len(models) == 0 {
		return map[collector.ModelKey]float64{}, nil
	}
	promql, custom := BuildDemandQuery(models)
	vec, err := s.query(ctx, Query{Name: QueryWaitingDemand, PromQL: promql}, now)
	if err == nil {
		return demandReadings(models, custom, vec), nil
	}
	if len(custom) == 0 {
		return nil, err
	}
	// One part at a time: find the ones that fail.
	var all model.Vector
	var errs []error
	if slices.ContainsFunc(models, func(m collector.IdleModel) bool { return m.Query == "" }) {
		gw, _ := BuildDemandQuery(slices.DeleteFunc(slices.Clone(models), func(m collector.IdleModel) bool { return m.Query != "" }))
		v, err := s.query(ctx, Query{Name: QueryWaitingDemand, PromQL: gw}, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("the gateway queue: %w", err))
		}
		all = append(all, v...)
	}
	for i, q := range custom {
		v, err := s.query(ctx, Query{Name: QueryWaitingDemand, PromQL: demandPart(i, q)}, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("demandQuery %q: %w", q, err))
			continue
		}
		all = append(all, v...)
	}
	return demandReadings(models, custom, all), errors.Join(errs...)
}

// demandReadings maps the series of vec to models: a tagged series to every model of that
// query, an untagged one to the gateway model of its namespace and target model.
func demandReadings(models []collector.IdleModel, custom []string, vec model.Vector) map[collector.ModelKey]float64 {
	byQuery := map[int]float64{}
	gateway := map[collector.ModelKey]float64{}
	for _, s := range vec {
		v := float64(s.Value)
		if !validValue(v) {
			continue
		}
		if idx, ok := s.Metric[labelDemandIndex]; ok {
			if i, err := strconv.Atoi(string(idx)); err == nil && i >= 0 && i < len(custom) {
				byQuery[i] += v
			}
			continue
		}
		gateway[collector.ModelKey{Namespace: string(s.Metric[labelNamespace]), ModelID: string(s.Metric[labelTargetModel])}] += v
	}
	out := map[collector.ModelKey]float64{}
	for _, m := range models {
		if m.Query == "" {
			if v, ok := gateway[m.Model]; ok {
				out[m.Model] = v
			}
			continue
		}
		if v, ok := byQuery[slices.Index(custom, m.Query)]; ok {
			out[m.Model] = v
		}
	}
	return out
}
