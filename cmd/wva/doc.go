// Command wva is the operator's command-line companion to the autoscaler; it dispatches
// subcommands, currently:
//
//	wva explain [--json] SNAPSHOT.json|-
//	wva simulate [--trace FILE] [--rate-scale K] [--startup-delay D] [--policies LIST]
//	             [--variants LIST] [--slo-ttft D] [--slo-itl D] [--seed N] [--json] [--report DIR]
//
// explain runs an analyzer over a recorded snapshot and prints its decisions with reasons (see
// package internal/analysis/explain for the snapshot format). simulate replays a trace against
// simulated replicas and compares autoscaling policies on it (see package internal/sim/report
// and docs/simulator.md).
package main
