package testutil

// Versions of the control-plane binaries envtest runs against. They must match
// the defaults of KUBE_VERSION and ETCD_VERSION in hack/envtest-binaries.sh
// (TestVersionsMatchScript checks this).
const (
	// KubeVersion is the k8s.io/kubernetes release kube-apiserver is built from.
	KubeVersion = "v1.37.2"
	// EtcdVersion is the go.etcd.io/etcd/server/v3 release etcd is built from.
	EtcdVersion = "v3.6.16"
)
