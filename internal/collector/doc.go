// Package collector gathers what the engines observe each cycle — per-pod vLLM metrics and the
// replica counts of each variant's scale target — behind the small Source interface; the
// prometheus subpackage implements it against a Prometheus server and the informer cache.
package collector
