package promsource

// The permissions this package's reads need, generated into config/rbac/role.yaml by
// `make manifests` (merged with the identical grants of other packages).

// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
