// Package report compares scaling policies on one simulated scenario and presents the result:
// a text table, JSON, and a Markdown report with plots.
//
// Compare builds the scenario from a trace (rate-scaled, one or more variants of one model),
// computes the oracle's lower bound once, runs each chosen policy (wva, wva-v1, hpa, static,
// oracle) with sim.Run and keeps its score and timeline. WriteTable, WriteJSON and WriteReport
// render the Comparison; everything they write depends only on the Config, so the same seed gives
// the same bytes. `wva simulate` is the command-line front end.
package report
