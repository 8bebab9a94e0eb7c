// Command wva is the operator's command-line companion to the autoscaler; it dispatches
// subcommands, currently:
//
//	wva explain [--json] SNAPSHOT.json|-
//
// explain runs an analyzer over a recorded snapshot and prints its decisions with reasons (see
// package internal/analysis/explain for the snapshot format).
package main
