package sim

import (
	"math"
	"time"
)

// admissionWatermark is the share of the KV cache kept free when admitting a request (vLLM V0's
// default block-manager watermark), so that a preempted request is not readmitted straight into
// another preemption.
const admissionWatermark = 0.01

// Server is the performance model of one vLLM replica with continuous batching.
//
// Requests wait in a FIFO queue. At each step boundary the server
//
//  1. makes room in the KV cache for one new token per decoding sequence, preempting the newest
//     running sequence (freeing its KV and putting it back at the head of the queue) while the
//     cache would overflow;
//  2. spends the step's token budget (MaxBatchedTokens minus one token per decoding sequence)
//     on prompt chunks: first of sequences already prefilling, then of waiting requests, which
//     are admitted in order while a batch slot is free and their prompt fits the KV cache — no
//     request is admitted in a step that preempted;
//  3. runs the step for the profile's step time (see Profile): the overhead, the decode of the
//     decoding sequences with their KV, and the prompt chunks with their attention over the
//     tokens before them;
//  4. at the end of the step, every decoding sequence has one more token (and one more KV token),
//     a sequence whose prompt is complete has its first token (TTFT), and a sequence with all its
//     tokens is finished and frees its KV.
//
// A preempted request is recomputed on readmission: its prompt and the tokens it had generated
// are prefilled again, then it continues decoding; its TTFT is not changed.
//
// With automatic prefix caching (requests with PrefixBlocks), an admitted request skips the
// prefill of its longest cached prefix of blocks (see prefixCache).
//
// Between events nothing changes but the decode progress, so runs of decode-only steps are
// executed at once, up to the next completion, the next KV overflow or the requested time; each
// such step is longer than the one before by ε × the batch size (every sequence's KV grew by a
// token), and the run's duration is summed in closed form in integer femtoseconds, so that
// executing k steps at once or one at a time gives the same times to the femtosecond. A
// simulation costs O(requests) work per replica rather than O(steps x batch).
type Server struct {
	p         Profile
	watermark int

	clock    time.Duration // time at which the next step starts
	sub      int64         // femtoseconds past clock (0 <= sub < fsPerNs)
	lastBusy time.Duration // end of the last step

	// Step-time constants in femtoseconds.
	overheadFs int64
	epsFs      int64 // per KV token of the decoding sequences

	waiting       reqDeque
	waitingTokens int // KV tokens the waiting requests need on admission
	head, tail    *Request
	running       int // prefilling + decoding
	prefilling    []*Request
	decoding      decodeHeap
	dc            int64 // decode steps executed
	kv            int   // KV tokens in use
	prefillKV     int   // KV tokens reserved by the prefilling sequences (the rest is decodeKV)
	cache         *prefixCache

	counters Counters
	hist     Histograms
}

// NewServer returns an idle replica with profile p whose clock starts at start.
func NewServer(p Profile, start time.Duration) *Server {
	return &Server{
		p:          p,
		watermark:  int(math.Ceil(admissionWatermark * float64(p.KVCacheTokens))),
		clock:      start,
		lastBusy:   start,
		overheadFs: msToFs(p.Overhead),
		epsFs:      msToFs(p.Epsilon),
		hist:       newHistograms(),
	}
}

// Femtoseconds: the unit of the step-time arithmetic.
const (
	fsPerNs     = 1_000_000
	fsPerMs     = 1e12
	fsPerSecond = 1e15
	// maxRunFs bounds the femtoseconds one fast-forward adds up (1,000 s), far from int64's limit.
	maxRunFs = int64(1e18)
)

func msToFs(ms float64) int64 { return int64(math.Round(ms * fsPerMs)) }

// advance moves the clock fs femtoseconds on.
func (s *Server) advance(fs int64) {
	s.sub += fs
	s.clock += time.Duration(s.sub / fsPerNs)
	s.sub %= fsPerNs
}

// decodeFixedFs is the part of a step that decodes n sequences that does not depend on their KV.
func (s *Server) decodeFixedFs(n int) int64 {
	return msToFs(s.p.Overhead + s.p.Alpha + s.p.Beta*float64(n))
}

// decodeKV is the KV held by the decoding sequences.
func (s *Server) decodeKV() int { return s.kv - s.prefillKV }

// Profile returns the server's profile.
func (s *Server) Profile() Profile { return s.p }

// Fits reports whether a request with the given token counts can ever be served: its prompt and
// output must fit the KV cache (less the admission watermark).
func (s *Server) Fits(inputTokens, outputTokens int) bool {
	return inputTokens+outputTokens <= s.p.KVCacheTokens-s.watermark
}

