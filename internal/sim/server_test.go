package sim

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

// requests returns n requests arriving at the given time with the given token counts.
func requests(n int, at time.Duration, in, out int) []*Request {
	rs := make([]*Request, n)
	for i := range rs {
		r := newRequest(i, workload.Request{Arrival: at, InputTokens: in, OutputTokens: out})
		rs[i] = &r
	}
	return rs
}

// within reports whether got is within 5 % of want.
func within(got, want time.Duration) bool {
	return math.Abs(float64(got-want)) <= 0.05*float64(want)
}

// decodeRun is the closed form of out-1 decode steps of a batch of n sequences that start with
// in KV tokens each: step i lasts Overhead + α + β·n + ε·n·(in+i).
func decodeRun(p Profile, n, in, out int) time.Duration {
	var d time.Duration
	for i := range out - 1 {
		d += p.DecodeTime(n, n*(in+i))
	}
	return d
}

// The model against the closed form at a fixed batch size n: a batch of n requests with I
// prompt tokens arriving together is prefilled in one step, so
// TTFT = Overhead + γ + δ·I·n + ζ·n·I²/2 (each prompt attends to itself), and then decodes at
// mean ITL = the mean of Overhead + α + β·n + ε·n·(I+i) over the out-1 steps. With ε = ζ = 0
// this is SPEC.md §4.8.3.
func TestServerMatchesClosedFormAtFixedBatch(t *testing.T) {
	const in, out = 128, 64
	for _, p := range DefaultProfiles() {
		p.MaxBatchedTokens = 0 // the whole batch is prefilled in one step
		for _, n := range []int{1, 8, 32, 64, 128} {
			t.Run(fmt.Sprintf("%s/batch=%d", p.Name, n), func(t *testing.T) {
				s := NewServer(p, 0)
				rs := requests(n, 0, in, out)
				for _, r := range rs {
					s.Enqueue(r, 0)
				}
				s.AdvanceTo(time.Hour)
				wantTTFT := msToDuration(p.Overhead + p.Gamma + p.Delta*in*float64(n) + p.Zeta*float64(n)*in*in/2)
				wantITL := decodeRun(p, n, in, out) / (out - 1)
				for _, r := range rs {
					if !within(r.TTFT(), wantTTFT) {
						t.Fatalf("request %d: TTFT %s, want %s (±5%%)", r.ID, r.TTFT(), wantTTFT)
					}
					if !within(r.ITL(), wantITL) {
						t.Fatalf("request %d: ITL %s, want %s (±5%%)", r.ID, r.ITL(), wantITL)
					}
				}
			})
		}
	}
}

// With 2n requests and a batch of n, the second wave waits exactly the service time of the
// first, S = prefill(n) + the out-1 decode steps, so its TTFT is W + prefill(n) with W = S.
func TestServerSecondWaveWaitsOneServiceTime(t *testing.T) {
	const n, in, out = 16, 200, 50
	p, err := LookupProfile(ProfileA100)
	if err != nil {
		t.Fatal(err)
	}
	p.MaxBatchSize, p.MaxBatchedTokens = n, 0
	s := NewServer(p, 0)
	rs := requests(2*n, 0, in, out)
	for _, r := range rs {
		s.Enqueue(r, 0)
	}
	s.AdvanceTo(time.Hour)
	prefill := msToDuration(p.Overhead + p.Gamma + p.Delta*in*n + p.Zeta*n*in*in/2)
	service := prefill + decodeRun(p, n, in, out)
	itl := decodeRun(p, n, in, out) / (out - 1)
	for i, r := range rs {
		wantTTFT, wantDone := prefill, service
		if i >= n {
			wantTTFT, wantDone = service+prefill, 2*service
		}
		if !within(r.TTFT(), wantTTFT) || !within(r.Finished, wantDone) || !within(r.ITL(), itl) {
			t.Fatalf("request %d: TTFT %s finished %s ITL %s; want %s, %s, %s", i, r.TTFT(), r.Finished, r.ITL(), wantTTFT, wantDone, itl)
		}
	}
}

