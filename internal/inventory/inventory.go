package inventory

import (
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Vendors are the GPU vendor domains the inventory reads: a Node's accelerator type is the value
// of its <vendor>/gpu.product label and its count the allocatable <vendor>/gpu resource.
var Vendors = []string{"nvidia.com", "amd.com", "intel.com"}

// ProductLabel returns the accelerator-type label of vendor (e.g. nvidia.com/gpu.product).
func ProductLabel(vendor string) string { return vendor + "/gpu.product" }

// GPUResource returns the extended resource of vendor's GPUs (e.g. nvidia.com/gpu).
func GPUResource(vendor string) corev1.ResourceName { return corev1.ResourceName(vendor + "/gpu") }

// Count is the GPUs of one accelerator type.
type Count struct {
	// Allocatable is the GPUs the Nodes of this type offer pods (status.allocatable), on Nodes
	// that accept pods; on a cordoned or not-ready Node only the GPUs WVA-managed pods already
	// hold there count.
	Allocatable int
	// Foreign is the GPUs that pods bound to those Nodes and not managed by WVA request.
	Foreign int
	// Managed is the GPUs that WVA-managed pods bound to those Nodes request (for reports; the
	// limiter shares Free among the managed variants).
	Managed int
	// Nodes is the number of Nodes of this type.
	Nodes int
}

// Free is the GPUs left for WVA-managed variants: Allocatable minus Foreign, never negative.
func (c Count) Free() int { return max(c.Allocatable-c.Foreign, 0) }

// Snapshot is the GPU inventory at one moment, per accelerator type (the product label value).
type Snapshot struct {
	Accelerators map[string]Count
}

// Free returns the GPUs of the accelerator type acc left for WVA-managed variants, and the
// product labels that matched it (see Matches); false when no Node carries a matching product.
func (s Snapshot) Free(acc string) (int, []string, bool) {
	total := 0
	var products []string
	for _, p := range slices.Sorted(maps.Keys(s.Accelerators)) {
		if Matches(p, acc) {
			total += s.Accelerators[p].Free()
			products = append(products, p)
		}
	}
	return total, products, len(products) > 0
}

// Matches reports whether the Node product label value product is the accelerator type acc
// that a VariantAutoscaling names: equal ignoring case, or acc is one of product's words
// separated by '-', '_', ' ' or '.' ("A100" matches "NVIDIA-A100-SXM4-80GB", not "A10").
func Matches(product, acc string) bool {
	if acc == "" {
		return false
	}
	if strings.EqualFold(product, acc) {
		return true
	}
	for _, w := range strings.FieldsFunc(product, func(r rune) bool { return r == '-' || r == '_' || r == ' ' || r == '.' }) {
		if strings.EqualFold(w, acc) {
			return true
		}
	}
	return false
}

// Compute builds the inventory of nodes that match selector (nil: every Node) from nodes and
// the pods bound to them. managed reports whether a pod belongs to a WVA-managed scale target;
// nil counts every pod as foreign. Pods not bound to a Node (Pending, e.g. for lack of a GPU)
// and pods that have finished hold no GPU and are not counted. Unlike the reference, which
// selected Nodes by the NVIDIA label only, Nodes of every vendor in Vendors are read, and a Node
// with GPUs of several vendors contributes to each of its types.
func Compute(nodes []corev1.Node, pods []corev1.Pod, selector labels.Selector, managed func(*corev1.Pod) bool) Snapshot {
	type nodeInfo struct {
		products    map[corev1.ResourceName]string // vendor resource -> product
		schedulable bool
	}
	byNode := map[string]nodeInfo{}
	out := Snapshot{Accelerators: map[string]Count{}}
	for i := range nodes {
		n := &nodes[i]
		if selector != nil && !selector.Matches(labels.Set(n.Labels)) {
			continue
		}
		info := nodeInfo{products: map[corev1.ResourceName]string{}, schedulable: schedulable(n)}
		for _, v := range Vendors {
			p := n.Labels[ProductLabel(v)]
			if p == "" {
				continue
			}
			res := GPUResource(v)
			info.products[res] = p
			c := out.Accelerators[p]
			c.Nodes++
			if info.schedulable {
				c.Allocatable += quantity(n.Status.Allocatable, res)
			}
			out.Accelerators[p] = c
		}
		if len(info.products) > 0 {
			byNode[n.Name] = info
		}
	}
	for i := range pods {
		pod := &pods[i]
		info, ok := byNode[pod.Spec.NodeName]
		if !ok || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		isManaged := managed != nil && managed(pod)
		for res, p := range info.products {
			n := podGPUs(&pod.Spec, res)
			if n == 0 {
				continue
			}
			c := out.Accelerators[p]
			if isManaged {
				c.Managed += n
				if !info.schedulable {
					c.Allocatable += n // a cordoned Node keeps running what it runs
				}
			} else if info.schedulable {
				c.Foreign += n
			}
			out.Accelerators[p] = c
		}
	}
	return out
}

// schedulable reports whether new pods can land on n: not cordoned and Ready (a Node without
// a Ready condition, as in tests, counts as Ready).
func schedulable(n *corev1.Node) bool {
	if n.Spec.Unschedulable {
		return false
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return true
}

func quantity(rl corev1.ResourceList, res corev1.ResourceName) int {
	q, ok := rl[res]
	if !ok {
		return 0
	}
	return int(max(q.Value(), 0))
}

// containerGPUs is a container's GPUs of resource res: its limit, else its request (extended
// resources may set either; when both are set they are equal).
func containerGPUs(c *corev1.Container, res corev1.ResourceName) int {
	if n := quantity(c.Resources.Limits, res); n > 0 {
		return n
	}
	return quantity(c.Resources.Requests, res)
}

// podGPUs is the GPUs of resource res a pod holds: the sum over its containers, or the largest
// init container when that is more (init containers run one at a time, before the others).
func podGPUs(spec *corev1.PodSpec, res corev1.ResourceName) int {
	sum := 0
	for i := range spec.Containers {
		sum += containerGPUs(&spec.Containers[i], res)
	}
	for i := range spec.InitContainers {
		sum = max(sum, containerGPUs(&spec.InitContainers[i], res))
	}
	return sum
}

// Requirement is the GPUs one replica of a scale target needs.
type Requirement struct {
	// Resource is the GPU resource the pod template asks for (e.g. amd.com/gpu); empty when none.
	Resource corev1.ResourceName
	// GPUs is the number of GPUs per replica (0 when the template asks for none).
	GPUs int
}

// PerReplica reads the GPUs one replica needs from a pod template's resources.limits (or
// requests): the vendor resource with the most GPUs, vendors in the order of Vendors on a tie.
func PerReplica(tmpl *corev1.PodTemplateSpec) Requirement {
	var best Requirement
	for _, v := range Vendors {
		res := GPUResource(v)
		if n := podGPUs(&tmpl.Spec, res); n > best.GPUs {
			best = Requirement{Resource: res, GPUs: n}
		}
	}
	return best
}

// Products lists the accelerator types of the snapshot in order.
func (s Snapshot) Products() []string {
	return slices.Sorted(maps.Keys(s.Accelerators))
}
