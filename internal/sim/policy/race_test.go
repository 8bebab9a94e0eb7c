//go:build race

package policy

// raceEnabled is true when the tests run under the race detector, which slows them about tenfold.
const raceEnabled = true
