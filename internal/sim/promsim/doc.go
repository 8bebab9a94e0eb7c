// Package promsim puts a Prometheus server inside the simulator: it scrapes every simulated pod's
// vLLM exposition (package vllmmetrics) on Prometheus' schedule into an in-memory TSDB, evaluates
// PromQL with the real engine at virtual time, and keeps the Deployments, ReplicaSets and Pods of
// the simulated cluster in an in-memory Kubernetes store, so that the production collector
// (promsource.Source) observes the simulation exactly as it observes a cluster.
//
// See docs/simulator.md ("Metrics pipeline") for the scrape model.
package promsim
