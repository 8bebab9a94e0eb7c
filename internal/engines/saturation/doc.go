// Package saturation is the saturation engine: every cycle it observes each model's variants,
// runs a saturation analyzer over them, and hands one decision per VariantAutoscaling to the
// controller through the common layer.
//
// The engine is a leader-elected manager Runnable whose Start blocks and ticks on an injected
// clock at the interval in the shared configuration (re-read every tick); RunOnce does one full
// cycle and is what tests and the simulator call.
//
// Missing data is never read as zero: when a cycle cannot observe a variant, the variant's
// previous decision stands, marked with why metrics are unavailable, and no variant of that
// model is scaled down.
package saturation
