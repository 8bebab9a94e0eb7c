// Package queueing computes how many requests per second one replica sustains while meeting TTFT
// and ITL targets at a target attainment, from the replica's step-time model (perfmodel.Params),
// the request mix and the replica's batch limits.
//
// The model follows a vLLM replica with continuous batching and chunked prefill (the
// simulator's replica model). At arrival rate λ:
//
//   - prefill steps stall decoding: the share of time spent prefilling is ρ_p = λ·W_p, with W_p
//     the prefill work of one request (γ per chunk, δ per token, ζ per squared prompt token: a chunk attends to
//     the chunks before it);
//   - a decode step of n sequences takes α + b·n with b = β + ε·K̄ (K̄ the time-averaged KV tokens
//     of a decoding sequence), so the mean wall time per step is T = (α + b·n)/(1 − ρ_p);
//   - Little's law gives the mean batch n = λ·(O − 1)·T, which with T is linear in n and solves
//     in closed form: n = λ(O−1)α / (1 − ρ_p − λ(O−1)b);
//   - ITL at attainment p uses the batch a request sees: itself plus the Poisson-distributed
//     others of an M/G/∞ system, at their p-quantile n + 1 + z_p·√n;
//   - a short output that meets a run of long prefill chunks misses an ITL target that the mean
//     and variance above say it meets: the share of requests whose decode steps hold too many
//     chunk steps is computed over the output-length distribution with the Poisson number of
//     prompt runs a request meets (itlChunkMiss), and must stay within 1 − p;
//   - TTFT at attainment p is the p-quantile of the wait for a batch slot (M/G/c with c slots
//     from max-num-seqs and the KV cache; Erlang C with an Allen–Cunneen correction for the
//     output-length variability), plus one step to the next step boundary, plus the prefill
//     steps of a p-quantile prompt.
//
// Every predicted latency grows with λ, so the largest rate meeting both targets is found by
// bisection. docs/analyzers.md ("SLO-driven building blocks") discusses the approximations and
// their check against the simulator.
package queueing
