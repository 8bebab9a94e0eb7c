package common_test

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// The examples below are the ones of the package's API reference, run as written. They use the
// package-level default instances, so each one cleans up what it stored.

func ExampleInternalDecisionCache_Set() {
	decision := interfaces.VariantDecision{
		VariantName:     "llama-8b-autoscaler",
		Namespace:       "llm-inference",
		TargetReplicas:  5,
		AcceleratorName: "A100",
		Action:          interfaces.ActionScaleUp,
	}
	common.DecisionCache.Set("llama-8b-autoscaler", "llm-inference", decision)
	defer common.DecisionCache.Delete("llama-8b-autoscaler", "llm-inference")

	got, _ := common.DecisionCache.Get("llama-8b-autoscaler", "llm-inference")
	fmt.Println(got.TargetReplicas, got.AcceleratorName, got.Action)
	// Output: 5 A100 scale-up
}

func ExampleInternalDecisionCache_Get() {
	decision, ok := common.DecisionCache.Get("llama-8b-autoscaler", "llm-inference")
	if !ok {
		// Decision not found
		fmt.Println("not found")
	}
	_ = decision
	// Output: not found
}

func ExampleGlobalConfig_UpdateOptimizationConfig() {
	defer common.Config.UpdateOptimizationConfig(common.Config.GetOptimizationInterval())

	common.Config.UpdateOptimizationConfig("30s")
	fmt.Println(common.Config.GetOptimizationInterval())
	// Output: 30s
}

func ExampleGlobalConfig_UpdateSaturationConfig() {
	defer common.Config.UpdateSaturationConfig(common.Config.GetSaturationConfig())

	configs := map[string]interfaces.SaturationScalingConfig{
		"llama-8b": {
			KvCacheThreshold:     0.80,
			QueueLengthThreshold: 5,
		},
	}
	common.Config.UpdateSaturationConfig(configs)
	fmt.Println(common.Config.GetSaturationConfig()["llama-8b"].QueueLengthThreshold)
	// Output: 5
}

func ExampleGlobalConfig_GetOptimizationInterval() {
	defer common.Config.UpdateOptimizationConfig(common.Config.GetOptimizationInterval())
	common.Config.UpdateOptimizationConfig("1m")

	interval := common.Config.GetOptimizationInterval()
	duration, err := time.ParseDuration(interval)
	fmt.Println(duration, err)
	// Output: 1m0s <nil>
}

func ExampleGlobalConfig_GetSaturationConfig() {
	defer common.Config.UpdateSaturationConfig(common.Config.GetSaturationConfig())
	common.Config.UpdateSaturationConfig(map[string]interfaces.SaturationScalingConfig{
		"llama-8b": {KvCacheThreshold: 0.85},
	})

	config := common.Config.GetSaturationConfig()
	if modelConfig, ok := config["llama-8b"]; ok {
		threshold := modelConfig.KvCacheThreshold
		fmt.Println(threshold)
	}
	// Output: 0.85
}

func ExampleDecisionToOptimizedAlloc() {
	decision := interfaces.VariantDecision{TargetReplicas: 3, AcceleratorName: "H100"}
	va := &wvav1alpha1.VariantAutoscaling{}

	replicas, accelerator, timestamp := common.DecisionToOptimizedAlloc(decision)
	va.Status.OptimizedAlloc.Replicas = replicas
	va.Status.OptimizedAlloc.Accelerator = accelerator
	va.Status.OptimizedAlloc.LastUpdateTime = timestamp

	fmt.Println(va.Status.OptimizedAlloc.Replicas, va.Status.OptimizedAlloc.Accelerator,
		time.Since(va.Status.OptimizedAlloc.LastUpdateTime.Time) < time.Minute)
	// Output: 3 H100 true
}

func ExampleUpdateVACache() {
	variantAutoscaling := &wvav1alpha1.VariantAutoscaling{
		ObjectMeta: metav1.ObjectMeta{Name: "llama-8b-autoscaler", Namespace: "llm-inference"},
	}
	// In controller reconciliation
	common.UpdateVACache(variantAutoscaling)
	defer common.RemoveVACache(client.ObjectKeyFromObject(variantAutoscaling))

	fmt.Println(len(common.GetReadyVAs()))
	// Output: 1
}

