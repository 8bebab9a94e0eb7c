package saturation

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/event"

	wvav1alpha1 "github.com/llm-d-incubation/workload-variant-autoscaler/api/v1alpha1"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/engines/common"
)

// notifier asks the controller to reconcile VariantAutoscalings through the trigger channel
// without ever blocking a cycle and without dropping any request. A request that finds the
// channel full waits in a first-in first-out set of pending keys, which run feeds into the
// channel as the controller frees room. A key is pending at most once, so the set never holds
// more than one entry per VariantAutoscaling, and re-requesting a pending key keeps its place:
// under a channel that stays full, every VariantAutoscaling is announced in turn instead of the
// same tail of the sorted order being dropped every cycle.
//
// Coalescing loses nothing: the controller reads the latest decision from the decision cache
// when it reconciles, so one request it has not yet received stands for any number of decisions
// published before it receives it. That is why a key is also coalesced with a request still
// sitting in the channel: the notifier remembers the keys it sent, in order, and since it is the
// only sender, the newest len(channel) of them are the ones not yet received. (A send in
// progress counts as one of them and the oldest key in the channel then does not: the estimate
// errs only towards a duplicate request, never a lost one. Another sender on the same channel
// would break it.) Without this, a channel that stays
// full would carry a duplicate of up to its capacity of keys every cycle.
type notifier struct {
	trigger chan<- event.GenericEvent
	metrics *engineMetrics

	mu      sync.Mutex
	queue   []types.NamespacedName // pending keys, oldest first
	pending map[types.NamespacedName]bool
	wake    chan struct{} // one slot: "the queue is not empty"
	// sent is a ring of the keys sent (or being sent by run) not known to be received, oldest
	// at sentHead; unreceived counts them by key. Every send follows a forgetReceived, so the
	// ring never holds more than cap(trigger)+1 keys.
	sent              []types.NamespacedName
	sentHead, sentLen int
	unreceived        map[types.NamespacedName]int
	sending           bool // run holds a popped key it is sending
}

func newNotifier(trigger chan<- event.GenericEvent, m *engineMetrics) *notifier {
	n := &notifier{trigger: trigger, metrics: m, pending: map[types.NamespacedName]bool{}, wake: make(chan struct{}, 1),
		unreceived: map[types.NamespacedName]int{}}
	if trigger != nil {
		n.sent = make([]types.NamespacedName, cap(trigger)+1)
	}
	return n
}

// request asks for a reconcile of key. Nothing is done when a request for key is pending or in
// the channel; otherwise it sends at once when nothing is pending and the channel has room, and
// else queues key. It never blocks. Without a trigger channel (the simulator) it does nothing.
func (n *notifier) request(key types.NamespacedName) {
	if n.trigger == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.forgetReceived()
	if n.pending[key] || n.unreceived[key] > 0 {
		return
	}
	// Sending past a non-empty queue would let fresh requests overtake old ones, and sending
	// while run sends would make the order of sent differ from the channel's.
	if len(n.queue) == 0 && !n.sending && common.TriggerReconcile(n.trigger, triggerObject(key)) {
		n.remember(key)
		return
	}
	n.pending[key] = true
	n.queue = append(n.queue, key)
	n.metrics.triggerDeferred.Inc()
	n.metrics.triggerPending.Set(float64(len(n.queue)))
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// run feeds pending keys into the trigger channel, blocking on it, until ctx ends. Keys still
// pending then are not delivered: the engine stops only when the manager loses leadership or
// shuts down.
func (n *notifier) run(ctx context.Context) {
	if n.trigger == nil {
		return
	}
	for {
		key, ok := n.pop()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-n.wake:
				continue
			}
		}
		select {
		case n.trigger <- event.GenericEvent{Object: triggerObject(key)}:
		case <-ctx.Done():
			return
		}
		n.mu.Lock()
		n.sending = false
		n.mu.Unlock()
	}
}

// pop takes the oldest pending key. The key leaves the pending set before it is sent, so a
// decision published while the send waits queues the key again rather than being coalesced
// into a request the controller may already have handled.
func (n *notifier) pop() (types.NamespacedName, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.queue) == 0 {
		return types.NamespacedName{}, false
	}
	key := n.queue[0]
	n.queue[0] = types.NamespacedName{}
	n.queue = n.queue[1:]
	if len(n.queue) == 0 {
		n.queue = nil // let the backing array go
	}
	delete(n.pending, key)
	n.metrics.triggerPending.Set(float64(len(n.queue)))
	// Remembered before the send: until it completes, key counts as in the channel, which is
	// true soon enough, since the controller cannot receive it before it is sent.
	n.forgetReceived()
	n.remember(key)
	n.sending = true
	return key, true
}

// remember records a key sent into the channel. Called with mu held.
func (n *notifier) remember(key types.NamespacedName) {
	if n.sentLen == len(n.sent) {
		n.forgetOldest() // cannot happen (see sent); forgetting errs towards a duplicate
	}
	n.sent[(n.sentHead+n.sentLen)%len(n.sent)] = key
	n.sentLen++
	n.unreceived[key]++
}

// forgetReceived drops the sent keys older than the newest len(channel): the controller has
// received those. Called with mu held.
func (n *notifier) forgetReceived() {
	// While run sends, its key is the newest in sent and is kept at the expense of the oldest
	// key in the channel: an undercount, which costs a duplicate request, never a lost one.
	for n.sentLen > len(n.trigger) {
		n.forgetOldest()
	}
}

func (n *notifier) forgetOldest() {
	k := n.sent[n.sentHead]
	if n.unreceived[k]--; n.unreceived[k] <= 0 {
		delete(n.unreceived, k)
	}
	n.sent[n.sentHead] = types.NamespacedName{}
	n.sentHead = (n.sentHead + 1) % len(n.sent)
	n.sentLen--
}

// pendingCount is the number of keys waiting for room in the channel.
func (n *notifier) pendingCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.queue)
}

func triggerObject(key types.NamespacedName) *wvav1alpha1.VariantAutoscaling {
	obj := &wvav1alpha1.VariantAutoscaling{}
	obj.Name, obj.Namespace = key.Name, key.Namespace
	return obj
}
