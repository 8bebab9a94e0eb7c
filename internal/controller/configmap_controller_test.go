package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

func ensureNamespace(t *testing.T, name string) {
	t.Helper()
	err := k8sClient.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
}

// TestConfigMapsLoadedWithoutConfigMaps: the suite starts with neither ConfigMap in the
// cluster; the first pass must still complete, so that the engine need not wait for it.
func TestConfigMapsLoadedWithoutConfigMaps(t *testing.T) {
	select {
	case <-cmReconciler.Loaded():
	case <-time.After(timeout):
		t.Fatal("the first pass over two missing ConfigMaps did not complete")
	}
}

func TestOptimizationIntervalReload(t *testing.T) {
	ctx := context.Background()
	ensureNamespace(t, cmNames.Namespace)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cmNames.Main, Namespace: cmNames.Namespace},
		Data: map[string]string{"GLOBAL_OPT_INTERVAL": "45s", "PROMETHEUS_BASE_URL": "https://prometheus:9090"}}
	if err := k8sClient.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8sClient.Delete(ctx, cm) })
	eventually(t, timeout, func() error {
		if got := sharedCfg.GetOptimizationInterval(); got != "45s" {
			return fmt.Errorf("interval = %q, want 45s", got)
		}
		return nil
	})

	cm.Data["GLOBAL_OPT_INTERVAL"] = "1m"
	if err := k8sClient.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, func() error {
		if got := sharedCfg.GetOptimizationInterval(); got != "1m0s" {
			return fmt.Errorf("interval = %q after edit, want 1m0s", got)
		}
		return nil
	})

	cm.Data["GLOBAL_OPT_INTERVAL"] = "every minute"
	if err := k8sClient.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, func() error {
		evs, err := eventsFor(ctx, cm)
		if err != nil {
			return err
		}
		bad := evs[EventReasonInvalidConfiguration]
		if len(bad) != 1 || !strings.Contains(bad[0], "GLOBAL_OPT_INTERVAL") || !strings.Contains(bad[0], "every minute") {
			return fmt.Errorf("InvalidConfiguration events = %q", bad)
		}
		return nil
	})
	if got := sharedCfg.GetOptimizationInterval(); got != "1m0s" {
		t.Errorf("interval = %q after a bad edit, want the last good 1m0s", got)
	}

	// Out of bounds: rejected with an event that says why, and the last good value stays.
	cm.Data["GLOBAL_OPT_INTERVAL"] = "9223372036854775807ns"
	if err := k8sClient.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, func() error {
		evs, err := eventsFor(ctx, cm)
		if err != nil {
			return err
		}
		for _, note := range evs[EventReasonInvalidConfiguration] {
			if strings.Contains(note, "9223372036854775807ns") && strings.Contains(note, "above the maximum of 10m0s") {
				return nil
			}
		}
		return fmt.Errorf("InvalidConfiguration events = %q", evs[EventReasonInvalidConfiguration])
	})
	if got := sharedCfg.GetOptimizationInterval(); got != "1m0s" {
		t.Errorf("interval = %q after an out-of-bounds edit, want the last good 1m0s", got)
	}
}

func TestSaturationConfigReload(t *testing.T) {
	ctx := context.Background()
	ensureNamespace(t, cmNames.Namespace)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cmNames.Saturation, Namespace: cmNames.Namespace},
		Data: map[string]string{
			"default": "kvCacheThreshold: 0.8\nqueueLengthThreshold: 5\nkvSpareTrigger: 0.1\nqueueSpareTrigger: 3\n",
			"llama":   "model_id: meta/llama-3.1-8b\nkvCacheThreshold: 0.9\n",
		}}
	if err := k8sClient.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8sClient.Delete(ctx, cm) })

	llama := interfaces.SaturationScalingConfig{ModelID: "meta/llama-3.1-8b", KvCacheThreshold: 0.9, QueueLengthThreshold: 5, KvSpareTrigger: 0.1, QueueSpareTrigger: 3}
	want := map[string]interfaces.SaturationScalingConfig{"default": interfaces.DefaultSaturationScalingConfig(), "llama": llama}
	eventually(t, timeout, func() error {
		if diff := cmp.Diff(want, sharedCfg.GetSaturationConfig()); diff != "" {
			return fmt.Errorf("config (-want +got):\n%s", diff)
		}
		return nil
	})

	// Edited without a restart: new thresholds are in force.
	cm.Data["default"] = "kvCacheThreshold: 0.7\nqueueLengthThreshold: 10\nkvSpareTrigger: 0.1\nqueueSpareTrigger: 2\n"
	if err := k8sClient.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	newDefault := interfaces.SaturationScalingConfig{KvCacheThreshold: 0.7, QueueLengthThreshold: 10, KvSpareTrigger: 0.1, QueueSpareTrigger: 2}
	eventually(t, timeout, func() error {
		got := sharedCfg.GetSaturationConfig()
		if diff := cmp.Diff(newDefault, got["default"]); diff != "" {
			return fmt.Errorf("default (-want +got):\n%s", diff)
		}
		if got["llama"].QueueLengthThreshold != 10 {
			return fmt.Errorf("override did not pick up the new default's queue threshold: %+v", got["llama"])
		}
		return nil
	})

	// A malformed entry: the last good entry stays, the others still load, and an event names the key.
	cm.Data["llama"] = "model_id: meta/llama-3.1-8b\nkvCacheThreshold: 1.7\n"
	cm.Data["granite"] = "model_id: ibm/granite-13b\nqueueLengthThreshold: 8\n"
	if err := k8sClient.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, func() error {
		got := sharedCfg.GetSaturationConfig()
		if got["granite"].QueueLengthThreshold != 8 {
			return fmt.Errorf("good entry not loaded: %+v", got)
		}
		if got["llama"].KvCacheThreshold != 0.9 {
			return fmt.Errorf("llama = %+v, want the last good entry (kv 0.9)", got["llama"])
		}
		evs, err := eventsFor(ctx, cm)
		if err != nil {
			return err
		}
		bad := evs[EventReasonInvalidConfiguration]
		if len(bad) != 1 || !strings.Contains(bad[0], `"llama"`) || !strings.Contains(bad[0], "kvCacheThreshold") {
			return fmt.Errorf("InvalidConfiguration events = %q", bad)
		}
		return nil
	})

	// Deleting the ConfigMap keeps the last configuration.
	if err := k8sClient.Delete(ctx, cm); err != nil {
		t.Fatal(err)
	}
	if got := sharedCfg.GetSaturationConfig(); got["default"].KvCacheThreshold != 0.7 {
		t.Errorf("config lost after delete: %+v", got)
	}
}

