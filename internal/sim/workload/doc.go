// Package workload produces the request streams that simulations replay: it reads the Azure LLM
// inference trace (CSV) and Mooncake (JSONL) formats, scales a stream's arrival rate, and
// generates synthetic shapes (steady rates, steps, bursts, bursts after idle minutes, diurnal
// ramps; chat-like or prefill-heavy token mixes) for tests.
//
// A stream is a []Request sorted by arrival time, with arrivals measured from the start of the
// stream. Everything here is deterministic: randomness comes from an explicit seed.
package workload
