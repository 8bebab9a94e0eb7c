// Command manager is WVA's controller process and its one composition root: it turns flags and
// environment into options, builds the clock, the common layer, the Prometheus source, the
// saturation engine, the actuator and the reconcilers, hands each its dependencies, and runs
// them in a controller-runtime manager.
package main
