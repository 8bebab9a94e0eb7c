package promsource

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache/informertest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
)

// newTestInformerLister returns the lister of the package's informer cache.
func newTestInformerLister(t *testing.T) NamespaceLister {
	t.Helper()
	l, err := NewInformerLister(context.Background(), podCache)
	if err != nil {
		t.Fatalf("NewInformerLister of the informer cache: %v", err)
	}
	return l
}

// byName returns objs sorted by name.
func byName[T any, P interface {
	*T
	client.Object
}](objs []P) []P {
	return slices.SortedFunc(slices.Values(objs), func(a, b P) int { return strings.Compare(a.GetName(), b.GetName()) })
}

// listedAsPointers reads namespace ns through l and through the cache's List and fails the test
// unless both hold the same objects, and l hands out the same pointers on a second read.
func listedAsPointers(t *testing.T, l NamespaceLister, ns string) (pods []*corev1.Pod, deployments []*appsv1.Deployment) {
	t.Helper()
	ctx := context.Background()
	pods, err := l.Pods(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	deployments, err = l.Deployments(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	pods, deployments = byName(pods), byName(deployments)
	listed := readerLister{podCache}
	listedPods, err := listed.Pods(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	listedDeployments, err := listed.Deployments(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(byName(listedPods), pods); diff != "" {
		t.Errorf("pods of %s (-List +lister):\n%s", ns, diff)
	}
	if diff := cmp.Diff(byName(listedDeployments), deployments); diff != "" {
		t.Errorf("Deployments of %s (-List +lister):\n%s", ns, diff)
	}
	again, err := l.Pods(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if again = byName(again); !slices.Equal(again, pods) {
		t.Errorf("a second read of the pods of %s returned other pointers: the lister copies", ns)
	}
	return pods, deployments
}

// names returns the names of objs.
func names[P client.Object](objs []P) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.GetName()
	}
	return out
}

// TestInformerListerMatchesList: the lister over the informer cache returns, namespace by
// namespace, the objects the cache's List returns, the cache's own (the same pointers each
// read), and follows an update and a delete as List does.
func TestInformerListerMatchesList(t *testing.T) {
	c := newCluster(t)
	nsA, nsB := c.namespace("lister-a"), c.namespace("lister-b")
	c.deployment(nsA, "llama", "llama", 2)
	c.deployment(nsA, "granite", "granite", 1)
	c.pod(nsA, "llama-5d4f7-a", "llama-5d4f7", "llama", true)
	c.pod(nsA, "llama-5d4f7-b", "llama-5d4f7", "llama", false)
	c.pod(nsA, "granite-6f8b9-a", "granite-6f8b9", "granite", true)
	c.deployment(nsB, "llama", "llama", 1)
	c.pod(nsB, "llama-5d4f7-a", "llama-5d4f7", "llama", true)
	c.synced(nsA, 2, "llama", "granite")
	c.synced(nsB, 1, "llama")

	l := newTestInformerLister(t)
	podsA, depsA := listedAsPointers(t, l, nsA)
	if got, want := names(podsA), []string{"granite-6f8b9-a", "llama-5d4f7-a", "llama-5d4f7-b"}; !slices.Equal(got, want) {
		t.Errorf("pods of %s = %v, want %v", nsA, got, want)
	}
	if got, want := names(depsA), []string{"granite", "llama"}; !slices.Equal(got, want) {
		t.Errorf("Deployments of %s = %v, want %v", nsA, got, want)
	}
	podsB, _ := listedAsPointers(t, l, nsB)
	if len(podsB) != 1 || podsB[0].Namespace != nsB {
		t.Errorf("pods of %s = %v", nsB, names(podsB))
	}
	if pods, err := l.Pods(context.Background(), "no-such-namespace"); err != nil || len(pods) != 0 {
		t.Errorf("pods of a namespace without any = %v, %v; want none", names(pods), err)
	}

	// An update (the not-ready pod turns ready), a deleted pod and a deleted Deployment.
	ready := &corev1.Pod{}
	if err := k8sClient.Get(c.ctx, types.NamespacedName{Namespace: nsA, Name: "llama-5d4f7-b"}, ready); err != nil {
		t.Fatal(err)
	}
	ready.Status.Conditions[0].Status = corev1.ConditionTrue
	if err := k8sClient.Status().Update(c.ctx, ready); err != nil {
		t.Fatal(err)
	}
	if err := k8sClient.Delete(c.ctx, &corev1.Pod{ObjectMeta: podsA[0].ObjectMeta}, client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	if err := k8sClient.Delete(c.ctx, &appsv1.Deployment{ObjectMeta: depsA[0].ObjectMeta}); err != nil {
		t.Fatal(err)
	}
	c.synced(nsA, 2, "llama")
	if err := poll(c.ctx, func() bool {
		var deps appsv1.DeploymentList
		return podCache.List(c.ctx, &deps, client.InNamespace(nsA)) == nil && len(deps.Items) == 1
	}); err != nil {
		t.Fatalf("the cache never saw Deployment granite deleted: %v", err)
	}
	podsA, depsA = listedAsPointers(t, l, nsA)
	if got, want := names(podsA), []string{"llama-5d4f7-a", "llama-5d4f7-b"}; !slices.Equal(got, want) {
		t.Errorf("pods of %s after the delete = %v, want %v", nsA, got, want)
	}
	if !podReady(podsA[1]) {
		t.Errorf("pod %s is not ready after the update", podsA[1].Name)
	}
	if got := names(depsA); !slices.Equal(got, []string{"llama"}) {
		t.Errorf("Deployments of %s after the delete = %v, want [llama]", nsA, got)
	}
}

// TestInformerListerRefusesNamespaceRestrictedCache: a cache restricted to some namespaces
// combines one informer per namespace, whose indexers it does not expose; NewInformerLister
// says so instead of guessing, and the Source is left to List.
func TestInformerListerRefusesNamespaceRestrictedCache(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	restricted, err := cache.New(restConfig, cache.Options{Scheme: scheme, DefaultNamespaces: map[string]cache.Config{"default": {}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewInformerLister(context.Background(), restricted)
	if err == nil || !strings.Contains(err.Error(), "not a client-go SharedIndexInformer") {
		t.Errorf("NewInformerLister of a namespace-restricted cache: error %v, want one saying the informer is not a SharedIndexInformer", err)
	}
}

// TestInformerListerBeforeSync: before the cache has synced (here: started) the lister fails
// instead of returning empty namespaces, which would read as every Deployment missing.
func TestInformerListerBeforeSync(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	notStarted, err := cache.New(restConfig, cache.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewInformerLister(context.Background(), notStarted)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Pods(context.Background(), "default"); err == nil || !strings.Contains(err.Error(), "has not synced") {
		t.Errorf("Pods before the sync: error %v, want one saying the informer has not synced", err)
	}
	if _, err := l.Deployments(context.Background(), "default"); err == nil || !strings.Contains(err.Error(), "has not synced") {
		t.Errorf("Deployments before the sync: error %v, want one saying the informer has not synced", err)
	}
	s := New(&vectorAPI{}, notStarted, WithNamespaceLister(l))
	if _, err := s.Collect(context.Background(), []collector.Target{{VariantAutoscaling: vaKey("default", "va"),
		ModelID: "m", Deployment: "d"}}, time.Now()); err == nil || !strings.Contains(err.Error(), "listing Deployments in namespace default") {
		t.Errorf("Collect before the sync: error %v, want the lister's, with the namespace", err)
	}
}

// TestInformerListerRefusesInformersWithoutNamespaceIndex: controller-runtime's fake
// informers are SharedIndexInformers whose indexer has no namespace index; NewInformerLister
// fails instead of reading a missing index.
func TestInformerListerRefusesInformersWithoutNamespaceIndex(t *testing.T) {
	_, err := NewInformerLister(context.Background(), &informertest.FakeInformers{})
	if err == nil || !strings.Contains(err.Error(), `the Pod informer (a *controllertest.FakeInformer) has no "namespace" index`) {
		t.Errorf("NewInformerLister of fake informers: error %v, want one saying the Pod informer has no namespace index", err)
	}
}
