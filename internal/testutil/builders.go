package testutil

import (
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
)

// VAWrapper builds a VariantAutoscaling fixture.
type VAWrapper struct {
	va wvav1alpha1.VariantAutoscaling
}

// VariantAutoscaling starts a fixture named name in namespace "default" for model "model",
// targeting a Deployment of the same name, on accelerator "L4".
func VariantAutoscaling(name string) *VAWrapper {
	return &VAWrapper{va: wvav1alpha1.VariantAutoscaling{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default",
			Labels: map[string]string{wvav1alpha1.AcceleratorNameLabel: "L4"}},
		Spec: wvav1alpha1.VariantAutoscalingSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Kind: "Deployment", APIVersion: "apps/v1", Name: name},
			ModelID:        "model",
		},
	}}
}

// Namespace sets the namespace.
func (w *VAWrapper) Namespace(ns string) *VAWrapper { w.va.Namespace = ns; return w }

// Target sets the scale target Deployment name.
func (w *VAWrapper) Target(name string) *VAWrapper { w.va.Spec.ScaleTargetRef.Name = name; return w }

// Model sets spec.modelID.
func (w *VAWrapper) Model(id string) *VAWrapper { w.va.Spec.ModelID = id; return w }

// Accelerator sets the accelerator label.
func (w *VAWrapper) Accelerator(acc string) *VAWrapper {
	w.va.Labels[wvav1alpha1.AcceleratorNameLabel] = acc
	return w
}

// Cost sets spec.variantCost.
func (w *VAWrapper) Cost(c string) *VAWrapper { w.va.Spec.VariantCost = c; return w }

// Bounds sets spec.minReplicas and spec.maxReplicas.
func (w *VAWrapper) Bounds(minReplicas, maxReplicas int32) *VAWrapper {
	w.va.Spec.MinReplicas, w.va.Spec.MaxReplicas = ptr.To(minReplicas), ptr.To(maxReplicas)
	return w
}

// Direct opts into Direct actuation.
func (w *VAWrapper) Direct() *VAWrapper {
	w.va.Spec.Actuation = &wvav1alpha1.ActuationSpec{Mode: wvav1alpha1.ActuationDirect}
	return w
}

// ScaleToZero sets spec.scaleToZero with retentionSeconds and demandQuery, and spec.minReplicas
// to 0, as the API requires.
func (w *VAWrapper) ScaleToZero(retentionSeconds int32, demandQuery string) *VAWrapper {
	w.va.Spec.ScaleToZero = &wvav1alpha1.ScaleToZeroSpec{RetentionSeconds: ptr.To(retentionSeconds), DemandQuery: demandQuery}
	w.va.Spec.MinReplicas = ptr.To[int32](0)
	return w
}

// Obj returns a copy of the built object.
func (w *VAWrapper) Obj() *wvav1alpha1.VariantAutoscaling { return w.va.DeepCopy() }

// DeploymentWrapper builds a Deployment fixture.
type DeploymentWrapper struct{ d appsv1.Deployment }

// Deployment starts a fixture named name in namespace "default" with one replica of a vLLM-like
// container, its pods labelled app=<name>.
func Deployment(name string) *DeploymentWrapper {
	labels := map[string]string{"app": name}
	return &DeploymentWrapper{d: appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "vllm", Image: "vllm/vllm-openai:latest"}}},
			},
		},
	}}
}

// Namespace sets the namespace.
func (w *DeploymentWrapper) Namespace(ns string) *DeploymentWrapper { w.d.Namespace = ns; return w }

// Replicas sets spec.replicas.
func (w *DeploymentWrapper) Replicas(n int32) *DeploymentWrapper {
	w.d.Spec.Replicas = ptr.To(n)
	return w
}

// Obj returns a copy of the built object.
func (w *DeploymentWrapper) Obj() *appsv1.Deployment { return w.d.DeepCopy() }
