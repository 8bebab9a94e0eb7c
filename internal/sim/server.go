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
//  3. runs the step for DecodeTime(decoding sequences) + PrefillTime(prompt tokens);
//  4. at the end of the step, every decoding sequence has one more token (and one more KV token),
//     a sequence whose prompt is complete has its first token (TTFT), and a sequence with all its
//     tokens is finished and frees its KV.
//
// A preempted request is recomputed on readmission: its prompt and the tokens it had generated
// are prefilled again, then it continues decoding; its TTFT is not changed.
//
// Between events nothing changes but the decode progress, so runs of identical decode-only
// steps are executed at once, up to the next completion, the next KV overflow or the requested
// time; a simulation costs O(requests) work per replica rather than O(steps x batch).
type Server struct {
	p         Profile
	watermark int

	clock    time.Duration // time at which the next step starts
	lastBusy time.Duration // end of the last step

	waiting       reqDeque
	waitingTokens int // KV tokens the waiting requests need on admission
	head, tail    *Request
	running       int // prefilling + decoding
	prefilling    []*Request
	decoding      decodeHeap
	dc            int64 // decode steps executed
	kv            int   // KV tokens in use

	counters Counters
	hist     Histograms
}

// NewServer returns an idle replica with profile p whose clock starts at start.
func NewServer(p Profile, start time.Duration) *Server {
	return &Server{
		p:         p,
		watermark: int(math.Ceil(admissionWatermark * float64(p.KVCacheTokens))),
		clock:     start,
		lastBusy:  start,
		hist:      newHistograms(),
	}
}

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

// fastForward executes identical decode-only steps up to the next completion, the last step
// before the KV cache would overflow, or the first step ending at or after t. It returns false
// when not even one step fits the KV cache.
func (s *Server) fastForward(t time.Duration) bool {
	n := len(s.decoding)
	room := int64((s.p.KVCacheTokens - s.kv) / n)
	if room == 0 {
		return false
	}
	k := min(s.decoding[0].doneAt-s.dc, room)
	d := s.p.DecodeTime(n)
	if d > 0 {
		k = min(k, int64((t-s.clock+d-1)/d))
	}
	s.clock += time.Duration(k) * d
	s.lastBusy = s.clock
	s.hist.ITL.Observe(d.Seconds(), uint64(k)*uint64(n))
	s.counters.GenerationTokensTotal += k * int64(n)
	s.dc += k
	s.kv += int(k) * n
	s.completeDecodes()
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
	budget := s.budget(ndec)
	prompt := 0
	for _, r := range s.prefilling {
		if budget == 0 {
			break
		}
		c := min(r.promptLeft, budget)
		r.promptLeft -= c
		budget -= c
		prompt += c
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
			c := min(r.promptLeft, budget)
			r.promptLeft -= c
			budget -= c
			prompt += c
		}
	}

	stepStart := s.clock
	s.clock += s.p.PrefillTime(prompt)
	if ndec > 0 {
		s.clock += s.p.DecodeTime(ndec)
		// Every decoding sequence produced its previous token when the previous step ended,
		// which is when this one started.
		s.hist.ITL.Observe((s.clock - stepStart).Seconds(), uint64(ndec))
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
}

// admit moves r into the running batch with need KV tokens reserved and need tokens to prefill
// (its prompt, plus the tokens it had generated before a preemption).
func (s *Server) admit(r *Request, need int) {
	r.kvBase = need
	r.promptLeft = max(need, 1)
	if r.admittedAt < 0 {
		r.admittedAt = s.clock
	}
	s.counters.PrefixCacheQueries += int64(r.InputTokens)
	r.prefilling = true
	s.kv += need
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
	if r.prefilling {
		for i, p := range s.prefilling {
			if p == r {
				s.prefilling = append(s.prefilling[:i], s.prefilling[i+1:]...)
				break
			}
		}
		r.prefilling = false
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

// finish records r as finished at s.clock and frees its KV.
func (s *Server) finish(r *Request) {
	s.kv -= s.kvOf(r)
	s.unlink(r)
	r.Finished = s.clock
	c := &s.counters
	c.RequestSuccess++
	c.PromptTokens += int64(r.InputTokens)
	c.GenerationTokens += int64(r.OutputTokens)
	if r.OutputTokens > 1 {
		c.TPOTSeconds += (r.Finished - r.FirstToken).Seconds()
		c.TPOTCount += int64(r.OutputTokens - 1)
	}
	h := &s.hist
	h.E2E.Observe((r.Finished - r.Arrival).Seconds(), 1)
	h.QueueTime.Observe((r.admittedAt - r.queuedAt).Seconds(), 1)
	h.PromptTokens.Observe(float64(r.InputTokens), 1)
	h.GenerationTokens.Observe(float64(r.OutputTokens), 1)
}