// Decode steps grow with the KV of the batch: one sequence decoding from a long context takes
// longer per token than from a short one, by ε per context token, and a long prompt's prefill
// takes more than proportionally longer (attention over the prefix).
func TestServerStepTimeGrowsWithContext(t *testing.T) {
	p, _ := LookupProfile(ProfileH100)
	p.MaxBatchedTokens = 0
	run := func(in int) *Request {
		s := NewServer(p, 0)
		r := requests(1, 0, in, 101)[0]
		s.Enqueue(r, 0)
		s.AdvanceTo(time.Hour)
		return r
	}
	short, long := run(1000), run(32000)
	wantGap := msToDuration(p.Epsilon * 31000)
	if got := long.ITL() - short.ITL(); !within(got, wantGap) {
		t.Errorf("ITL at 32k context minus ITL at 1k: %s, want ε·31000 = %s", got, wantGap)
	}
	if ratio := float64(long.TTFT()) / float64(short.TTFT()); ratio <= 32 {
		t.Errorf("TTFT of a 32k prompt is %.1f times that of a 1k prompt, want more than 32 (attention)", ratio)
	}
}

// tinyProfile is a small replica whose numbers are easy to follow.
func tinyProfile(kv, batch int) Profile {
	return Profile{Name: "tiny", Alpha: 10, Beta: 0, Gamma: 1, Delta: 0.01, KVCacheTokens: kv, MaxBatchSize: batch, GPUsPerReplica: 1, CostPerGPUHour: 1}
}

// contextProfile is tinyProfile with the context terms: an overhead, ε and ζ.
func contextProfile(kv, batch int) Profile {
	p := tinyProfile(kv, batch)
	p.Overhead, p.Epsilon, p.Zeta = 0.25, 0.001, 1e-6
	return p
}

func TestServerPreemptsNewestWhenKVIsFull(t *testing.T) {
	// KV 500, watermark 5: four 100-token prompts are admitted (400 <= 495). Decoding adds four
	// tokens a step, so after 25 steps the cache is full and the newest request is preempted.
	p := tinyProfile(500, 8)
	s := NewServer(p, 0)
	rs := requests(4, 0, 100, 200)
	for _, r := range rs {
		s.Enqueue(r, 0)
	}
	maxKV := 0
	sawPreemption := false
	for now := time.Duration(0); now < time.Minute && !allFinished(rs); now += time.Millisecond {
		s.AdvanceTo(now)
		maxKV = max(maxKV, s.kv)
		if s.kv > p.KVCacheTokens {
			t.Fatalf("at %s KV in use %d exceeds the cache (%d)", now, s.kv, p.KVCacheTokens)
		}
		if !sawPreemption && s.counters.Preemptions > 0 {
			sawPreemption = true
			if rs[3].Preemptions != 1 || rs[0].Preemptions+rs[1].Preemptions+rs[2].Preemptions != 0 {
				t.Fatalf("first preemption hit requests %v, want only the newest (3)", preemptions(rs))
			}
			if g := s.Gauges(); g.Waiting != 1 || g.Running != 3 {
				t.Fatalf("after the preemption: gauges %+v, want 1 waiting (requeued) and 3 running", g)
			}
		}
	}
	if !allFinished(rs) {
		t.Fatalf("requests unfinished: %+v", rs)
	}
	if maxKV != p.KVCacheTokens {
		t.Errorf("KV peaked at %d, want the cache filled to %d", maxKV, p.KVCacheTokens)
	}
	c := s.Counters()
	if c.Preemptions == 0 || c.RequestSuccess != 4 || c.GenerationTokens != 800 || c.PromptTokens != 400 || c.TPOTCount != 4*199 {
		t.Errorf("counters %+v", c)
	}
	// A preempted request keeps its first token and finishes after the others.
	if rs[3].FirstToken != rs[0].FirstToken || rs[3].Finished <= rs[0].Finished {
		t.Errorf("preempted request: first token %s (others %s), finished %s (request 0 %s)",
			rs[3].FirstToken, rs[0].FirstToken, rs[3].Finished, rs[0].Finished)
	}
	if s.kv != 0 || !s.Idle() {
		t.Errorf("idle server holds KV %d", s.kv)
	}
}

func allFinished(rs []*Request) bool {
	for _, r := range rs {
		if r.Finished < 0 {
			return false
		}
	}
	return true
}

func preemptions(rs []*Request) []int {
	out := make([]int, len(rs))
	for i, r := range rs {
		out[i] = r.Preemptions
	}
	return out
}