// Enqueue adds r to the waiting queue at time now, which must not be before the time the
// server was last advanced to. A request that can never fit (see Fits) is marked Rejected and
// dropped.
func (s *Server) Enqueue(r *Request, now time.Duration) {
	if !s.Fits(r.InputTokens, r.OutputTokens) {
		r.Rejected = true
		return
	}
	if s.Idle() && s.clock < now {
		s.clock = now
	}
	r.queuedAt = now
	s.waiting.pushBack(r)
	s.waitingTokens += r.InputTokens + r.generated
}

// Idle reports whether the server has nothing running or waiting.
func (s *Server) Idle() bool { return s.running == 0 && s.waiting.len() == 0 }

// LastBusy is the end of the server's last step.
func (s *Server) LastBusy() time.Duration { return s.lastBusy }

// Gauges returns the server's current vLLM gauges.
func (s *Server) Gauges() Gauges {
	return Gauges{
		KVCacheUsage: float64(s.kv) / float64(s.p.KVCacheTokens),
		Waiting:      s.waiting.len(),
		Running:      s.running,
	}
}

// Counters returns the server's cumulative vLLM counters.
func (s *Server) Counters() Counters { return s.counters }

// Histograms returns a copy of the server's vLLM request histograms.
func (s *Server) Histograms() Histograms { return s.hist.clone() }

// Load is the share of the server's capacity that its requests use or wait for: the larger of
// the batch-slot share (running + waiting) / MaxBatchSize and the KV share (KV in use + KV the
// waiting requests need) / KVCacheTokens.
func (s *Server) Load() float64 {
	slots := float64(s.running+s.waiting.len()) / float64(s.p.MaxBatchSize)
	kv := float64(s.kv+s.waitingTokens) / float64(s.p.KVCacheTokens)
	return max(slots, kv)
}

// AdvanceTo runs steps until the server is idle or the next step would start at or after t.
// A step that starts before t runs to completion, so the server's clock may pass t.
func (s *Server) AdvanceTo(t time.Duration) {
	for s.clock < t {
		if s.Idle() {
			s.clock = t
			return
		}
		if len(s.prefilling) == 0 && len(s.decoding) > 0 && !s.canAdmit() && s.fastForward(t) {
			continue
		}
		s.step()
	}
}

// budget is the prompt-token budget of a step that decodes ndec sequences.
func (s *Server) budget(ndec int) int {
	if s.p.MaxBatchedTokens <= 0 {
		return math.MaxInt
	}
	return max(s.p.MaxBatchedTokens-ndec, 0)
}

// canAdmit reports whether the next step could admit the head of the queue.
func (s *Server) canAdmit() bool {
	if s.waiting.len() == 0 || s.running >= s.p.MaxBatchSize || s.budget(len(s.decoding)) == 0 {
		return false
	}
	r := s.waiting.front()
	return s.kv+r.InputTokens+r.generated <= s.p.KVCacheTokens-s.watermark
}

// fastForward executes decode-only steps up to the next completion, the last step before the KV
// cache would overflow, or the first step ending at or after t. It returns false when not even
// one step fits the KV cache.
//
// Step i (from 0) of the run lasts B + e·(K + n·i) femtoseconds, with B the fixed part, e the
// time per KV token, n the batch and K its KV at the start; k steps last
// S(k) = k·B + e·(k·K + n·k(k-1)/2), exactly additive over any split of the run.
func (s *Server) fastForward(t time.Duration) bool {
	n := len(s.decoding)
	room := int64((s.p.KVCacheTokens - s.kv) / n)
	if room == 0 {
		return false
	}
	kmax := min(s.decoding[0].doneAt-s.dc, room)
	b, e, k0, n64 := s.decodeFixedFs(n), s.epsFs, int64(s.decodeKV()), int64(n)
	span := func(k int64) int64 { return k*b + e*(k*k0+n64*k*(k-1)/2) }
	// Femtoseconds until t, bounded so that the sums stay far from overflowing; a bounded run
	// stops early and the caller continues it.
	gap := maxRunFs
	if ns := int64(t - s.clock); ns < maxRunFs/fsPerNs {
		gap = min(ns*fsPerNs-s.sub, maxRunFs)
	}
	// The fewest steps reaching gap, from the quadratic, then corrected in integers.
	a, lin := float64(e*n64)/2, float64(b+e*k0)-float64(e*n64)/2
	est := float64(gap) / lin
	if a > 0 {
		est = (-lin + math.Sqrt(lin*lin+4*a*float64(gap))) / (2 * a)
	}
	k := min(kmax, int64(est)+2)
	for k < kmax && span(k) < gap {
		k++
	}
	for k > 1 && span(k-1) >= gap {
		k--
	}
	d0 := b + e*k0
	s.advance(span(k))
	s.lastBusy = s.clock
	s.hist.ITL.ObserveRamp(float64(d0)/fsPerSecond, float64(e*n64)/fsPerSecond, uint64(k), uint64(n))
	s.counters.GenerationTokensTotal += k * n64
	s.dc += k
	s.kv += int(k) * n
	s.completeDecodes()
	s.trimCache()
	return true
}

