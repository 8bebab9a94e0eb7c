package promsource

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// NamespaceLister hands out the Pods and Deployments of a namespace by pointer. It exists
// because client.Reader cannot: even with client.UnsafeDisableDeepCopy, List copies every
// object's struct into the list's Items, which at 10,000 pods and 10,000 Deployments was about
// half of what a collection cycle allocated. The objects may be shared with a cache, so callers
// must not modify them; the Source only reads them.
type NamespaceLister interface {
	// Pods returns the pods of namespace, in no particular order.
	Pods(ctx context.Context, namespace string) ([]*corev1.Pod, error)
	// Deployments returns the Deployments of namespace, in no particular order.
	Deployments(ctx context.Context, namespace string) ([]*appsv1.Deployment, error)
}

// WithNamespaceLister makes the Source read Pods and Deployments from l (normally
// NewInformerLister of the manager's cache) instead of listing them through its reader. A nil
// l is ignored.
func WithNamespaceLister(l NamespaceLister) Option {
	return func(s *Source) {
		if l != nil {
			s.objects = l
		}
	}
}

// readerLister is the NamespaceLister of a plain client.Reader, the Source's default: one List
// per namespace without deep copies (the Source never modifies the objects), so an informer
// cache's List still copies each object's struct, and a client that reads the API server
// decodes fresh objects anyway.
type readerLister struct{ reader client.Reader }

func (r readerLister) Pods(ctx context.Context, namespace string) ([]*corev1.Pod, error) {
	var list corev1.PodList
	if err := r.reader.List(ctx, &list, client.InNamespace(namespace), client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	return pointers(list.Items), nil
}

func (r readerLister) Deployments(ctx context.Context, namespace string) ([]*appsv1.Deployment, error) {
	var list appsv1.DeploymentList
	if err := r.reader.List(ctx, &list, client.InNamespace(namespace), client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	return pointers(list.Items), nil
}

// pointers returns a pointer to each element of items.
func pointers[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

// informerLister reads the indexers of a Pod and a Deployment informer.
type informerLister struct {
	pods, deployments indexed
}

// indexed is what informerLister reads of an informer; a client-go SharedIndexInformer has it.
type indexed interface {
	HasSynced() bool
	GetIndexer() toolscache.Indexer
}

// NewInformerLister returns a NamespaceLister reading the Pod and Deployment informers of
// informers (normally the manager's cache, mgr.GetCache()) through the namespace index that
// controller-runtime adds to each informer. Those indexers hold what the cache's List reads,
// already trimmed by the cache's transform and filtered by its selectors; the lister hands out
// their pointers instead of copies. Called before the cache starts, it creates the two
// informers, which then start with the cache.
//
// It fails (it never panics) when an informer is not a client-go SharedIndexInformer whose
// indexer has the namespace index. That is the case of a cache restricted to some namespaces
// (cache.Options.DefaultNamespaces, or ByObject namespaces of Pods or Deployments), which
// combines one informer per namespace and gives no access to their indexers, and of
// controller-runtime's informertest fakes, whose indexers have no index. The caller then leaves the
// Source to list through its reader.
func NewInformerLister(ctx context.Context, informers cache.Informers) (NamespaceLister, error) {
	pods, err := indexedInformer(ctx, informers, &corev1.Pod{}, "Pod")
	if err != nil {
		return nil, err
	}
	deployments, err := indexedInformer(ctx, informers, &appsv1.Deployment{}, "Deployment")
	if err != nil {
		return nil, err
	}
	return informerLister{pods: pods, deployments: deployments}, nil
}

// indexedInformer returns the informer of obj's kind as a SharedIndexInformer with the
// namespace index, or why it is none.
func indexedInformer(ctx context.Context, informers cache.Informers, obj client.Object, kind string) (toolscache.SharedIndexInformer, error) {
	inf, err := informers.GetInformer(ctx, obj)
	if err != nil {
		return nil, fmt.Errorf("getting the %s informer: %w", kind, err)
	}
	indexed, ok := inf.(toolscache.SharedIndexInformer)
	if !ok {
		return nil, fmt.Errorf("the %s informer is a %T, not a client-go SharedIndexInformer (is the cache restricted to some namespaces?)", kind, inf)
	}
	if idx := indexed.GetIndexer(); idx == nil {
		return nil, fmt.Errorf("the %s informer (a %T) has no indexer", kind, inf)
	} else if _, ok := idx.GetIndexers()[toolscache.NamespaceIndex]; !ok {
		return nil, fmt.Errorf("the %s informer (a %T) has no %q index", kind, inf, toolscache.NamespaceIndex)
	}
	return indexed, nil
}

func (l informerLister) Pods(_ context.Context, namespace string) ([]*corev1.Pod, error) {
	return byNamespace[corev1.Pod](l.pods, "Pod", namespace)
}

func (l informerLister) Deployments(_ context.Context, namespace string) ([]*appsv1.Deployment, error) {
	return byNamespace[appsv1.Deployment](l.deployments, "Deployment", namespace)
}

// byNamespace returns the objects of namespace in inf's indexer. Before the informer has
// synced it fails rather than return a partial list: the cache's List waits for the sync, and
// a cycle that saw no Deployments would report every target's Deployment missing.
func byNamespace[T any](inf indexed, kind, namespace string) ([]*T, error) {
	if !inf.HasSynced() {
		return nil, fmt.Errorf("the %s informer has not synced yet", kind)
	}
	objs, err := inf.GetIndexer().ByIndex(toolscache.NamespaceIndex, namespace)
	if err != nil {
		return nil, fmt.Errorf("reading the %s informer's namespace index: %w", kind, err)
	}
	out := make([]*T, len(objs))
	for i, o := range objs {
		obj, ok := o.(*T)
		if !ok {
			return nil, fmt.Errorf("the %s informer holds a %T", kind, o)
		}
		out[i] = obj
	}
	return out, nil
}
