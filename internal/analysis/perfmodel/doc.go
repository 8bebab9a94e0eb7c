// Package perfmodel holds the per-replica step-time model of a vLLM replica and an online
// estimator that fits it to what the replica reports.
//
// The model (Params) is the simulator's and SPEC §4.8's: a step that decodes n sequences holding
// K KV tokens takes α + β·n + ε·K ms, and a step that prefills P prompt tokens takes γ + δ·P + ζ·P²
// ms more. ε and ζ are optional (0 reproduces the linear α/β/γ/δ model).
//
// Estimator fits the decode part (α, β, ε) from mean ITL against mean running batch and KV tokens,
// and the prefill part (γ, δ, ζ) from prefill time against prompt length, each with a
// Kalman-form recursive least squares with exponential forgetting. It is built to stay bounded on
// bad data: non-finite or out-of-range samples are ignored, gross outliers (innovation beyond
// OutlierK standard deviations) are skipped and moderate ones Huber-weighted, parameters are
// projected onto physical ranges, and the covariance is capped, symmetrised and reset when it
// loses positive definiteness. A run of consecutive outliers is read as a change of the replica
// (a new vLLM version, another GPU) and reopens the covariance so the estimate can follow.
//
// The estimator is a plain value: copy it to snapshot it, and it holds no clock, logger or
// pointer. It is pure and not safe for concurrent use.
package perfmodel
