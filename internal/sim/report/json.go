package report

import (
	"cmp"
	"encoding/json"
	"io"
)

// jsonReport is the document WriteJSON writes.
type jsonReport struct {
	Scenario   jsonScenario `json:"scenario"`
	Oracle     jsonPlan     `json:"oracle"`
	OracleWarm jsonPlan     `json:"oracleWarm"`
	Policies   []jsonPolicy `json:"policies"`
}

// jsonScenario holds the parameters of the scenario.
type jsonScenario struct {
	Name                string        `json:"name"`
	Trace               string        `json:"trace,omitempty"`
	RateScale           float64       `json:"rateScale"`
	Seed                uint64        `json:"seed"`
	Requests            int           `json:"requests"`
	DurationSeconds     float64       `json:"durationSeconds"`
	StartupDelaySeconds float64       `json:"startupDelaySeconds"`
	Metrics             string        `json:"metrics"`
	SLO                 jsonSLO       `json:"slo"`
	Variants            []jsonVariant `json:"variants"`
}

// jsonSLO holds the SLO targets in seconds.
type jsonSLO struct {
	TTFTSeconds float64 `json:"ttftSeconds"`
	ITLSeconds  float64 `json:"itlSeconds"`
}

// jsonVariant describes one variant of the scenario.
type jsonVariant struct {
	Name           string  `json:"name"`
	Profile        string  `json:"profile"`
	GPUsPerReplica int     `json:"gpusPerReplica"`
	CostPerGPUHour float64 `json:"costPerGPUHour"`
}

// jsonPlan is what an oracle's plan costs.
type jsonPlan struct {
	Cost     float64 `json:"cost"`
	GPUHours float64 `json:"gpuHours"`
}

// jsonPolicy is the score of one policy's run.
type jsonPolicy struct {
	Name                  string               `json:"name"`
	Setup                 string               `json:"setup,omitempty"`
	SLOAttainment         float64              `json:"sloAttainment"`
	FeasibleAttainment    float64              `json:"feasibleAttainment"`
	FeasibleRequests      int                  `json:"feasibleRequests"`
	GPUHours              float64              `json:"gpuHours"`
	Cost                  float64              `json:"cost"`
	CostRatioToOracle     float64              `json:"costRatioToOracle"`
	CostRatioToOracleWarm float64              `json:"costRatioToOracleWarm"`
	UnderProvisioned      bool                 `json:"underProvisioned"`
	P50TTFTSeconds        float64              `json:"p50TTFTSeconds"`
	P99TTFTSeconds        float64              `json:"p99TTFTSeconds"`
	P50ITLSeconds         float64              `json:"p50ITLSeconds"`
	P99ITLSeconds         float64              `json:"p99ITLSeconds"`
	Requests              int                  `json:"requests"`
	FinishedRequests      int                  `json:"finishedRequests"`
	UnfinishedRequests    int                  `json:"unfinishedRequests"`
	FailedRequests        int                  `json:"failedRequests"`
	RejectedRequests      int                  `json:"rejectedRequests"`
	ScaleEvents           int                  `json:"scaleEvents"`
	Reversals             int                  `json:"reversals"`
	Preemptions           int                  `json:"preemptions"`
	Variants              []jsonVariantOutcome `json:"variants"`
	Models                []jsonModelOutcome   `json:"models,omitempty"`
}

// jsonModelOutcome is one model's share of a policy's run (scenarios of several models only).
type jsonModelOutcome struct {
	Model              string  `json:"model"`
	Requests           int     `json:"requests"`
	SLOAttainment      float64 `json:"sloAttainment"`
	FeasibleAttainment float64 `json:"feasibleAttainment"`
	FeasibleRequests   int     `json:"feasibleRequests"`
	P50TTFTSeconds     float64 `json:"p50TTFTSeconds"`
	P99TTFTSeconds     float64 `json:"p99TTFTSeconds"`
	GPUHours           float64 `json:"gpuHours"`
	Cost               float64 `json:"cost"`
}

// jsonVariantOutcome is one variant's share of a policy's run.
type jsonVariantOutcome struct {
	Name            string  `json:"name"`
	PeakReplicas    int     `json:"peakReplicas"`
	ReplicasCreated int     `json:"replicasCreated"`
	GPUHours        float64 `json:"gpuHours"`
	Cost            float64 `json:"cost"`
	ScaleEvents     int     `json:"scaleEvents"`
	Reversals       int     `json:"reversals"`
}

