package collector

// IdleModel is a model at zero replicas whose waiting demand is read, to bring it back.
type IdleModel struct {
	// Model is the model and its namespace.
	Model ModelKey
	// Query is the VariantAutoscaling's spec.scaleToZero.demandQuery: PromQL whose value,
	// summed over its series, is the number of requests waiting for the model. Empty: the
	// inference gateway's flow-control queue of the model.
	Query string
}
