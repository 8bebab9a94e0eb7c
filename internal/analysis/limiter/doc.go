// Package limiter shares finite GPUs among the variants that want them: every variant keeps its
// minimum, then priority classes are served in order and, within one, the GPUs are
// water-filled by demand; a replica is granted only when it fits every pool it draws from
// (the accelerator inventory, a cluster-wide or a namespace quota).
//
// It is pure: no Kubernetes, Prometheus, logger or clock.
package limiter
