package inventory

// The permissions the GPU inventory needs, generated into config/rbac/role.yaml by
// `make manifests`: Reader lists Nodes and Pods through the manager's informers (pods and
// deployments get;list;watch are granted in internal/controller/rbac.go).

// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch
