package inventory

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Reader reads the inventory through a client. Given the manager's client, whose reads are
// served by informers, the Nodes, Pods and Deployments are watched once and each Read is a pass
// over the informers' memory, not a request to the API server.
type Reader struct {
	c client.Reader
}

// NewReader returns a Reader over c.
func NewReader(c client.Reader) *Reader { return &Reader{c: c} }

// Read returns the inventory of the Nodes that match selector (nil: every Node), counting the
// pods of the Deployments in targets as managed, and the GPUs one replica of each target needs.
// A target that does not exist has no requirement.
func (r *Reader) Read(ctx context.Context, selector labels.Selector, targets []types.NamespacedName) (Snapshot, map[types.NamespacedName]Requirement, error) {
	reqs := make(map[types.NamespacedName]Requirement, len(targets))
	managedSel := map[string][]labels.Selector{}
	for _, t := range targets {
		var d appsv1.Deployment
		if err := r.c.Get(ctx, t, &d); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return Snapshot{}, nil, fmt.Errorf("reading Deployment %s: %w", t, err)
		}
		reqs[t] = PerReplica(&d.Spec.Template)
		if d.Spec.Selector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || sel.Empty() {
			continue // an invalid or empty selector would claim every pod of the namespace
		}
		managedSel[t.Namespace] = append(managedSel[t.Namespace], sel)
	}
	var nodes corev1.NodeList
	if err := r.c.List(ctx, &nodes, client.UnsafeDisableDeepCopy); err != nil {
		return Snapshot{}, nil, fmt.Errorf("listing Nodes: %w", err)
	}
	var pods corev1.PodList
	if err := r.c.List(ctx, &pods, client.UnsafeDisableDeepCopy); err != nil {
		return Snapshot{}, nil, fmt.Errorf("listing Pods: %w", err)
	}
	managed := func(p *corev1.Pod) bool {
		for _, sel := range managedSel[p.Namespace] {
			if sel.Matches(labels.Set(p.Labels)) {
				return true
			}
		}
		return false
	}
	return Compute(nodes.Items, pods.Items, selector, managed), reqs, nil
}

// ParseSelector parses a node selector in the label-selector syntax (e.g.
// "pool=gpu,zone in (a,b)"); an empty string selects every Node.
func ParseSelector(s string) (labels.Selector, error) {
	if s == "" {
		return labels.Everything(), nil
	}
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("node selector %q: %w", s, err)
	}
	return sel, nil
}
