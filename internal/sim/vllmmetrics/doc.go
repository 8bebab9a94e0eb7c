// Package vllmmetrics exposes the vLLM metrics of one simulated replica in the Prometheus
// exposition format, with vLLM's names, labels and histogram buckets: the same Collector feeds the
// simulator's in-process scrapes (package promsim) and serves a real /metrics endpoint (Handler).
package vllmmetrics
