// Package testutil provides test fixtures and real test servers: envtest
// (a kube-apiserver and etcd built from source by hack/envtest-binaries.sh),
// Prometheus (the Debian prometheus binary, installed by
// hack/install-prometheus.sh), and a fake vLLM /metrics endpoint.
//
// Nothing here installs or downloads anything: when a binary is missing, the
// helpers fail with a message naming the script to run.
package testutil
