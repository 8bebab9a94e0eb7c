// Package common is the in-memory layer between the controller and the engines: the decision
// cache, the shared configuration, the decision trigger channel and the VariantAutoscaling cache.
//
// Each piece is a type with a constructor, so tests and cmd/manager can make fresh instances.
// The package-level DecisionCache, Config, DecisionTrigger and the VA-cache functions are the
// default instances that cmd/manager hands to the components; components never reach for them
// on their own. Every exported method is safe for concurrent use.
package common
