// Package explain runs an analyzer over a recorded snapshot of models and renders its decisions
// for people (an aligned table with reasons) or tools (JSON); it backs `wva explain`.
//
// A snapshot names the analyzer, carries the saturation ConfigMap entries and the per-variant
// state of each model:
//
//	{"analyzer": "v1",
//	 "saturationConfig": {"default": {"kvCacheThreshold": 0.8, "queueLengthThreshold": 5,
//	                                  "kvSpareTrigger": 0.1, "queueSpareTrigger": 3}},
//	 "models": [{"modelID": "llama-8b", "namespace": "prod",
//	             "variants": [{"name": "llama-8b-l4", "accelerator": "L4", "cost": 5,
//	                           "currentReplicas": 2, "desiredReplicas": 0,
//	                           "pods": [{"name": "llama-8b-l4-0", "kvCacheUsage": 0.75, "queueLength": 2}]}]}]}
//
// Unknown fields are rejected so that typos do not silently fall back to defaults.
package explain