func TestServerAdmission(t *testing.T) {
	tests := map[string]struct {
		profile     Profile
		in, out, n  int
		wantRunning int
		wantWaiting int
	}{
		"batch slots bound the running batch": {
			profile: tinyProfile(100000, 3), in: 10, out: 100, n: 5, wantRunning: 3, wantWaiting: 2,
		},
		"KV space for the prompt bounds admission": {
			// 1000-token cache, 10-token watermark: two 400-token prompts fit, a third does not.
			profile: tinyProfile(1000, 16), in: 400, out: 100, n: 3, wantRunning: 2, wantWaiting: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := NewServer(tc.profile, 0)
			for _, r := range requests(tc.n, 0, tc.in, tc.out) {
				s.Enqueue(r, 0)
			}
			s.AdvanceTo(time.Nanosecond) // one step
			g := s.Gauges()
			if g.Running != tc.wantRunning || g.Waiting != tc.wantWaiting {
				t.Errorf("running %d waiting %d, want %d and %d", g.Running, g.Waiting, tc.wantRunning, tc.wantWaiting)
			}
		})
	}
}

func TestServerChunkedPrefill(t *testing.T) {
	// A 5000-token prompt under a 2048-token budget takes three prefill steps.
	p := tinyProfile(100000, 8)
	p.MaxBatchedTokens = 2048
	s := NewServer(p, 0)
	r := requests(1, 0, 5000, 2)[0]
	s.Enqueue(r, 0)
	s.AdvanceTo(time.Hour)
	want := p.PrefillTime(2048, 0) + p.PrefillTime(2048, 2048) + p.PrefillTime(904, 4096)
	if r.TTFT() != want {
		t.Errorf("TTFT %s, want %s (three chunks)", r.TTFT(), want)
	}
	if r.Finished != want+p.DecodeTime(1, 5000) {
		t.Errorf("finished at %s, want %s", r.Finished, want+p.DecodeTime(1, 5000))
	}
}

func TestServerRejectsRequestsLargerThanTheCache(t *testing.T) {
	s := NewServer(tinyProfile(1000, 8), 0)
	r := requests(1, 0, 900, 200)[0]
	s.Enqueue(r, 0)
	if !r.Rejected || !s.Idle() {
		t.Errorf("rejected %v, idle %v; want a rejected request and an idle server", r.Rejected, s.Idle())
	}
}

// Fast-forwarding decode runs must give the same result as stepping through time finely.
func TestServerAdvanceIsIndependentOfStepping(t *testing.T) {
	reqs, err := workload.Poisson(workload.Steady(20, time.Minute), workload.FixedTokens(300, 120), 7)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := LookupProfile(ProfileA100)
	p.KVCacheTokens = 20000 // small enough to preempt
	run := func(step time.Duration) []Request {
		s := NewServer(p, 0)
		rs := make([]Request, len(reqs))
		now := time.Duration(0)
		for i, w := range reqs {
			rs[i] = newRequest(i, w)
			for now < w.Arrival {
				now = min(now+step, w.Arrival)
				s.AdvanceTo(now)
			}
			s.Enqueue(&rs[i], w.Arrival)
		}
		s.AdvanceTo(time.Hour)
		return rs
	}
	coarse, fine := run(time.Hour), run(time.Millisecond)
	opt := cmp.Comparer(func(a, b Request) bool {
		return a.FirstToken == b.FirstToken && a.Finished == b.Finished && a.Preemptions == b.Preemptions
	})
	if d := cmp.Diff(coarse, fine, opt); d != "" {
		t.Errorf("outcomes depend on how time is advanced (-coarse +fine):\n%s", d)
	}
	preempted := 0
	for _, r := range coarse {
		preempted += r.Preemptions
	}
	if preempted == 0 {
		t.Error("the scenario should preempt; make the cache smaller")
	}
}

func BenchmarkServer(b *testing.B) {
	reqs, err := workload.Poisson(workload.Steady(4, 10*time.Minute), workload.FixedTokens(1155, 211), 1)
	if err != nil {
		b.Fatal(err)
	}
	p, _ := LookupProfile(ProfileA100)
	b.ReportAllocs()
	for b.Loop() {
		s := NewServer(p, 0)
		rs := make([]Request, len(reqs))
		for i, w := range reqs {
			rs[i] = newRequest(i, w)
			s.AdvanceTo(w.Arrival)
			s.Enqueue(&rs[i], w.Arrival)
		}
		s.AdvanceTo(time.Hour)
	}
}

