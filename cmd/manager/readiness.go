package main

import (
	"context"
	"time"

	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
)

// readinessPoll is how often the gate checks that the VA cache holds every VariantAutoscaling.
const readinessPoll = 50 * time.Millisecond

// engineReadiness runs on the elected leader and closes ready once the engine's inputs are
// loaded: the manager's informers have synced, the ConfigMap reconciler has made its first
// pass (configLoaded), and the VA cache, which the VariantAutoscaling reconciler fills as it
// reconciles, holds every VariantAutoscaling the informer knows. The engine bounds its own wait
// for ready (saturation.WithReadiness), so a gate that never opens delays it, never stops it.
type engineReadiness struct {
	cache        cache.Cache
	configLoaded <-chan struct{}
	vas          *common.VACache
	clock        clock.WithTicker
	ready        chan struct{}
}

// NeedLeaderElection: the reconcilers it waits for run on the leader only.
func (g *engineReadiness) NeedLeaderElection() bool { return true }

// Start waits for the inputs, closes ready and returns; it returns early, with ready open,
// when ctx ends.
func (g *engineReadiness) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("engine-readiness")
	if !g.cache.WaitForCacheSync(ctx) {
		return nil
	}
	select {
	case <-g.configLoaded:
	case <-ctx.Done():
		return nil
	}
	ticker := g.clock.NewTicker(readinessPoll)
	defer ticker.Stop()
	for {
		// Listing from the cache starts the VariantAutoscaling informer if it is not yet and
		// waits for it to sync.
		missing, err := g.uncached(ctx)
		switch {
		case err != nil:
			logger.Error(err, "Listing VariantAutoscalings from the cache; retrying")
		case missing == 0:
			close(g.ready)
			logger.V(1).Info("Caches and configuration loaded", "variantAutoscalings", g.vas.Len())
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C():
		}
	}
}

// uncached counts the VariantAutoscalings in the informer cache, not being deleted, that are
// not yet in the VA cache.
func (g *engineReadiness) uncached(ctx context.Context) (int, error) {
	var list wvav1alpha1.VariantAutoscalingList
	if err := g.cache.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil { // read only
		return 0, err
	}
	n := 0
	for i := range list.Items {
		va := &list.Items[i]
		if !va.DeletionTimestamp.IsZero() {
			continue
		}
		if _, ok := g.vas.Get(client.ObjectKeyFromObject(va)); !ok {
			n++
		}
	}
	return n, nil
}
