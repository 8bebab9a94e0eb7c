package actuator

// The permissions Direct mode needs, generated into config/rbac/role.yaml by `make manifests`:
// Actuator.scale reads the target Deployment (get, granted in internal/controller/rbac.go),
// lists the HorizontalPodAutoscalers of its namespace (from the informer cache, hence watch)
// and updates its scale subresource.

// +kubebuilder:rbac:groups=apps,resources=deployments/scale,verbs=update
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=list;watch
