package actuator

// The permissions Direct mode needs, generated into config/rbac/role.yaml by `make manifests`:
// Actuator.scale reads and updates the scale subresource of the target Deployment.

// +kubebuilder:rbac:groups=apps,resources=deployments/scale,verbs=get;update