// step executes one step at s.clock.
func (s *Server) step() {
	preempted := false
	for len(s.decoding) > 0 && s.kv+len(s.decoding) > s.p.KVCacheTokens {
		s.preemptNewest()
		preempted = true
	}
	ndec := len(s.decoding)
	decKV := s.decodeKV()
	budget := s.budget(ndec)
	prompt := 0
	pairs := 0.0 // attention pairs of the prompt chunks
	chunk := func(r *Request) {
		c := min(r.promptLeft, budget)
		pairs += s.p.attentionPairs(c, r.kvBase-r.promptLeft)
		r.promptLeft -= c
		budget -= c
		prompt += c
	}
	for _, r := range s.prefilling {
		if budget == 0 {
			break
		}
		chunk(r)
	}
	if !preempted {
		for s.waiting.len() > 0 && budget > 0 && s.running < s.p.MaxBatchSize {
			r := s.waiting.front()
			need := r.InputTokens + r.generated
			if s.kv+need > s.p.KVCacheTokens-s.watermark {
				break
			}
			s.waiting.popFront()
			s.waitingTokens -= need
			s.admit(r, need)
			chunk(r)
		}
	}

	var fs int64
	if ndec > 0 {
		fs = s.decodeFixedFs(ndec) + s.epsFs*int64(decKV)
	} else if prompt > 0 {
		fs = s.overheadFs
	}
	if prompt > 0 {
		fs += msToFs(s.p.prefillMs(prompt, pairs))
	}
	s.advance(fs)
	if ndec > 0 {
		// Every decoding sequence produced its previous token when the previous step ended,
		// which is when this one started.
		s.hist.ITL.Observe(float64(fs)/fsPerSecond, uint64(ndec))
		s.counters.GenerationTokensTotal += int64(ndec)
		s.dc++
		s.kv += ndec
		s.completeDecodes()
	}
	s.lastBusy = s.clock

	kept := s.prefilling[:0]
	for _, r := range s.prefilling {
		if r.promptLeft > 0 {
			kept = append(kept, r)
			continue
		}
		r.prefilling = false
		s.prefillKV -= r.kvBase
		s.cachePrompt(r)
		r.generated++
		r.dcStart = s.dc
		s.counters.GenerationTokensTotal++
		if r.FirstToken < 0 {
			r.FirstToken = s.clock
			s.counters.TTFTSeconds += (r.FirstToken - r.Arrival).Seconds()
			s.counters.TTFTCount++
			s.counters.PromptTokensTotal += int64(r.InputTokens)
			s.hist.TTFT.Observe((r.FirstToken - r.Arrival).Seconds(), 1)
		} else {
			// The first token after a preemption's recompute.
			s.hist.ITL.Observe((s.clock - r.lastToken).Seconds(), 1)
		}
		if r.generated >= r.OutputTokens {
			s.finish(r)
			continue
		}
		r.doneAt = s.dc + int64(r.OutputTokens-r.generated)
		s.decoding.push(r)
	}
	clear(s.prefilling[len(kept):])
	s.prefilling = kept
	s.trimCache()
}

// admit moves r into the running batch with need KV tokens reserved and need tokens to prefill
// (its prompt, plus the tokens it had generated before a preemption).
//
// With prefix caching, the prompt's longest cached prefix of blocks is not prefilled again (at
// least one token always is, as in vLLM, to produce the next token).
func (s *Server) admit(r *Request, need int) {
	r.kvBase = need
	hit := 0
	if len(r.PrefixBlocks) > 0 {
		if s.cache == nil {
			s.cache = newPrefixCache(s.p.KVCacheTokens)
		}
		blocks := s.cache.match(r.PrefixBlocks)
		s.cache.pin(r.PrefixBlocks[:blocks])
		r.pinned = blocks
		hit = min(blocks*PrefixBlockTokens, r.InputTokens, need-1)
	}
	r.promptLeft = max(need-hit, 1)
	if r.admittedAt < 0 {
		r.admittedAt = s.clock
	}
	s.counters.PrefixCacheQueries += int64(need)
	s.counters.PrefixCacheHits += int64(max(hit, 0))
	r.prefilling = true
	s.kv += need
	s.prefillKV += need
	s.running++
	s.prefilling = append(s.prefilling, r)
	r.prev, r.next = s.tail, nil
	if s.tail != nil {
		s.tail.next = r
	} else {
		s.head = r
	}
	s.tail = r
}

