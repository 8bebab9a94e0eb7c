package main

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
)

// lastApplied is the annotation kubectl apply keeps a copy of the whole object in.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// trimForCache is the informer caches' transform: it drops from every object what no reader
// of the cache uses, before the object is stored, so that 10,000 Deployments and their pods fit
// the manager's memory limit (docs/scale.md). Every object loses its managedFields (Direct mode
// reads them through the API reader, never from the cache) and the last-applied annotation.
// Pods and Deployment pod templates keep their labels, owner references, timestamps, node,
// node selector, the names and resources of their containers, and the pod's phase, conditions
// and start time; they lose container commands, arguments, environment, probes, ports, mounts,
// volumes and container statuses. Nothing may write a cached object back with Update: the
// trimmed fields would be lost. The manager writes the VariantAutoscaling status with merge
// patches and replicas through the scale subresource of a Deployment read past the cache.
func trimForCache(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
		if a := m.GetAnnotations(); a[lastApplied] != "" {
			delete(a, lastApplied)
			m.SetAnnotations(a)
		}
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		trimPodSpec(&o.Spec)
		o.Status = corev1.PodStatus{Phase: o.Status.Phase, Conditions: o.Status.Conditions, StartTime: o.Status.StartTime}
	case *appsv1.Deployment:
		trimPodSpec(&o.Spec.Template.Spec)
	}
	return obj, nil
}

// trimPodSpec keeps of spec the node, the node selector and the names and resources of the
// containers.
func trimPodSpec(spec *corev1.PodSpec) {
	containers := func(cs []corev1.Container) []corev1.Container {
		if cs == nil {
			return nil
		}
		out := make([]corev1.Container, len(cs))
		for i, c := range cs {
			out[i] = corev1.Container{Name: c.Name, Image: c.Image, Resources: c.Resources}
		}
		return out
	}
	*spec = corev1.PodSpec{
		NodeName:       spec.NodeName,
		NodeSelector:   spec.NodeSelector,
		Containers:     containers(spec.Containers),
		InitContainers: containers(spec.InitContainers),
	}
}