// The request histograms hold one observation per token gap, request and first token, with the
// values the requests themselves report, also across a preemption's recompute.
func TestServerHistogramsMatchTheRequests(t *testing.T) {
	p := tinyProfile(500, 8) // the preemption scenario above
	s := NewServer(p, 0)
	rs := requests(4, 0, 100, 200)
	rs = append(rs, requests(1, 3*time.Second, 10, 1)...) // a one-token request: no gap
	rs[4].ID = 4
	for _, r := range rs[:4] {
		s.Enqueue(r, 0)
	}
	s.AdvanceTo(3 * time.Second)
	s.Enqueue(rs[4], 3*time.Second)
	s.AdvanceTo(time.Hour)
	if !allFinished(rs) || s.Counters().Preemptions == 0 {
		t.Fatalf("want every request finished and a preemption, got %+v", s.Counters())
	}
	h := s.Histograms()
	var gaps, gapSeconds, ttft, e2e, queue, tpot float64
	multi := 0
	for _, r := range rs {
		if r.OutputTokens > 1 {
			multi++
			tpot += (r.Finished - r.FirstToken).Seconds() / float64(r.OutputTokens-1)
		}
		gaps += float64(r.OutputTokens - 1)
		gapSeconds += (r.Finished - r.FirstToken).Seconds()
		ttft += r.TTFT().Seconds()
		e2e += (r.Finished - r.Arrival).Seconds()
		queue += (r.admittedAt - r.queuedAt).Seconds()
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(1, math.Abs(b)) }
	if h.ITL.Count != uint64(gaps) || !near(h.ITL.Sum, gapSeconds) {
		t.Errorf("ITL histogram count %d sum %g, want %g gaps summing to %g s", h.ITL.Count, h.ITL.Sum, gaps, gapSeconds)
	}
	// The per-request TPOT: one observation per request of more than one token, its mean ITL.
	if h.TPOT.Count != uint64(multi) || multi != 4 || !near(h.TPOT.Sum, tpot) {
		t.Errorf("TPOT histogram count %d sum %g, want %d requests summing to %g s", h.TPOT.Count, h.TPOT.Sum, multi, tpot)
	}
	if h.TTFT.Count != 5 || !near(h.TTFT.Sum, ttft) || h.E2E.Count != 5 || !near(h.E2E.Sum, e2e) {
		t.Errorf("TTFT %d/%g (want 5/%g), E2E %d/%g (want 5/%g)", h.TTFT.Count, h.TTFT.Sum, ttft, h.E2E.Count, h.E2E.Sum, e2e)
	}
	if h.QueueTime.Count != 5 || !near(h.QueueTime.Sum, queue) || h.PromptTokens.Sum != 410 || h.GenerationTokens.Sum != 801 {
		t.Errorf("queue %d/%g (want 5/%g), prompt sum %g (want 410), generation sum %g (want 801)",
			h.QueueTime.Count, h.QueueTime.Sum, queue, h.PromptTokens.Sum, h.GenerationTokens.Sum)
	}
	c := s.Counters()
	if c.GenerationTokensTotal != 801 || c.PromptTokensTotal != 410 {
		t.Errorf("generation tokens total %d (want 801), prompt tokens total %d (want 410)", c.GenerationTokensTotal, c.PromptTokensTotal)
	}
	// The one-token request: prompt 10 is in bucket le=10, output 1 in le=1.
	if cum := h.PromptTokens.Cumulative(); cum[5] != 0 || cum[10] != 1 {
		t.Errorf("prompt-token buckets le=5: %d, le=10: %d; want 0 and 1", cum[5], cum[10])
	}
	if cum := h.GenerationTokens.Cumulative(); cum[1] != 1 || cum[100] != 1 || cum[200] != 5 {
		t.Errorf("generation-token buckets le=1: %d, le=100: %d, le=200: %d; want 1, 1, 5", cum[1], cum[100], cum[200])
	}
}

func TestTokenBuckets(t *testing.T) {
	if diff := cmp.Diff([]float64{1, 2, 5, 10, 20, 50, 100}, TokenBuckets(100)); diff != "" {
		t.Errorf("TokenBuckets(100) (-want +got):\n%s", diff)
	}
	b := TokenBuckets(MaxModelLen)
	if b[len(b)-1] != 100000 {
		t.Errorf("last bucket up to %d is %g, want 100000", MaxModelLen, b[len(b)-1])
	}
}

