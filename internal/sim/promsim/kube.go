package promsim

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
)

// Names and labels of the simulated workload objects.
const (
	// LabelApp selects a variant's pods: its value is the variant (Deployment) name.
	LabelApp = "app"
	// replicaSetHash is the pod-template-hash of every variant's single ReplicaSet.
	replicaSetHash = "5im"
)

// KubeStore holds the Kubernetes objects of a simulated cluster: per variant a Deployment, its
// ReplicaSet, and a Pod per starting or serving replica, Ready once the replica serves. A draining
// replica is terminating: its pod has left the store (the collector ignores terminating pods), but
// it is still scraped until it is gone. The store is the simulator's cluster state, read by the
// production collector through Reader; it is not safe for concurrent Syncs.
type KubeStore struct {
	c     client.Client
	ready map[types.NamespacedName]bool // the pods in the store and their readiness
	start time.Time                     // the scenario's time zero
}

// NewKubeStore returns an empty store whose scenario starts at start: a pod's creationTimestamp
// and its Ready condition's lastTransitionTime are start plus the pod's Created and ReadyAt, so
// the collector sees the simulated start-up delay.
func NewKubeStore(start time.Time) (*KubeStore, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("building the scheme: %w", err)
	}
	return &KubeStore{
		c:     fake.NewClientBuilder().WithScheme(scheme).Build(),
		ready: map[types.NamespacedName]bool{},
		start: start,
	}, nil
}

// Reader returns the reader of the store's objects.
func (k *KubeStore) Reader() client.Reader { return k.c }

// Client returns the store's client, e.g. for an actuator that writes the Deployments' scale
// subresource. Sync overwrites a Deployment's spec.replicas that the cluster does not follow.
func (k *KubeStore) Client() client.Client { return k.c }

// Sync makes the store hold the objects of variants and pods.
func (k *KubeStore) Sync(ctx context.Context, variants []sim.VariantSpec, pods []sim.Pod) error {
	want := map[types.NamespacedName]bool{}
	replicas := map[types.NamespacedName]int32{}
	byKey := map[types.NamespacedName]sim.Pod{}
	for _, p := range pods {
		dep := types.NamespacedName{Namespace: p.Variant.Namespace, Name: p.Variant.Name}
		if p.State == sim.Starting || p.State == sim.Serving || p.State == sim.Pending {
			replicas[dep]++
			key := types.NamespacedName{Namespace: p.Variant.Namespace, Name: p.Name}
			want[key] = p.State == sim.Serving
			byKey[key] = p
		}
	}
	for _, v := range variants {
		if err := k.syncDeployment(ctx, v, replicas[v.Key()]); err != nil {
			return err
		}
	}
	for key := range k.ready {
		if _, ok := want[key]; ok {
			continue
		}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
		if err := k.c.Delete(ctx, pod); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting pod %s: %w", key, err)
		}
		delete(k.ready, key)
	}
	for key, ready := range want {
		was, ok := k.ready[key]
		switch {
		case !ok:
			if err := k.c.Create(ctx, k.podObject(byKey[key], ready)); err != nil {
				return fmt.Errorf("creating pod %s: %w", key, err)
			}
		case was != ready:
			pod := &corev1.Pod{}
			if err := k.c.Get(ctx, key, pod); err != nil {
				return fmt.Errorf("getting pod %s: %w", key, err)
			}
			pod.Status = k.podObject(byKey[key], ready).Status
			if err := k.c.Status().Update(ctx, pod); err != nil {
				return fmt.Errorf("updating pod %s: %w", key, err)
			}
		}
		k.ready[key] = ready
	}
	return nil
}

// syncDeployment creates or updates the Deployment of v (and its ReplicaSet) with n replicas.
func (k *KubeStore) syncDeployment(ctx context.Context, v sim.VariantSpec, n int32) error {
	key := v.Key()
	dep := &appsv1.Deployment{}
	err := k.c.Get(ctx, key, dep)
	if apierrors.IsNotFound(err) {
		sel := &metav1.LabelSelector{MatchLabels: map[string]string{LabelApp: v.Name}}
		dep = &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: v.Namespace, Name: v.Name},
			Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(n), Selector: sel},
		}
		if err := k.c.Create(ctx, dep); err != nil {
			return fmt.Errorf("creating Deployment %s: %w", key, err)
		}
		rs := &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: v.Namespace, Name: replicaSetName(v.Name),
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: v.Name,
					UID: dep.UID, Controller: ptr.To(true)}}},
			Spec: appsv1.ReplicaSetSpec{Selector: sel},
		}
		if err := k.c.Create(ctx, rs); err != nil {
			return fmt.Errorf("creating ReplicaSet of %s: %w", key, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("getting Deployment %s: %w", key, err)
	}
	if ptr.Deref(dep.Spec.Replicas, 1) == n {
		return nil
	}
	dep.Spec.Replicas = ptr.To(n)
	if err := k.c.Update(ctx, dep); err != nil {
		return fmt.Errorf("updating Deployment %s: %w", key, err)
	}
	return nil
}

func replicaSetName(deployment string) string { return deployment + "-" + replicaSetHash }

// podObject is the Pod of p, controlled by its variant's ReplicaSet, with its creation and
// readiness times in virtual time.
func (k *KubeStore) podObject(p sim.Pod, ready bool) *corev1.Pod {
	status, since := corev1.ConditionFalse, p.Created
	if ready {
		status, since = corev1.ConditionTrue, p.ReadyAt
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: p.Variant.Namespace, Name: p.Name,
			CreationTimestamp: metav1.NewTime(k.start.Add(p.Created)),
			Labels:            map[string]string{LabelApp: p.Variant.Name},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet",
				Name: replicaSetName(p.Variant.Name), Controller: ptr.To(true)}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status,
				LastTransitionTime: metav1.NewTime(k.start.Add(since))}},
		},
	}
}