// unlink removes r from the running list.
func (s *Server) unlink(r *Request) {
	if r.prev != nil {
		r.prev.next = r.next
	} else {
		s.head = r.next
	}
	if r.next != nil {
		r.next.prev = r.prev
	} else {
		s.tail = r.prev
	}
	r.prev, r.next = nil, nil
	s.running--
}

// kvOf is the KV a running request holds.
func (s *Server) kvOf(r *Request) int {
	if r.prefilling {
		return r.kvBase
	}
	return r.kvBase + int(s.dc-r.dcStart)
}

// preemptNewest preempts the most recently admitted running request: it frees its KV and puts it
// back at the head of the queue.
func (s *Server) preemptNewest() {
	r := s.tail
	s.kv -= s.kvOf(r)
	s.unlink(r)
	s.releasePrompt(r)
	if r.prefilling {
		for i, p := range s.prefilling {
			if p == r {
				s.prefilling = append(s.prefilling[:i], s.prefilling[i+1:]...)
				break
			}
		}
		r.prefilling = false
		s.prefillKV -= r.kvBase
	} else {
		s.decoding.remove(r.heapIdx)
		r.generated += int(s.dc - r.dcStart)
		r.lastToken = s.lastBusy
	}
	r.promptLeft = 0
	r.Preemptions++
	s.counters.Preemptions++
	s.waiting.pushFront(r)
	s.waitingTokens += r.InputTokens + r.generated
}

// completeDecodes finishes the decoding requests whose last token was produced by now.
func (s *Server) completeDecodes() {
	for len(s.decoding) > 0 && s.decoding[0].doneAt <= s.dc {
		r := s.decoding.remove(0)
		r.generated = r.OutputTokens
		s.finish(r)
	}
}

// cachePrompt caches the blocks of r's prompt once its prefill is complete, pinned by r.
func (s *Server) cachePrompt(r *Request) {
	if s.cache == nil || r.pinned >= len(r.PrefixBlocks) {
		return
	}
	s.cache.pin(r.PrefixBlocks[r.pinned:])
	r.pinned = len(r.PrefixBlocks)
}

// releasePrompt unpins the blocks r holds in the prefix cache.
func (s *Server) releasePrompt(r *Request) {
	if s.cache == nil || r.pinned == 0 {
		return
	}
	s.cache.unpin(r.PrefixBlocks[:r.pinned])
	r.pinned = 0
}

// trimCache evicts cached blocks that no longer fit the free KV.
func (s *Server) trimCache() {
	if s.cache != nil {
		s.cache.trim(s.p.KVCacheTokens - s.kv)
	}
}

// Abort stops every request the server holds, running or waiting, and marks it Failed (a pod
// stopped at the end of its termination grace period); the server is idle afterwards.
func (s *Server) Abort() {
	for r := s.head; r != nil; {
		next := r.next
		r.prev, r.next, r.prefilling, r.heapIdx = nil, nil, false, -1
		r.Failed = true
		r = next
	}
	for s.waiting.len() > 0 {
		s.waiting.popFront().Failed = true
	}
	s.head, s.tail, s.running = nil, nil, 0
	clear(s.prefilling)
	s.prefilling = s.prefilling[:0]
	clear(s.decoding)
	s.decoding = s.decoding[:0]
	s.kv, s.prefillKV, s.waitingTokens = 0, 0, 0
	s.cache = nil
}

// finish records r as finished at s.clock and frees its KV.
func (s *Server) finish(r *Request) {
	s.kv -= s.kvOf(r)
	s.unlink(r)
	s.releasePrompt(r)
	r.Finished = s.clock
	c := &s.counters
	c.RequestSuccess++
	c.PromptTokens += int64(r.InputTokens)
	c.GenerationTokens += int64(r.OutputTokens)
	if r.OutputTokens > 1 {
		c.TPOTSeconds += (r.Finished - r.FirstToken).Seconds()
		c.TPOTCount += int64(r.OutputTokens - 1)
		s.hist.TPOT.Observe((r.Finished-r.FirstToken).Seconds()/float64(r.OutputTokens-1), 1)
	}
	h := &s.hist
	h.E2E.Observe((r.Finished - r.Arrival).Seconds(), 1)
	h.QueueTime.Observe((r.admittedAt - r.queuedAt).Seconds(), 1)
	h.PrefillTime.Observe((r.FirstToken - r.admittedAt).Seconds(), 1)
	h.PromptTokens.Observe(float64(r.InputTokens), 1)
	h.GenerationTokens.Observe(float64(r.OutputTokens), 1)
}
