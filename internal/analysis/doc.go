// Package analysis turns one model's per-replica load readings into per-variant replica targets.
//
// It is the pure decision core of the saturation engine, of `wva explain` and of simulators:
// callers pass a ModelState snapshot, the model's SaturationScalingConfig and the current time,
// and get back a Result with one VariantTarget (target replicas, action and a human-readable
// reason) per variant. Nothing here talks to Kubernetes or Prometheus, logs, or reads a clock.
//
// Two analyzers are provided (see New and docs/analyzers.md):
//   - "v1" reproduces the reference saturation algorithm: spare-capacity triggers and a single
//     +1/-1 step per model per cycle;
//   - "capacity" (the default) sizes the model directly from observed demand and per-replica
//     capacity, with a hysteresis band, so a load step is answered in one cycle.
package analysis