// TestServiceClassesReload: the service classes load into the shared configuration, a bad
// class keeps its last good version while the others load, and SLOFor resolves from them.
func TestServiceClassesReload(t *testing.T) {
	ctx := context.Background()
	ensureNamespace(t, cmNames.Namespace)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cmNames.ServiceClasses, Namespace: cmNames.Namespace},
		Data: map[string]string{
			"premium.yaml":  "name: Premium\npriority: 1\ndata:\n- model: llama\n  slo-ttft: 500\n  slo-tpot: 24\n",
			"freemium.yaml": "name: Freemium\npriority: 10\ndata:\n- model: granite\n  slo-ttft: 2000\n",
		}}
	if err := k8sClient.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8sClient.Delete(ctx, cm) })
	premium := interfaces.SLOTargets{TTFT: 500 * time.Millisecond, ITL: 24 * time.Millisecond, Attainment: 0.99, Source: `service class "Premium"`}
	eventually(t, timeout, func() error {
		got, ok := sharedCfg.SLOFor("llama", "any")
		if diff := cmp.Diff(premium, got); !ok || diff != "" {
			return fmt.Errorf("SLOFor(llama) found=%v (-want +got):\n%s", ok, diff)
		}
		return nil
	})

	// A typo in Premium (slo-ttfb): Premium keeps its last good targets; Freemium's edit loads.
	cm.Data["premium.yaml"] = "name: Premium\npriority: 1\ndata:\n- model: llama\n  slo-ttfb: 100\n"
	cm.Data["freemium.yaml"] = "name: Freemium\npriority: 10\ndata:\n- model: granite\n  slo-ttft: 3000\n"
	if err := k8sClient.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, func() error {
		if got, _ := sharedCfg.SLOFor("granite", "any"); got.TTFT != 3*time.Second {
			return fmt.Errorf("granite TTFT = %s, want the edited 3s", got.TTFT)
		}
		if got, _ := sharedCfg.SLOFor("llama", "any"); got != premium {
			return fmt.Errorf("llama = %+v, want the last good Premium targets", got)
		}
		evs, err := eventsFor(ctx, cm)
		if err != nil {
			return err
		}
		bad := evs[EventReasonInvalidConfiguration]
		if len(bad) != 1 || !strings.Contains(bad[0], `"premium.yaml"`) || !strings.Contains(bad[0], "slo-ttfb") {
			return fmt.Errorf("InvalidConfiguration events = %q", bad)
		}
		return nil
	})
}

func TestOtherConfigMapsAreIgnored(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	before := sharedCfg.GetOptimizationInterval()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cmNames.Main, Namespace: ns},
		Data: map[string]string{"GLOBAL_OPT_INTERVAL": "7s"}}
	if err := k8sClient.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	// A ConfigMap with the right name in the wrong namespace must not be loaded. Give the
	// controller the time it needs to load one that is watched, then check.
	probe := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cmNames.Saturation, Namespace: cmNames.Namespace},
		Data: map[string]string{"default": "kvCacheThreshold: 0.66\n"}}
	ensureNamespace(t, cmNames.Namespace)
	if err := k8sClient.Create(ctx, probe); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8sClient.Delete(ctx, probe) })
	eventually(t, timeout, func() error {
		if got := sharedCfg.GetSaturationConfig()["default"].KvCacheThreshold; got != 0.66 {
			return fmt.Errorf("probe not loaded: %v", got)
		}
		return nil
	})
	if got := sharedCfg.GetOptimizationInterval(); got != before {
		t.Errorf("interval = %q, loaded from a ConfigMap in namespace %s", got, ns)
	}
}
