package inventory

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// createNode creates a Node with labels and allocatable GPUs (status, written separately).
func createNode(t *testing.T, ctx context.Context, name string, lbl map[string]string, alloc map[string]int64) {
	t.Helper()
	n := node(name, lbl, alloc)
	status := n.Status
	if err := k8sClient.Create(ctx, &n); err != nil {
		t.Fatalf("creating Node %s: %v", name, err)
	}
	n.Status = status
	if err := k8sClient.Status().Update(ctx, &n); err != nil {
		t.Fatalf("setting the status of Node %s: %v", name, err)
	}
}

func createGPUPod(t *testing.T, ctx context.Context, ns, name, nodeName, res string, gpus int64, lbl map[string]string) {
	t.Helper()
	p := gpuPod(name, nodeName, res, gpus, lbl)
	p.Namespace = ns
	p.Spec.Containers[0].Image = "vllm"
	if err := testutil.CreatePod(ctx, k8sClient, &p, "", true); err != nil {
		t.Fatal(err)
	}
}

// TestReaderFromInformers reads labelled NVIDIA, AMD and Intel Nodes and their pods through an
// informer cache started on the real API server, with and without a node selector.
func TestReaderFromInformers(t *testing.T) {
	if k8sClient == nil {
		t.Skip("envtest not available")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns := "inv"
	if err := k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	createNode(t, ctx, "nv-1", map[string]string{"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3", "nvidia.com/gpu.memory": "81559",
		"wva.llmd.ai/shard": "a"}, map[string]int64{"nvidia.com/gpu": 8})
	createNode(t, ctx, "nv-2", map[string]string{"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3", "wva.llmd.ai/shard": "b"},
		map[string]int64{"nvidia.com/gpu": 8})
	// An AMD-only and an Intel-only Node: the reference's NVIDIA-only selector never listed them.
	createNode(t, ctx, "amd-1", map[string]string{"amd.com/gpu.product": "MI300X", "wva.llmd.ai/shard": "a"},
		map[string]int64{"amd.com/gpu": 4})
	createNode(t, ctx, "intel-1", map[string]string{"intel.com/gpu.product": "Gaudi2", "wva.llmd.ai/shard": "a"},
		map[string]int64{"intel.com/gpu": 2})
	createNode(t, ctx, "cpu-1", map[string]string{"wva.llmd.ai/shard": "a"}, nil)

	q := func(n int64) resource.Quantity { return *resource.NewQuantity(n, resource.DecimalSI) }
	dep := testutil.Deployment("llama").Namespace(ns).Obj()
	dep.Spec.Template.Spec.Containers[0].Resources.Limits = corev1.ResourceList{"nvidia.com/gpu": q(2)}
	if err := k8sClient.Create(ctx, dep); err != nil {
		t.Fatal(err)
	}
	createGPUPod(t, ctx, ns, "llama-0", "nv-1", "nvidia.com/gpu", 2, map[string]string{"app": "llama"})
	createGPUPod(t, ctx, ns, "training", "nv-1", "nvidia.com/gpu", 3, map[string]string{"app": "train"})
	createGPUPod(t, ctx, ns, "other", "nv-2", "nvidia.com/gpu", 1, nil)
	createGPUPod(t, ctx, ns, "rocm-job", "amd-1", "amd.com/gpu", 1, nil)
	createGPUPod(t, ctx, ns, "waiting", "", "nvidia.com/gpu", 8, nil) // Pending: no GPU held

	informers, err := cache.New(restCfg, cache.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = informers.Start(ctx) }()
	if !informers.WaitForCacheSync(ctx) {
		t.Fatal("cache did not sync")
	}
	r := NewReader(informers)
	target := types.NamespacedName{Namespace: ns, Name: "llama"}
	missing := types.NamespacedName{Namespace: ns, Name: "gone"}

	cases := map[string]struct {
		selector string
		want     map[string]Count
	}{
		"every node": {want: map[string]Count{
			"NVIDIA-H100-80GB-HBM3": {Allocatable: 16, Foreign: 4, Managed: 2, Nodes: 2},
			"MI300X":                {Allocatable: 4, Foreign: 1, Nodes: 1},
			"Gaudi2":                {Allocatable: 2, Nodes: 1},
		}},
		"shard a": {selector: "wva.llmd.ai/shard=a", want: map[string]Count{
			"NVIDIA-H100-80GB-HBM3": {Allocatable: 8, Foreign: 3, Managed: 2, Nodes: 1},
			"MI300X":                {Allocatable: 4, Foreign: 1, Nodes: 1},
			"Gaudi2":                {Allocatable: 2, Nodes: 1},
		}},
		"shard b": {selector: "wva.llmd.ai/shard in (b)", want: map[string]Count{
			"NVIDIA-H100-80GB-HBM3": {Allocatable: 8, Foreign: 1, Nodes: 1},
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			sel, err := ParseSelector(tc.selector)
			if err != nil {
				t.Fatal(err)
			}
			var snap Snapshot
			var reqs map[types.NamespacedName]Requirement
			// The informers see the pods' writes shortly after the API server does.
			testutil.Eventually(t, 10*time.Second, func() error {
				snap, reqs, err = r.Read(ctx, sel, []types.NamespacedName{target, missing})
				if err != nil {
					return err
				}
				if d := cmp.Diff(tc.want, snap.Accelerators); d != "" {
					return fmt.Errorf("inventory (-want +got):\n%s", d)
				}
				return nil
			})
			if d := cmp.Diff(map[types.NamespacedName]Requirement{target: {Resource: "nvidia.com/gpu", GPUs: 2}}, reqs); d != "" {
				t.Errorf("requirements (-want +got):\n%s", d)
			}
		})
	}

	// A Node added later is seen through the watch, without a new list by the caller.
	createNode(t, ctx, "nv-3", map[string]string{"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}, map[string]int64{"nvidia.com/gpu": 4})
	testutil.Eventually(t, 10*time.Second, func() error {
		snap, _, err := r.Read(ctx, nil, nil)
		if err != nil {
			return err
		}
		if got := snap.Accelerators["NVIDIA-H100-80GB-HBM3"].Allocatable; got != 20 {
			return fmt.Errorf("H100 allocatable = %d, want 20", got)
		}
		return nil
	})
}
