package common_test

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// VariantAutoscalingReconciler is the reconciler of the API reference's Controller Pattern.
// The real one is in internal/controller.
type VariantAutoscalingReconciler struct {
	client.Client
}

// Reconcile is the API reference's Controller Pattern, as written there.
func (r *VariantAutoscalingReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	// 1. Fetch VA from API
	va := &wvav1alpha1.VariantAutoscaling{}
	if err := r.Get(ctx, req.NamespacedName, va); err != nil {
		if apierrors.IsNotFound(err) {
			// 2. Remove from cache if deleted
			common.RemoveVACache(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}

	// 3. Update cache
	common.UpdateVACache(va)

	// 4. Read decision from cache
	decision, ok := common.DecisionCache.Get(va.Name, va.Namespace)
	if ok {
		// 5. Update status
		replicas, accelerator, timestamp := common.DecisionToOptimizedAlloc(decision)
		va.Status.OptimizedAlloc.Replicas = replicas
		va.Status.OptimizedAlloc.Accelerator = accelerator
		va.Status.OptimizedAlloc.LastUpdateTime = timestamp

		if err := r.Status().Update(ctx, va); err != nil {
			return ctrl.Result{}, err
		}
	}

	return ctrl.Result{}, nil
}

func Example_controllerPattern() {
	scheme := runtime.NewScheme()
	_ = wvav1alpha1.AddToScheme(scheme)
	va := &wvav1alpha1.VariantAutoscaling{ObjectMeta: metav1.ObjectMeta{Name: "llama-8b-h100", Namespace: "prod"}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(va).WithStatusSubresource(va).Build()
	r := &VariantAutoscalingReconciler{Client: c}
	ctx := context.Background()
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(va)}

	common.DecisionCache.Set(va.Name, va.Namespace, interfaces.VariantDecision{TargetReplicas: 4, AcceleratorName: "H100"})
	defer common.DecisionCache.Delete(va.Name, va.Namespace)
	if _, err := r.Reconcile(ctx, req); err != nil {
		fmt.Println(err)
	}
	got := &wvav1alpha1.VariantAutoscaling{}
	_ = c.Get(ctx, req.NamespacedName, got)
	fmt.Println(got.Status.OptimizedAlloc.Replicas, got.Status.OptimizedAlloc.Accelerator, len(common.GetReadyVAs()))

	_ = c.Delete(ctx, got)
	_, _ = r.Reconcile(ctx, req)
	fmt.Println(len(common.GetReadyVAs()))
	// Output:
	// 4 H100 1
	// 0
}
