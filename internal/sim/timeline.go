package sim

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// TickRecord is the state of the cluster at one policy tick, after the tick's decision.
type TickRecord struct {
	// At is the tick's time from the start of the run.
	At time.Duration
	// Arrived is the number of requests that arrived since the previous record.
	Arrived int
	// Pending is the number of requests waiting in the router for a ready replica.
	Pending int
	// Variants holds one entry per variant, in scenario order.
	Variants []VariantTick
}

// VariantTick is the state of one variant at a tick.
type VariantTick struct {
	// Name is the variant name.
	Name string
	// Replicas is the Deployment's spec replicas: starting plus serving replicas.
	Replicas int
	// Ready, Starting and Draining count the replicas in each stage.
	Ready, Starting, Draining int
	// Unbound counts the replicas Pending for lack of GPUs (in Replicas, not in Starting).
	Unbound int
	// Running and Waiting sum the requests running and waiting on the variant's replicas.
	Running, Waiting int
	// KVUsage is the mean KV-cache usage of the ready replicas (0 when none is ready).
	KVUsage float64
}

func (f *Fleet) record(at time.Duration, arrived int) TickRecord {
	rec := TickRecord{At: at, Arrived: arrived, Pending: f.waiting()}
	for _, v := range f.variants {
		vt := VariantTick{Name: v.spec.Name, Replicas: v.desired}
		var kv float64
		for _, r := range v.live {
			switch r.state {
			case Pending:
				vt.Unbound++
				continue
			case Starting:
				vt.Starting++
				continue
			case Serving:
				vt.Ready++
				kv += r.srv.Gauges().KVCacheUsage
			case Draining:
				vt.Draining++
			}
			vt.Running += r.srv.running
			vt.Waiting += r.srv.waiting.len()
		}
		if vt.Ready > 0 {
			vt.KVUsage = kv / float64(vt.Ready)
		}
		rec.Variants = append(rec.Variants, vt)
	}
	return rec
}

// String formats the record as one line, e.g.
// "00:01:00 arrived=12 pending=0 | a100 replicas=2 ready=1 starting=1 draining=0 running=5 waiting=0 kv=0.120".
func (r TickRecord) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s arrived=%d pending=%d", clockString(r.At), r.Arrived, r.Pending)
	for _, v := range r.Variants {
		fmt.Fprintf(&b, " | %s replicas=%d ready=%d starting=%d draining=%d running=%d waiting=%d kv=%.3f",
			v.Name, v.Replicas, v.Ready, v.Starting, v.Draining, v.Running, v.Waiting, v.KVUsage)
		if v.Unbound > 0 {
			fmt.Fprintf(&b, " unbound=%d", v.Unbound)
		}
	}
	return b.String()
}

// WriteTimeline writes one line per record.
func WriteTimeline(w io.Writer, tl []TickRecord) error {
	for _, r := range tl {
		if _, err := fmt.Fprintln(w, r.String()); err != nil {
			return err
		}
	}
	return nil
}

// clockString formats d as hh:mm:ss (with milliseconds when d is not whole seconds).
func clockString(d time.Duration) string {
	s := fmt.Sprintf("%02d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
	if ms := (d % time.Second) / time.Millisecond; ms != 0 {
		s += fmt.Sprintf(".%03d", ms)
	}
	return s
}