// newJSONReport converts c to the document WriteJSON writes.
func newJSONReport(c Comparison) jsonReport {
	r := jsonReport{
		Scenario: jsonScenario{
			Name:                c.Name,
			Trace:               c.Config.Trace,
			RateScale:           c.Config.RateScale,
			Seed:                c.Config.Seed,
			Requests:            c.Requests,
			DurationSeconds:     c.Duration.Seconds(),
			StartupDelaySeconds: c.Config.StartupDelay.Seconds(),
			Metrics:             cmp.Or(c.Config.Metrics, MetricsPrometheus),
			SLO:                 jsonSLO{TTFTSeconds: c.Config.SLO.TTFT.Seconds(), ITLSeconds: c.Config.SLO.ITL.Seconds()},
		},
		Oracle:     jsonPlan{Cost: c.Oracle.Cost, GPUHours: c.Oracle.GPUHours},
		OracleWarm: jsonPlan{Cost: c.OracleWarm.Cost, GPUHours: c.OracleWarm.GPUHours},
		Policies:   make([]jsonPolicy, 0, len(c.Policies)),
	}
	for _, v := range c.Variants {
		r.Scenario.Variants = append(r.Scenario.Variants, jsonVariant{Name: v.Name, Profile: v.Profile.Name,
			GPUsPerReplica: v.Profile.GPUsPerReplica, CostPerGPUHour: v.Profile.CostPerGPUHour})
	}
	for _, p := range c.Policies {
		s := p.Score
		jp := jsonPolicy{
			Name:                  p.Name,
			SLOAttainment:         s.SLOAttainment,
			FeasibleAttainment:    s.FeasibleAttainment,
			FeasibleRequests:      s.Feasible,
			GPUHours:              s.GPUHours,
			Cost:                  s.Cost,
			CostRatioToOracle:     p.CostRatioToOracle,
			CostRatioToOracleWarm: p.CostRatioToOracleWarm,
			Setup:                 p.Setup,
			UnderProvisioned:      p.UnderProvisioned,
			P50TTFTSeconds:        s.TTFTP50.Seconds(),
			P99TTFTSeconds:        s.TTFTP99.Seconds(),
			P50ITLSeconds:         s.ITLP50.Seconds(),
			P99ITLSeconds:         s.ITLP99.Seconds(),
			Requests:              s.Requests,
			FinishedRequests:      s.Finished,
			UnfinishedRequests:    s.Unfinished,
			FailedRequests:        s.Failed,
			RejectedRequests:      s.Rejected,
			ScaleEvents:           s.ScaleEvents,
			Reversals:             s.Reversals,
			Preemptions:           s.Preemptions,
		}
		for _, v := range s.Variants {
			jp.Variants = append(jp.Variants, jsonVariantOutcome{Name: v.Name, PeakReplicas: v.PeakReplicas,
				ReplicasCreated: v.ReplicasCreated, GPUHours: v.GPUHours, Cost: v.Cost, ScaleEvents: v.ScaleEvents, Reversals: v.Reversals})
		}
		for _, m := range s.Models {
			jp.Models = append(jp.Models, jsonModelOutcome{Model: m.Model, Requests: m.Requests, SLOAttainment: m.SLOAttainment,
				FeasibleAttainment: m.FeasibleAttainment, FeasibleRequests: m.Feasible, P50TTFTSeconds: m.TTFTP50.Seconds(),
				P99TTFTSeconds: m.TTFTP99.Seconds(), GPUHours: m.GPUHours, Cost: m.Cost})
		}
		r.Policies = append(r.Policies, jp)
	}
	return r
}

// WriteJSON writes c as one indented JSON document: {"scenario": {...}, "oracle": {"cost",
// "gpuHours"}, "oracleWarm": {...}, "policies": [...]}. Each policy has name, sloAttainment and
// feasibleAttainment (0 to 1), feasibleRequests, gpuHours, cost, costRatioToOracle,
// costRatioToOracleWarm, underProvisioned, p50TTFTSeconds, p99TTFTSeconds, p50ITLSeconds, p99ITLSeconds,
// requests, finishedRequests, unfinishedRequests, failedRequests, rejectedRequests, scaleEvents, reversals,
// preemptions, and variants with each variant's name, peakReplicas, replicasCreated, gpuHours,
// cost, scaleEvents and reversals; in a scenario of several models, models with each model's
// requests, sloAttainment, feasibleAttainment, feasibleRequests, TTFT percentiles, gpuHours and
// cost.
func WriteJSON(w io.Writer, c Comparison) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(newJSONReport(c))
}
