package main

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// cachePod is a serving pod as the API server returns it: full spec, status and managedFields.
func cachePod(i int) *corev1.Pod {
	t := metav1.NewTime(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	gpu := corev1.ResourceName("nvidia.com/gpu")
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "llm", Name: fmt.Sprintf("vllm-%d-7c9d8f6b5-x2k4p", i), CreationTimestamp: t,
			Labels:      map[string]string{"app": fmt.Sprintf("vllm-%d", i), "pod-template-hash": "7c9d8f6b5"},
			Annotations: map[string]string{lastApplied: `{"a huge":"copy"}`, "keep": "me"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: fmt.Sprintf("vllm-%d-7c9d8f6b5", i),
				UID: "u", Controller: ptr.To(true)}},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate,
				FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: make([]byte, 2048)}}}},
		Spec: corev1.PodSpec{
			NodeName: "gpu-1", NodeSelector: map[string]string{"nvidia.com/gpu.product": "H100"},
			Containers: []corev1.Container{{Name: "vllm", Image: "vllm/vllm-openai:v0.11.0",
				Args: []string{"--model", "org/model", "--max-model-len", "32768"},
				Env:  []corev1.EnvVar{{Name: "HF_HOME", Value: "/models"}, {Name: "VLLM_PORT", Value: "8000"}},
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{gpu: resource.MustParse("1")},
					Requests: corev1.ResourceList{gpu: resource.MustParse("1"), corev1.ResourceCPU: resource.MustParse("8")}},
				ReadinessProbe: &corev1.Probe{PeriodSeconds: 10},
				VolumeMounts:   []corev1.VolumeMount{{Name: "models", MountPath: "/models"}}}},
			Volumes: []corev1.Volume{{Name: "models", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &t, PodIP: "10.0.0.1",
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: t}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "vllm", Ready: true, Image: "vllm/vllm-openai:v0.11.0"}}},
	}
}

// TestTrimForCacheKeepsWhatTheManagerReads: the collector's pod join (labels, owner, Ready
// condition, times) and the GPU requests survive; managedFields, the last-applied copy and the
// container details do not.
func TestTrimForCacheKeepsWhatTheManagerReads(t *testing.T) {
	pod := cachePod(1)
	got, err := trimForCache(pod.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	want := pod.DeepCopy()
	want.ManagedFields = nil
	want.Annotations = map[string]string{"keep": "me"}
	c := want.Spec.Containers[0]
	want.Spec = corev1.PodSpec{NodeName: "gpu-1", NodeSelector: want.Spec.NodeSelector,
		Containers: []corev1.Container{{Name: c.Name, Image: c.Image, Resources: c.Resources}}}
	want.Status = corev1.PodStatus{Phase: corev1.PodRunning, StartTime: want.Status.StartTime, Conditions: want.Status.Conditions}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trimmed pod (-want +got):\n%s", diff)
	}

	dep := testutil.Deployment("llama").Namespace("llm").Replicas(3).Obj()
	dep.ManagedFields = pod.ManagedFields
	dep.Spec.Template.Spec = pod.Spec
	gotDep, _ := trimForCache(dep.DeepCopy())
	d := gotDep.(*appsv1.Deployment)
	if d.ManagedFields != nil || *d.Spec.Replicas != 3 || !cmp.Equal(d.Spec.Selector, dep.Spec.Selector) ||
		len(d.Spec.Template.Spec.Containers[0].Env) != 0 || d.Spec.Template.Spec.Containers[0].Resources.Requests == nil {
		t.Errorf("trimmed Deployment: %+v", d)
	}
}

// TestManagerCachesTrimmedObjects: the manager's cache options apply trimForCache to every
// informer.
func TestManagerCachesTrimmedObjects(t *testing.T) {
	o := managerOptions(Options{}, nil)
	if o.Cache.DefaultTransform == nil {
		t.Fatal("the cache keeps whole objects: no DefaultTransform")
	}
	got, _ := o.Cache.DefaultTransform(cachePod(1))
	if p := got.(*corev1.Pod); p.ManagedFields != nil || len(p.Spec.Volumes) != 0 {
		t.Errorf("transform kept managedFields or volumes: %+v", p)
	}
}

// BenchmarkCachedPodMemory measures the heap that 10,000 cached pods hold, whole and trimmed.
func BenchmarkCachedPodMemory(b *testing.B) {
	for _, trim := range []bool{false, true} {
		b.Run(fmt.Sprintf("trimmed=%t", trim), func(b *testing.B) {
			for b.Loop() {
				const n = 10000
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				objs := make([]client.Object, n)
				for i := range objs {
					p := cachePod(i)
					if trim {
						o, _ := trimForCache(p)
						p = o.(*corev1.Pod)
					}
					objs[i] = p
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-B/pod")
				runtime.KeepAlive(objs)
			}
		})
	}
}
