package testutil

import (
	"context"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ReplicaSetHash is the pod-template hash ServingPods uses for the ReplicaSet name.
const ReplicaSetHash = "7d9f8c6b5"

// ServingPods creates n pods of deploy as its ReplicaSet would — named
// <deploy>-<hash>-<i>, labelled with the Deployment's selector, controlled by the ReplicaSet
// <deploy>-<hash> — and marks them Ready. envtest runs no controllers, so tests that need a
// Deployment's pods make them with this.
func ServingPods(ctx context.Context, c client.Client, deploy *appsv1.Deployment, n int) ([]*corev1.Pod, error) {
	rs := deploy.Name + "-" + ReplicaSetHash
	pods := make([]*corev1.Pod, 0, n)
	for i := range n {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", rs, i), Namespace: deploy.Namespace,
				Labels: deploy.Spec.Selector.MatchLabels},
			Spec: *deploy.Spec.Template.Spec.DeepCopy(),
		}
		if err := CreatePod(ctx, c, pod, rs, true); err != nil {
			return nil, err
		}
		pods = append(pods, pod)
	}
	return pods, nil
}

// CreatePod creates pod controlled by the ReplicaSet named rs (when rs is not empty), gives it
// a vLLM container when it has none, and sets its status to Running with the Ready condition
// as given.
func CreatePod(ctx context.Context, c client.Client, pod *corev1.Pod, rs string, ready bool) error {
	if rs != "" {
		pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs,
			UID: types.UID("uid-" + rs), Controller: ptr.To(true)}}
	}
	if len(pod.Spec.Containers) == 0 {
		pod.Spec.Containers = []corev1.Container{{Name: "vllm", Image: "vllm/vllm-openai:latest"}}
	}
	if err := c.Create(ctx, pod); err != nil {
		return fmt.Errorf("creating pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status, LastTransitionTime: metav1.Now()}}}
	if err := c.Status().Update(ctx, pod); err != nil {
		return fmt.Errorf("setting the status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// VLLMSample is what one vLLM pod reports at one moment.
type VLLMSample struct {
	Model, Namespace, Pod     string
	KvUsage, Waiting, Running float64
}

// VLLMExposition renders the vLLM gauges the collector reads for the given pods in the
// Prometheus text format, each metric's series grouped together: KV-cache usage (0..1),
// waiting and running requests.
func VLLMExposition(samples ...VLLMSample) string {
	var b strings.Builder
	for _, m := range []struct {
		name  string
		value func(VLLMSample) float64
	}{
		{"vllm:kv_cache_usage_perc", func(s VLLMSample) float64 { return s.KvUsage }},
		{"vllm:num_requests_waiting", func(s VLLMSample) float64 { return s.Waiting }},
		{"vllm:num_requests_running", func(s VLLMSample) float64 { return s.Running }},
	} {
		fmt.Fprintf(&b, "# TYPE %s gauge\n", m.name)
		for _, s := range samples {
			fmt.Fprintf(&b, "%s{model_name=%q,namespace=%q,pod=%q} %g\n", m.name, s.Model, s.Namespace, s.Pod, m.value(s))
		}
	}
	return b.String()
}