func ExampleRemoveVACache() {
	va := &wvav1alpha1.VariantAutoscaling{
		ObjectMeta: metav1.ObjectMeta{Name: "llama-8b-autoscaler", Namespace: "llm-inference"},
	}
	common.UpdateVACache(va)

	// When VA is deleted
	key := client.ObjectKey{
		Name:      va.Name,
		Namespace: va.Namespace,
	}
	common.RemoveVACache(key)

	fmt.Println(len(common.GetReadyVAs()))
	// Output: 0
}

func ExampleGetReadyVAs() {
	for _, name := range []string{"b", "a"} {
		va := &wvav1alpha1.VariantAutoscaling{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}}
		common.UpdateVACache(va)
		defer common.RemoveVACache(client.ObjectKeyFromObject(va))
	}

	// In engine optimization loop
	readyVAs := common.GetReadyVAs()
	for _, va := range readyVAs {
		// Process each VA
		fmt.Println(va.Name)
	}
	// Output:
	// a
	// b
}

// Engine is the engine of the API reference's Engine Pattern.
type Engine struct{}

func (e *Engine) analyzeAndDecide(va wvav1alpha1.VariantAutoscaling, satConfig map[string]interfaces.SaturationScalingConfig) interfaces.VariantDecision {
	cfg, _ := interfaces.ConfigFor(satConfig, va.Spec.ModelID, va.Namespace)
	target := 1
	if cfg.KvCacheThreshold < 0.5 {
		target = 2
	}
	return interfaces.VariantDecision{VariantName: va.Name, Namespace: va.Namespace, TargetReplicas: target,
		AcceleratorName: va.AcceleratorName(), Action: interfaces.ActionFor(1, target)}
}

// optimize is the API reference's Engine Pattern, as written there.
func (e *Engine) optimize(ctx context.Context) error {
	// 1. Read configuration
	interval := common.Config.GetOptimizationInterval()
	satConfig := common.Config.GetSaturationConfig()
	_ = interval

	// 2. Get VAs from cache (no API call)
	readyVAs := common.GetReadyVAs()

	// 3. Process each VA
	for _, va := range readyVAs {
		// Analyze and make decision
		decision := e.analyzeAndDecide(va, satConfig)

		// 4. Store decision
		common.DecisionCache.Set(va.Name, va.Namespace, decision)

		// 5. Trigger reconciliation
		common.DecisionTrigger <- event.GenericEvent{
			Object: &wvav1alpha1.VariantAutoscaling{
				ObjectMeta: metav1.ObjectMeta{
					Name:      va.Name,
					Namespace: va.Namespace,
				},
			},
		}
	}

	return nil
}

func Example_enginePattern() {
	va := &wvav1alpha1.VariantAutoscaling{
		ObjectMeta: metav1.ObjectMeta{Name: "llama-8b-l4", Namespace: "prod",
			Labels: map[string]string{wvav1alpha1.AcceleratorNameLabel: "L4"}},
		Spec: wvav1alpha1.VariantAutoscalingSpec{ModelID: "llama-8b"},
	}
	common.UpdateVACache(va)
	defer common.RemoveVACache(client.ObjectKeyFromObject(va))
	defer common.DecisionCache.Delete(va.Name, va.Namespace)
	defer common.Config.UpdateSaturationConfig(common.Config.GetSaturationConfig())
	common.Config.UpdateSaturationConfig(map[string]interfaces.SaturationScalingConfig{
		"default": {KvCacheThreshold: 0.8}, "llama": {ModelID: "llama-8b", KvCacheThreshold: 0.4},
	})

	if err := (&Engine{}).optimize(context.Background()); err != nil {
		fmt.Println(err)
	}
	ev := <-common.DecisionTrigger
	d, _ := common.DecisionCache.Get(va.Name, va.Namespace)
	fmt.Println(ev.Object.GetNamespace()+"/"+ev.Object.GetName(), d.TargetReplicas, d.AcceleratorName, d.Action)
	// Output: prod/llama-8b-l4 2 L4 scale-up
}
