package sim

import (
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

// Request is one request's journey through a simulation: its arrival and token counts, where it
// was served and when its first and last tokens came out.
type Request struct {
	workload.Request
	// ID is the request's index in the scenario's stream.
	ID int
	// Replica is the name of the replica the router sent the request to; empty while it waits in
	// the router for a ready replica.
	Replica string
	// FirstToken is when the first output token was produced, or -1.
	FirstToken time.Duration
	// Finished is when the last output token was produced, or -1.
	Finished time.Duration
	// Preemptions counts how often the request was preempted and requeued.
	Preemptions int
	// Rejected is true when the request needs more KV cache than a replica has; it is never served.
	Rejected bool
	// Gateway is true when the request arrived while none of its model's replicas was ready
	// (or others already waited) and waited in the router, as in the inference gateway's queue,
	// for one; its TTFT counts from its arrival, so the wait counts against the SLO.
	Gateway bool
	// Failed is true when the replica serving the request was stopped before it finished: it
	// was draining and its drain timeout passed.
	Failed bool

	// Server state.
	generated  int   // output tokens produced, up to the decode counter dcStart
	promptLeft int   // prompt (or recompute) tokens still to prefill
	kvBase     int   // KV tokens reserved at admission
	pinned     int   // leading PrefixBlocks pinned in the replica's prefix cache
	dcStart    int64 // the server's decode counter when the request started decoding
	doneAt     int64 // decode counter value at which the request finishes
	heapIdx    int
	prefilling bool
	queuedAt   time.Duration // when the request reached its replica
	admittedAt time.Duration // first admission into the running batch, or -1
	lastToken  time.Duration // when its last output token before a preemption was produced
	prev, next *Request      // running list, in admission order
}

// NewRequest returns request id of a stream, not yet served, for a Server driven from outside
// the simulator (the e2e tests' vLLM emulator).
func NewRequest(id int, w workload.Request) *Request {
	r := newRequest(id, w)
	return &r
}

func newRequest(id int, w workload.Request) Request {
	return Request{Request: w, ID: id, FirstToken: -1, Finished: -1, admittedAt: -1}
}

// TTFT is the time to first token, or -1 when no token was produced.
func (r *Request) TTFT() time.Duration {
	if r.FirstToken < 0 {
		return -1
	}
	return r.FirstToken - r.Arrival
}

// ITL is the mean inter-token latency of a finished request: the time from the first to the
// last token divided by the number of gaps. It is 0 for a one-token request and -1 for an
// unfinished one.
func (r *Request) ITL() time.Duration {
	if r.Finished < 0 {
		return -1
	}
	if r.OutputTokens <= 1 {
		return 0
	}
	return (r.Finished - r.FirstToken) / time.Duration(r.OutputTokens-1)
}

// reqDeque is a FIFO that also takes requests back at the front (preemption).
type reqDeque struct {
	buf  []*Request
	head int
}

func (q *reqDeque) len() int { return len(q.buf) - q.head }

func (q *reqDeque) front() *Request { return q.buf[q.head] }

func (q *reqDeque) pushBack(r *Request) {
	if q.head > 0 && q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	}
	q.buf = append(q.buf, r)
}

func (q *reqDeque) pushFront(r *Request) {
	if q.head > 0 {
		q.head--
		q.buf[q.head] = r
		return
	}
	q.buf = append(q.buf, nil)
	copy(q.buf[1:], q.buf)
	q.buf[0] = r
}

func (q *reqDeque) popFront() *Request {
	r := q.buf[q.head]
	q.buf[q.head] = nil
	q.head++
	if q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	} else if q.head > 1024 && q.head > len(q.buf)/2 {
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf, q.head = q.buf[:n], 0
	}
	return r
}

// decodeHeap orders decoding requests by the decode step at which they finish, then by ID.
type decodeHeap []*Request

func (h decodeHeap) less(i, j int) bool {
	if h[i].doneAt != h[j].doneAt {
		return h[i].doneAt < h[j].doneAt
	}
	return h[i].ID < h[j].ID
}

func (h decodeHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}

func (h *decodeHeap) push(r *Request) {
	r.heapIdx = len(*h)
	*h = append(*h, r)
	h.up(r.heapIdx)
}

func (h *decodeHeap) remove(i int) *Request {
	old := *h
	n := len(old) - 1
	if i != n {
		old.swap(i, n)
		if !h.down(i, n) {
			h.up(i)
		}
	}
	r := old[n]
	old[n] = nil
	*h = old[:n]
	r.heapIdx = -1
	return r
}

func (h decodeHeap) up(j int) {
	for {
		i := (j - 1) / 2
		if i == j || !h.less(j, i) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

func (h decodeHeap) down(i0, n int) bool {
	i := i0
	for {
		j1 := 2*i + 1
		if j1 >= n || j1 < 0 {
			break
		}
		j := j1
		if j2 := j1 + 1; j2 < n && h.less(j2, j1) {
			j = j2
		}
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}
