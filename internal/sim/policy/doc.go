// Package policy provides the simulator's reference scaling policies — a fixed replica count,
// the Kubernetes HorizontalPodAutoscaler algorithm on per-pod vLLM metrics, and a clairvoyant
// oracle that gives the lower bound of GPU-hours — against which the production engine is
// compared.
//
// Every policy implements sim.Policy and observes the cluster only through sim.Cluster, the same
// collector.Source the production engine consumes (the oracle instead reads the scenario's
// future arrivals, which is what makes it a bound rather than a policy one could deploy). The
// HPA's replica calculation and behaviour (stabilisation windows and rate limits) are exported
// as HPAController, so that an adapter can put the production engine behind a simulated HPA.
package policy
