// Package sim simulates a fleet of vLLM replicas under a request stream so that autoscaling
// policies can be compared on the same traffic, in virtual time.
//
// The pieces, from the bottom up:
//
//   - Server is the performance model of one replica: continuous batching with a running batch of
//     at most MaxBatchSize sequences, a KV cache of KVCacheTokens tokens, chunked prefill under a
//     per-step token budget, preemption of the newest sequence when the cache is full, and step
//     times from the α β γ δ parameters of SPEC.md §4.8 (Profile). It keeps the vLLM gauges and
//     counters the collector reads.
//   - Fleet holds the replicas of every variant of one model behind a least-loaded router. A new
//     replica holds its GPUs from creation but serves only after its variant's start-up delay; a
//     removed replica drains (takes no new request, finishes what it has). Fleet implements
//     collector.Source, so the production engine can observe it like a Prometheus-backed source.
//   - An Observer (WithObserver) watches the cluster at times of its own choosing: package promsim
//     scrapes the pods' vLLM exposition into a PromQL-queryable TSDB so that the production
//     collector can observe the fleet as it observes a cluster.
//   - Policy decides replica counts per variant; Run replays a Scenario against one Policy on a
//     virtual clock and returns a Score (SLO attainment, latency percentiles, GPU-hours, cost,
//     scale events) and a per-tick Timeline.
//
// Runs are deterministic: nothing reads the wall clock, and randomness only enters through the
// seeded request streams of package workload. See docs/simulator.md for the model, its formulas
// and the sources of the default profiles.
package sim
