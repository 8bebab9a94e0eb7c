package inventory

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func node(name string, lbl map[string]string, alloc map[string]int64) corev1.Node {
	n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbl}, Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{}}}
	for r, v := range alloc {
		n.Status.Allocatable[corev1.ResourceName(r)] = *resource.NewQuantity(v, resource.DecimalSI)
	}
	return n
}

func gpuPod(name, nodeName, res string, gpus int64, lbl map[string]string) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: lbl},
		Spec: corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{Name: "c",
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
				corev1.ResourceName(res): *resource.NewQuantity(gpus, resource.DecimalSI)}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}
}

func TestCompute(t *testing.T) {
	managed := func(p *corev1.Pod) bool { return p.Labels["app"] == "wva" }
	nodes := []corev1.Node{
		node("n1", map[string]string{"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB", "pool": "a"}, map[string]int64{"nvidia.com/gpu": 8}),
		node("n2", map[string]string{"amd.com/gpu.product": "MI300X", "pool": "b"}, map[string]int64{"amd.com/gpu": 4}),
		node("n3", map[string]string{"intel.com/gpu.product": "G2", "nvidia.com/gpu.product": "L4", "pool": "a"},
			map[string]int64{"intel.com/gpu": 2, "nvidia.com/gpu": 1}),
		node("cpu", map[string]string{"pool": "a"}, nil),
		node("nolabel-alloc", nil, map[string]int64{"nvidia.com/gpu": 4}),
	}
	cordoned := node("n4", map[string]string{"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}, map[string]int64{"nvidia.com/gpu": 8})
	cordoned.Spec.Unschedulable = true
	nodes = append(nodes, cordoned)
	done := gpuPod("done", "n1", "nvidia.com/gpu", 4, nil)
	done.Status.Phase = corev1.PodSucceeded
	pods := []corev1.Pod{
		gpuPod("foreign", "n1", "nvidia.com/gpu", 2, nil),
		gpuPod("mine", "n1", "nvidia.com/gpu", 1, map[string]string{"app": "wva"}),
		gpuPod("pending", "", "nvidia.com/gpu", 4, nil), // not bound: holds no GPU
		done,
		gpuPod("amd", "n2", "amd.com/gpu", 1, nil),
		gpuPod("intel", "n3", "intel.com/gpu", 1, map[string]string{"app": "wva"}),
		gpuPod("mine-cordoned", "n4", "nvidia.com/gpu", 2, map[string]string{"app": "wva"}),
		gpuPod("foreign-cordoned", "n4", "nvidia.com/gpu", 3, nil),
	}
	cases := map[string]struct {
		selector labels.Selector
		want     map[string]Count
	}{
		"every node": {want: map[string]Count{
			"NVIDIA-A100-SXM4-80GB": {Allocatable: 10, Foreign: 2, Managed: 3, Nodes: 2},
			"MI300X":                {Allocatable: 4, Foreign: 1, Nodes: 1},
			"G2":                    {Allocatable: 2, Managed: 1, Nodes: 1},
			"L4":                    {Allocatable: 1, Nodes: 1},
		}},
		"selector pool=a": {selector: labels.SelectorFromSet(labels.Set{"pool": "a"}), want: map[string]Count{
			"NVIDIA-A100-SXM4-80GB": {Allocatable: 8, Foreign: 2, Managed: 1, Nodes: 1},
			"G2":                    {Allocatable: 2, Managed: 1, Nodes: 1},
			"L4":                    {Allocatable: 1, Nodes: 1},
		}},
		"selector matching only AMD": {selector: labels.SelectorFromSet(labels.Set{"pool": "b"}), want: map[string]Count{
			"MI300X": {Allocatable: 4, Foreign: 1, Nodes: 1},
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := Compute(nodes, pods, tc.selector, managed)
			if d := cmp.Diff(tc.want, got.Accelerators); d != "" {
				t.Errorf("inventory (-want +got):\n%s", d)
			}
		})
	}
}

func TestFreeAndMatches(t *testing.T) {
	s := Snapshot{Accelerators: map[string]Count{
		"NVIDIA-A100-SXM4-80GB": {Allocatable: 8, Foreign: 2},
		"NVIDIA-A100-PCIE-40GB": {Allocatable: 4},
		"NVIDIA-A10":            {Allocatable: 5},
		"H100":                  {Allocatable: 2, Foreign: 5},
	}}
	cases := map[string]struct {
		acc      string
		free     int
		products []string
		ok       bool
	}{
		"word match sums both A100 products":    {"a100", 10, []string{"NVIDIA-A100-PCIE-40GB", "NVIDIA-A100-SXM4-80GB"}, true},
		"A10 is not A100":                       {"A10", 5, []string{"NVIDIA-A10"}, true},
		"over-requested type is never negative": {"H100", 0, []string{"H100"}, true},
		"unknown type":                          {"MI300X", 0, nil, false},
		"empty name matches nothing":            {"", 0, nil, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			free, products, ok := s.Free(tc.acc)
			if free != tc.free || ok != tc.ok || !cmp.Equal(products, tc.products) {
				t.Errorf("Free(%q) = %d, %v, %v; want %d, %v, %v", tc.acc, free, products, ok, tc.free, tc.products, tc.ok)
			}
		})
	}
}

func TestPerReplica(t *testing.T) {
	q := func(n int64) resource.Quantity { return *resource.NewQuantity(n, resource.DecimalSI) }
	cases := map[string]struct {
		spec corev1.PodSpec
		want Requirement
	}{
		"no GPU": {spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}, want: Requirement{}},
		"limits summed over containers": {spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "a", Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{"nvidia.com/gpu": q(2)}}},
			{Name: "b", Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{"nvidia.com/gpu": q(2)}}}}},
			want: Requirement{Resource: "nvidia.com/gpu", GPUs: 4}},
		"requests when no limit": {spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "a", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{"amd.com/gpu": q(1)}}}}},
			want: Requirement{Resource: "amd.com/gpu", GPUs: 1}},
		"init container larger than the sum": {spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "i", Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{"intel.com/gpu": q(3)}}}},
			Containers:     []corev1.Container{{Name: "a", Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{"intel.com/gpu": q(1)}}}}},
			want: Requirement{Resource: "intel.com/gpu", GPUs: 3}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := PerReplica(&corev1.PodTemplateSpec{Spec: tc.spec}); got != tc.want {
				t.Errorf("PerReplica = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseSelector(t *testing.T) {
	if s, err := ParseSelector(""); err != nil || !s.Empty() {
		t.Errorf(`ParseSelector("") = %v, %v; want everything`, s, err)
	}
	if _, err := ParseSelector("a in (b"); err == nil {
		t.Error("ParseSelector accepted a broken selector")
	}
}