func TestHistogramBucketsAreLessOrEqual(t *testing.T) {
	h := NewHistogram([]float64{1, 2})
	h.Observe(1, 2)
	h.Observe(1.5, 1)
	h.Observe(3, 1)
	if diff := cmp.Diff(map[float64]uint64{1: 2, 2: 3}, h.Cumulative()); diff != "" || h.Count != 4 || h.Sum != 6.5 {
		t.Errorf("cumulative (-want +got):\n%s count %d sum %g", diff, h.Count, h.Sum)
	}
}

// blocks returns n prefix-block hashes starting at first.
func blocks(first uint64, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = first + uint64(i)
	}
	return out
}

// A request whose prompt starts with blocks an earlier request computed skips their prefill:
// its TTFT is shorter than on a replica without them, and the prefix-cache counters count the
// hit tokens. A request without PrefixBlocks (the Azure trace) never hits.
func TestServerPrefixCacheCutsPrefillOfSharedPrefixes(t *testing.T) {
	p, _ := LookupProfile(ProfileA100)
	const shared = 20 // blocks: 10,240 tokens
	first := newRequest(0, workload.Request{InputTokens: shared * PrefixBlockTokens, OutputTokens: 10, PrefixBlocks: blocks(1, shared)})
	second := func(id int) *Request {
		r := newRequest(id, workload.Request{Arrival: 10 * time.Second, InputTokens: shared*PrefixBlockTokens + 300, OutputTokens: 10,
			PrefixBlocks: append(blocks(1, shared), 999)})
		return &r
	}
	warm := NewServer(p, 0)
	warm.Enqueue(&first, 0)
	warm.AdvanceTo(10 * time.Second)
	hit := second(1)
	warm.Enqueue(hit, 10*time.Second)
	warm.AdvanceTo(time.Hour)

	cold := NewServer(p, 10*time.Second)
	miss := second(2)
	cold.Enqueue(miss, 10*time.Second)
	cold.AdvanceTo(time.Hour)

	if hit.TTFT() >= miss.TTFT()/10 {
		t.Errorf("TTFT with the cached prefix %s, without %s; want less than a tenth (300 of 10,540 tokens to prefill)", hit.TTFT(), miss.TTFT())
	}
	c := warm.Counters()
	wantQueries := int64(first.InputTokens + hit.InputTokens)
	if c.PrefixCacheHits != shared*PrefixBlockTokens || c.PrefixCacheQueries != wantQueries {
		t.Errorf("prefix cache hits %d queries %d, want %d and %d", c.PrefixCacheHits, c.PrefixCacheQueries, shared*PrefixBlockTokens, wantQueries)
	}
	if c := cold.Counters(); c.PrefixCacheHits != 0 {
		t.Errorf("a cold replica hit %d tokens", c.PrefixCacheHits)
	}

	// Without PrefixBlocks the same prompts never hit.
	plain := NewServer(p, 0)
	for i, at := range []time.Duration{0, 10 * time.Second} {
		r := newRequest(i, workload.Request{Arrival: at, InputTokens: 10240, OutputTokens: 10})
		plain.AdvanceTo(at)
		plain.Enqueue(&r, at)
	}
	plain.AdvanceTo(time.Hour)
	if c := plain.Counters(); c.PrefixCacheHits != 0 || c.PrefixCacheQueries != 20480 {
		t.Errorf("requests without prefix blocks: hits %d queries %d, want 0 and 20480", c.PrefixCacheHits, c.PrefixCacheQueries)
	}
}

