package actuator

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// snapshotReader is an informer cache under the test's control: it serves the Deployment as
// it was at the last refresh, like a cache whose watch has not delivered later writes yet.
// Lists (of HorizontalPodAutoscalers) go to the API server, as from a cache that is up to date.
type snapshotReader struct {
	client.Reader
	deploy *appsv1.Deployment
	lists  int
}

func (s *snapshotReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	s.lists++
	return s.Reader.List(ctx, list, opts...)
}

func (s *snapshotReader) refresh(t *testing.T, ns, name string) {
	t.Helper()
	s.deploy = getDeployment(t, ns, name)
}

func (s *snapshotReader) Get(_ context.Context, _ client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	s.deploy.DeepCopyInto(obj.(*appsv1.Deployment))
	return nil
}

// countingClient is the uncached DirectClient, counting Deployment reads, lists and scale
// writes.
type countingClient struct {
	client.WithWatch
	gets, lists, writes int
}

func (c *countingClient) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	c.lists++
	return c.WithWatch.List(ctx, list, opts...)
}

func (c *countingClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, ok := obj.(*appsv1.Deployment); ok {
		c.gets++
	}
	return c.WithWatch.Get(ctx, key, obj, opts...)
}

func (c *countingClient) SubResource(name string) client.SubResourceClient {
	return countingSubResource{SubResourceClient: c.WithWatch.SubResource(name), c: c}
}

type countingSubResource struct {
	client.SubResourceClient
	c *countingClient
}

func (s countingSubResource) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	s.c.writes++
	return s.SubResourceClient.Update(ctx, obj, opts...)
}

func TestDirectModeReadsTheCacheFirst(t *testing.T) {
	ns := newNamespace(t)
	mustCreate(t, testutil.Deployment("llama").Namespace(ns).Replicas(2).Obj())
	va := testutil.VariantAutoscaling("llama").Namespace(ns).Direct().Obj()
	cache := &snapshotReader{Reader: k8sClient}
	cache.refresh(t, ns, "llama")
	direct := &countingClient{WithWatch: k8sClient}
	a, err := New(prometheus.NewRegistry(), direct, WithCache(cache))
	if err != nil {
		t.Fatal(err)
	}
	step := func(name string, current, target, gets, writes int, want *interfaces.ScaleConflict) {
		t.Helper()
		if diff := cmp.Diff(want, actuate(t, a, va, current, target)); diff != "" {
			t.Errorf("%s: conflict (-want +got):\n%s", name, diff)
		}
		if direct.gets != gets || direct.writes != writes {
			t.Errorf("%s: %d uncached reads and %d scale writes so far, want %d and %d", name, direct.gets, direct.writes, gets, writes)
		}
	}

	step("the cache shows 2, the decision is 4: read and write", 2, 4, 1, 1, nil)
	// The cache has not seen WVA's write yet: the fresh read shows it, so no write and no
	// foreign writer.
	step("stale cache", 2, 4, 2, 1, nil)
	cache.refresh(t, ns, "llama")
	step("cache at the decision: nothing read, nothing written", 4, 4, 2, 1, nil)
	step("again", 4, 4, 2, 1, nil)

	scaleAs(t, ns, "llama", "kubectl-scale", 7)
	cache.refresh(t, ns, "llama")
	step("a foreign write the cache has seen is reported and undone", 7, 4, 3, 2,
		&interfaces.ScaleConflict{Kind: interfaces.ScaleConflictForeignWrite, Writer: "kubectl-scale", Replicas: 7, Written: 4})
	if got := *getDeployment(t, ns, "llama").Spec.Replicas; got != 4 {
		t.Errorf("spec.replicas = %d, want 4", got)
	}

	mustCreate(t, testutil.HPA(ns, "hpa", "llama"))
	cache.refresh(t, ns, "llama")
	if c := actuate(t, a, va, 4, 4); c == nil || c.Kind != interfaces.ScaleConflictHPA {
		t.Errorf("with an HPA and the cache at the decision: conflict %+v, want HPA", c)
	}
	// The HorizontalPodAutoscalers were looked for in every Direct-mode actuation, always in
	// the cache.
	if direct.lists != 0 || cache.lists != 6 {
		t.Errorf("HPA lists: %d uncached and %d cached, want 0 and 6", direct.lists, cache.lists)
	}
}
