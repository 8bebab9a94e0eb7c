// Package scale holds the scale harness (`make bench-scale`): the manager binary, built with
// `go build`, runs as its own process against envtest (a real kube-apiserver and etcd) with N
// VariantAutoscalings, Deployments and pods, a fake Prometheus HTTP API answering the
// collector's queries from the pods, and a counting reverse proxy in front of the API server.
// It is a test gated by WVA_BENCH_SCALE=1, skipped otherwise and under -short.
package scale
