// Package defaults states in one place what WVA does when nothing is configured: the values the
// manager starts with and that config/default installs (cmd/manager's TestShippedDefaults checks
// the manifests against them), and that the simulator's wva policy runs with.
package defaults
