// Package mix chooses the cheapest integer number of replicas per variant of a model whose
// capacity covers a demand.
//
// Solve minimises Σ cost_v·x_v + warm·cost_v·max(0, x_v − current_v) subject to
// Σ capacity_v·x_v ≥ demand and min_v ≤ x_v ≤ max_v: the second term is a small penalty per
// replica started beyond the variant's current replicas, so that among nearly equal fleets the
// one keeping warm replicas wins. The search is exact: a depth-first branch and bound over the
// variants (best cost per capacity first) whose bound is the linear relaxation, which is tight
// for the few variants a model has. Every count is clamped into its bounds before it leaves.
package mix
