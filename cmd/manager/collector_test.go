package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/prometheus/model/labels"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
	promsource "github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector/prometheus"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/promsim"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// TestCollectorListerReadsTheManagerCache builds the manager's cache from its own options on
// envtest, with the collector's lister created before the cache starts as run does. The lister
// hands out the trimmed objects the cache's List returns, and a collection through it observes
// what one through the cached client observes. With --watch-namespace the cache's informers
// are per namespace: the collector falls back to List and the log says so.
func TestCollectorListerReadsTheManagerCache(t *testing.T) {
	cfg, c := testutil.StartEnvClient(t, filepath.Join("..", ".."))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	const ns, model = "llm", "meta-llama/Llama-3.1-8B-Instruct"
	create(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	dep := testutil.Deployment("llama").Namespace(ns).Replicas(2).Obj()
	dep.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "HF_HOME", Value: "/models"}} // trimmed in the cache
	create(t, c, dep)
	pods, err := testutil.ServingPods(ctx, c, dep, 2)
	if err != nil {
		t.Fatal(err)
	}

	managerCache := func(opts Options) cache.Cache {
		co := managerOptions(opts, testutil.Scheme()).Cache
		co.Scheme = testutil.Scheme()
		mc, err := cache.New(cfg, co)
		if err != nil {
			t.Fatal(err)
		}
		return mc
	}
	mc := managerCache(DefaultOptions())
	lister := collectorLister(ctx, logr.Discard(), mc)
	if lister == nil {
		t.Fatal("no lister over the manager's cache")
	}
	go func() { _ = mc.Start(ctx) }()
	if !mc.WaitForCacheSync(ctx) {
		t.Fatal("the cache did not sync")
	}
	testutil.Eventually(t, 30*time.Second, func() error {
		got, err := lister.Pods(ctx, ns)
		if err != nil {
			return err
		}
		var list corev1.PodList
		if err := mc.List(ctx, &list, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
			return err
		}
		if len(got) != len(pods) || len(list.Items) != len(pods) {
			return fmt.Errorf("lister %d pods, List %d, want %d", len(got), len(list.Items), len(pods))
		}
		slices.SortFunc(got, func(a, b *corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
		slices.SortFunc(list.Items, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
		for i := range got {
			if diff := cmp.Diff(&list.Items[i], got[i]); diff != "" {
				return fmt.Errorf("pod %s (-List +lister):\n%s", got[i].Name, diff)
			}
			if got[i].ManagedFields != nil || got[i].Spec.Containers[0].Env != nil {
				return fmt.Errorf("pod %s is not trimmed: %+v", got[i].Name, got[i])
			}
		}
		deps, err := lister.Deployments(ctx, ns)
		if err != nil {
			return err
		}
		if len(deps) != 1 || deps[0].Name != dep.Name || deps[0].Spec.Template.Spec.Containers[0].Env != nil {
			return fmt.Errorf("Deployments %+v, want the trimmed %s", deps, dep.Name)
		}
		return nil
	})

	db, err := promsim.NewTSDB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	now := time.Now()
	app := db.Appender(ctx)
	for _, p := range pods {
		for metric, v := range map[string]float64{promsource.MetricKvCacheUsage: 0.5, promsource.MetricRequestsWaiting: 2,
			promsource.MetricRequestsRunning: 6} {
			ls := labels.FromStrings("__name__", metric, "namespace", ns, "pod", p.Name, "model_name", model)
			if _, err := app.Append(0, ls, now.Add(-5*time.Second).UnixMilli(), v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	targets := []collector.Target{{VariantAutoscaling: types.NamespacedName{Namespace: ns, Name: "llama"}, ModelID: model, Deployment: dep.Name}}
	listed, err := promsource.New(db, mc).Collect(ctx, targets, now)
	if err != nil {
		t.Fatal(err)
	}
	indexed, err := promsource.New(db, mc, promsource.WithNamespaceLister(lister)).Collect(ctx, targets, now)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(listed.Variants, indexed.Variants); diff != "" {
		t.Errorf("observations (-List +lister):\n%s", diff)
	}
	if o := indexed.Variants[targets[0].VariantAutoscaling]; !o.Metrics.Available || o.ReadyReplicas != 2 || len(o.Pods) != 2 {
		t.Errorf("observation through the lister: %+v, want both pods read", o)
	}

	var logged strings.Builder
	logger := funcr.New(func(prefix, args string) { logged.WriteString(prefix + " " + args + "\n") }, funcr.Options{})
	opts := DefaultOptions()
	opts.WatchNamespace = ns
	if l := collectorLister(ctx, logger, managerCache(opts)); l != nil {
		t.Errorf("a lister over the namespace-restricted cache: %T", l)
	}
	if !strings.Contains(logged.String(), "The collector lists Pods and Deployments through the cached client") {
		t.Errorf("the fallback is not logged:\n%s", logged.String())
	}
}
