// Package actuator applies scaling decisions: it publishes each VariantAutoscaling's decision
// as the wva_* gauges that an HPA or KEDA scales on and, for VariantAutoscalings in Direct
// mode, also writes the replica count to the scale target's scale subresource.
//
// The gauges are an API. Their names, label keys and meaning are fixed by the constants in
// metrics.go and described in docs/actuation.md; the samples in config/samples consume them.
//
// One Actuator serves the whole process. It remembers which label set it published for each
// VariantAutoscaling so that Forget removes exactly that variant's series and a relabelled
// variant never leaves a second series behind: an HPA External metric sums every series that
// matches its selector, so a stale duplicate would inflate the replica count.
package actuator
