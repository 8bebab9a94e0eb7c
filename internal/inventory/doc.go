// Package inventory counts the GPUs a cluster offers WVA-managed variants: allocatable GPUs per
// accelerator type from the Nodes' vendor labels, minus the GPUs requested by pods WVA does not
// manage, and the GPUs one replica of a scale target needs.
package inventory
