// Package promsource implements collector.Source by reading the vLLM metrics of every target's
// ready pods from Prometheus, with a fixed number of PromQL queries per cycle joined to the pods
// the informer cache attributes to each scale target.
//
// The directory is internal/collector/prometheus; the package is named promsource so that it does
// not shadow client_golang's prometheus package. It also builds the Prometheus API client itself
// (Config, NewAPI): HTTPS with an optional CA, client certificate and server name, and a bearer
// token that is re-read from its file as service-account tokens rotate.
//
// See docs/metrics-collection.md for the queries, the join and the statuses.
package promsource
