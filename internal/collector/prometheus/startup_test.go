package promsource

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
)

// TestCollectStartupSamples: the observation carries the start-up delay (Ready since - created)
// of each ready pod, newest Ready first; a pod that is not ready gives none. It needs no query:
// the pods are the ones the Source already lists.
func TestCollectStartupSamples(t *testing.T) {
	c := newCluster(t)
	ns := c.namespace("startup")
	c.deployment(ns, "vllm", "vllm", 3)
	c.pod(ns, "vllm-7c6d5-a", "vllm-7c6d5", "vllm", false)
	c.pod(ns, "vllm-7c6d5-b", "vllm-7c6d5", "vllm", false)
	c.pod(ns, "vllm-7c6d5-c", "vllm-7c6d5", "vllm", false)
	for name, after := range map[string]time.Duration{"vllm-7c6d5-a": 180 * time.Second, "vllm-7c6d5-b": 30 * time.Second} {
		pod := &corev1.Pod{}
		if err := k8sClient.Get(c.ctx, types.NamespacedName{Namespace: ns, Name: name}, pod); err != nil {
			t.Fatal(err)
		}
		pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(pod.CreationTimestamp.Add(after))}}
		if err := k8sClient.Status().Update(c.ctx, pod); err != nil {
			t.Fatal(err)
		}
	}
	c.synced(ns, 2, "vllm")

	tgt := collector.Target{VariantAutoscaling: vaKey(ns, "vllm"), ModelID: "m", Deployment: "vllm"}
	got := collect(t, New(promAPI, podCache), tgt).Variants[tgt.VariantAutoscaling]
	if want := []time.Duration{180 * time.Second, 30 * time.Second}; !slices.Equal(got.StartupSamples, want) {
		t.Errorf("StartupSamples = %v, want %v", got.StartupSamples, want)
	}
	if got.ReadyReplicas != 2 {
		t.Errorf("ReadyReplicas = %d, want 2", got.ReadyReplicas)
	}
}
