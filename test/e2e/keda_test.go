//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d-incubation/workload-variant-autoscaler/test/e2e/localcluster"
	"github.com/llm-d-incubation/workload-variant-autoscaler/test/e2e/vllmemu"
)

// scaledObject returns config/samples/keda-scaledobject.yaml adapted to variant v in ns: its
// name, target, HPA name, this cluster's Prometheus and the query naming the variant.
func scaledObject(t *testing.T, ns string, v variant) *unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "config", "samples", "keda-scaledobject.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := localcluster.DecodeYAML(b)
	if err != nil || len(objs) != 1 {
		t.Fatalf("decoding the ScaledObject sample: %v (%d objects)", err, len(objs))
	}
	so := objs[0]
	so.SetName(v.name)
	so.SetNamespace(ns)
	set := func(val any, path ...string) {
		if err := unstructured.SetNestedField(so.Object, val, path...); err != nil {
			t.Fatalf("setting %v: %v", path, err)
		}
	}
	set(v.name, "spec", "scaleTargetRef", "name")
	set(int64(v.min), "spec", "minReplicaCount")
	set(int64(v.max), "spec", "maxReplicaCount")
	set("wva-keda-hpa-"+v.name, "spec", "advanced", "horizontalPodAutoscalerConfig", "name")
	triggers, _, _ := unstructured.NestedSlice(so.Object, "spec", "triggers")
	md := triggers[0].(map[string]any)["metadata"].(map[string]any)
	md["serverAddress"] = env.cluster.PrometheusURL()
	md["query"] = fmt.Sprintf(`max(wva_desired_replicas{variant_name=%q,exported_namespace=%q})`, v.name, ns)
	set(triggers, "spec", "triggers")
	return so
}

// TestKEDALoadStep: the load step of TestDirectLoadStep in Metrics mode: WVA publishes
// wva_desired_replicas, Prometheus scrapes it, KEDA's ScaledObject (the shipped sample) feeds it
// to the HPA through the external metrics API, the HPA scales the Deployment. The HPA's desired
// replicas come to equal the published decision.
func TestKEDALoadStep(t *testing.T) {
	_, cl := setup(t)
	if !env.keda {
		if os.Getenv("E2E_NO_KEDA") != "" {
			t.Skip("E2E_NO_KEDA is set")
		}
		t.Fatalf("KEDA is not in %s: build it with hack/cluster-binaries.sh", env.cluster.Config().BinDir)
	}
	res := &scenarioResult{Name: "keda-load-step"}
	record(t, res)
	const ns = "e2e-keda"
	vs := []variant{l4(), a100()}
	deploy(t, cl, ns, vs...)
	ctx := context.Background()
	for _, v := range vs {
		if err := cl.Create(ctx, scaledObject(t, ns, v)); err != nil {
			t.Fatalf("creating the ScaledObject of %s: %v", v.name, err)
		}
	}
	defer setLoad(t, vllmemu.LoadRequest{Namespace: ns, Model: model})
	loadStep(t, cl, ns, res, vs...)
	equal := false
	eventually(t, 5*time.Minute, "the HPAs' desired replicas equal to WVA's decisions", func() error {
		s := observe(t, cl, ns, vs...)
		for _, v := range vs {
			hpa := &autoscalingv2.HorizontalPodAutoscaler{}
			if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: "wva-keda-hpa-" + v.name}, hpa); err != nil {
				return err
			}
			if int(hpa.Status.DesiredReplicas) != s.decision[v.name] {
				return fmt.Errorf("%s: HPA desired %d, WVA decision %d", v.name, hpa.Status.DesiredReplicas, s.decision[v.name])
			}
		}
		equal = true
		return nil
	})
	res.HPADesiredEqualsWVA = &equal
}