// Cached blocks no running sequence uses live only in free KV: at every step the evictable
// blocks fit the free KV tokens and all blocks fit the cache, and the least recently used go
// first.
func TestServerPrefixCacheEvictionBound(t *testing.T) {
	p := contextProfile(16*PrefixBlockTokens, 8) // room for 16 blocks
	s := NewServer(p, 0)
	var rs []*Request
	for i := range 12 {
		// Requests of 4 blocks each, each with its own prefix.
		r := newRequest(i, workload.Request{Arrival: time.Duration(i) * 100 * time.Millisecond, InputTokens: 4 * PrefixBlockTokens, OutputTokens: 20,
			PrefixBlocks: blocks(uint64(100*i), 4)})
		rs = append(rs, &r)
	}
	next := 0
	for now := time.Duration(0); now < time.Minute; now += time.Millisecond {
		s.AdvanceTo(now)
		for next < len(rs) && rs[next].Arrival <= now {
			s.Enqueue(rs[next], now)
			next++
		}
		if c := s.cache; c != nil {
			if free := p.KVCacheTokens - s.kv; c.evictable*PrefixBlockTokens > free {
				t.Fatalf("at %s: %d evictable blocks exceed the free KV (%d tokens)", now, c.evictable, free)
			}
			if c.blocks() > c.capacity {
				t.Fatalf("at %s: %d cached blocks exceed the capacity %d", now, c.blocks(), c.capacity)
			}
		}
	}
	if !allFinished(rs) {
		t.Fatal("requests unfinished")
	}
	// Idle: the last request's blocks and the most recent ones that fitted beside it while it
	// ran are cached (15 blocks: 16 less the last request's decode tokens); prefixes lose their
	// tail first.
	c := s.cache
	if c.blocks() != 15 || c.evictable != 15 {
		t.Errorf("idle cache holds %d blocks (%d evictable), want 15", c.blocks(), c.evictable)
	}
	for first, want := range map[uint64]int{1100: 4, 1000: 4, 900: 4, 800: 3, 700: 0, 0: 0} {
		if got := c.match(blocks(first, 4)); got != want {
			t.Errorf("prefix %d.. matches %d blocks, want %d", first, got, want)
		}
	}
	// Touching a prefix makes it the most recently used: it survives the next eviction.
	c.pin(blocks(800, 3))
	c.unpin(blocks(800, 3))
	c.trim(12 * PrefixBlockTokens)
	if c.match(blocks(800, 4)) != 3 || c.match(blocks(900, 4)) != 1 {
		t.Errorf("after touching 800.. and evicting 3 blocks: 800 matches %d, 900 matches %d; want 3 and 1",
			c.match(blocks(800, 4)), c.match(blocks(900, 4)))
	}
}

// Exact fast-forward with the context terms and the prefix cache: advancing in one jump or
// millisecond by millisecond gives the same outcomes to the nanosecond.
func TestServerAdvanceIsIndependentOfSteppingWithPrefixes(t *testing.T) {
	base, err := workload.Poisson(workload.Steady(10, time.Minute), workload.UniformTokens(200, 3000, 20, 300), 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range base {
		n := (base[i].InputTokens + PrefixBlockTokens - 1) / PrefixBlockTokens
		base[i].PrefixBlocks = blocks(uint64(1000*(i%7)), n) // seven shared prefixes
	}
	p := contextProfile(30000, 64)
	p.MaxBatchedTokens = 1024
	run := func(step time.Duration) ([]Request, Counters) {
		s := NewServer(p, 0)
		rs := make([]Request, len(base))
		now := time.Duration(0)
		for i, w := range base {
			rs[i] = newRequest(i, w)
			for now < w.Arrival {
				now = min(now+step, w.Arrival)
				s.AdvanceTo(now)
			}
			s.Enqueue(&rs[i], w.Arrival)
		}
		s.AdvanceTo(time.Hour)
		return rs, s.Counters()
	}
	coarse, cc := run(time.Hour)
	fine, fc := run(time.Millisecond)
	opt := cmp.Comparer(func(a, b Request) bool {
		return a.FirstToken == b.FirstToken && a.Finished == b.Finished && a.Preemptions == b.Preemptions
	})
	if d := cmp.Diff(coarse, fine, opt); d != "" {
		t.Errorf("outcomes depend on how time is advanced (-coarse +fine):\n%s", d)
	}
	if cc.PrefixCacheHits == 0 || cc.PrefixCacheHits != fc.PrefixCacheHits || cc.Preemptions == 0 {
		t.Errorf("prefix hits %d and %d, preemptions %d; want equal positive hits and some preemptions", cc.PrefixCacheHits, fc.PrefixCacheHits, cc.Preemptions)
	}
}

// A run of k decode steps recorded at once puts each step's duration in its bucket.
func TestHistogramObserveRamp(t *testing.T) {
	a, b := NewHistogram([]float64{0.01, 0.02, 0.05}), NewHistogram([]float64{0.01, 0.02, 0.05})
	a.ObserveRamp(0.008, 0.003, 10, 3) // 0.008, 0.011, ..., 0.035
	for i := range 10 {
		b.Observe(0.008+0.003*float64(i), 3)
	}
	if d := cmp.Diff(b.Counts, a.Counts); d != "" || a.Count != b.Count || math.Abs(a.Sum-b.Sum) > 1e-12 {
		t.Errorf("ramp counts (-one by one +ramp):\n%s count %d/%d sum %g/%g", d, a.Count, b.Count, a.Sum, b.Sum)
	}
}
