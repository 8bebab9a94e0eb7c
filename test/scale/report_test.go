package scale

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// cycleStats are the API writes and the manager's CPU in the period that starts when an engine
// cycle ends and lasts until the next one ends: the writes of the cycle's decisions and the
// next cycle's own work.
type cycleStats struct {
	end          time.Duration // cycle end, after the manager started
	duration     time.Duration // the cycle's wall time (wva_engine_cycle_duration_seconds)
	cpu          time.Duration // process CPU over the period
	statusWrites int
	scaleWrites  int
	deployReads  int
	phase        string // "start", "steady", "step"
}

type report struct {
	n        int
	interval time.Duration

	toDecided      time.Duration // manager start → every VA has a decision (poll, 1 s resolution)
	decidingToLast time.Duration // first cycle's end → the last VA's first status write
	cycles         []cycleStats
	cpuP50, cpuP99 time.Duration
	durP50, durP99 time.Duration

	steadyStatusWrites, steadyScaleWrites, steadyDeployReads int // the most in any steady cycle

	stepped      int
	stepLat      []time.Duration
	afterScrape  []time.Duration // the first scrape showing a model's step → its first write, sorted
	stepMissed   int
	stepP50      time.Duration
	stepMax      time.Duration
	peakRSS      int64
	deferred     float64
	maxPending   float64
	requests     float64 // reconcile requests of the engine (changed decisions and resyncs)
	maxQueue     float64 // the most keys in the controllers' work queues at a poll
	totalReqs    int
	stepWritesAt int // scale writes in the step's window
}

func buildReport(n int, interval time.Duration, started, decidedAt, stepAt, stepDone time.Time, stepLat []time.Duration,
	missed, stepped int, rss int64, mon *monitor, reqs []apiRequest) report {
	mon.mu.Lock()
	ends := slices.Clone(mon.cycles)
	deferred, maxPending, requests, maxQueue := mon.deferred, mon.maxPending, mon.requests, mon.maxQueue
	mon.mu.Unlock()
	pollPeriod := mon.period

	r := report{n: n, interval: interval, toDecided: decidedAt.Sub(started), stepped: stepped, stepLat: stepLat,
		stepMissed: missed, peakRSS: rss, deferred: deferred, maxPending: maxPending,
		requests: requests, maxQueue: maxQueue, totalReqs: len(reqs)}
	if len(stepLat) > 0 {
		r.stepP50, r.stepMax = stepLat[len(stepLat)/2], stepLat[len(stepLat)-1]
	}
	// The deciding cycle is the first whose period has status writes (the initial reconciles
	// before the first cycle write conditions too, not decisions); decidingToLast runs from its
	// end to the last status write of its period.
	for i, e := range ends {
		from, to := e.at.Add(-pollPeriod), time.Now()
		if i+1 < len(ends) {
			to = ends[i+1].at.Add(-pollPeriod)
		}
		var last time.Time
		for _, q := range reqs {
			if q.kind == reqStatusWrite && !q.at.Before(from) && q.at.Before(to) && q.at.After(last) {
				last = q.at
			}
		}
		if !last.IsZero() {
			r.decidingToLast = max(last.Sub(from), 0)
			break
		}
	}
	var cpus, durs []time.Duration
	for i, e := range ends {
		until := time.Now()
		cpu := time.Duration(-1)
		if i+1 < len(ends) {
			until, cpu = ends[i+1].at, ends[i+1].cpu-e.cpu
			cpus = append(cpus, cpu)
		}
		durs = append(durs, e.duration)
		// The poll sees a cycle's end up to pollPeriod late; the cycle's writes follow its end.
		from, to := e.at.Add(-pollPeriod), until.Add(-pollPeriod)
		if i+1 == len(ends) {
			to = until
		}
		cs := cycleStats{end: e.at.Sub(started), duration: e.duration, cpu: cpu, phase: "steady"}
		switch {
		case !until.After(decidedAt):
			cs.phase = "start"
		case from.Before(decidedAt):
			// The period in which the last decisions were written: its writes are counted from
			// a poll before its end, and decidedAt is seen up to a poll after the last write.
			cs.phase = "start"
		case until.After(stepAt):
			cs.phase = "step"
		}
		for _, q := range reqs {
			if q.at.Before(from) || !q.at.Before(to) {
				continue
			}
			switch q.kind {
			case reqStatusWrite:
				cs.statusWrites++
			case reqScaleWrite:
				cs.scaleWrites++
			case reqDeployRead:
				cs.deployReads++
			}
		}
		if cs.phase == "steady" {
			r.steadyStatusWrites = max(r.steadyStatusWrites, cs.statusWrites)
			r.steadyScaleWrites = max(r.steadyScaleWrites, cs.scaleWrites)
			r.steadyDeployReads = max(r.steadyDeployReads, cs.deployReads)
		}
		r.cycles = append(r.cycles, cs)
	}
	r.cpuP50, r.cpuP99 = quantile(cpus, 0.5), quantile(cpus, 0.99)
	r.durP50, r.durP99 = quantile(durs, 0.5), quantile(durs, 0.99)
	_ = stepDone
	return r
}

// quantile is the nearest-rank quantile of xs (0 when empty).
func quantile(xs []time.Duration, q float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func (r report) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "scale harness: %d variants (Direct mode, %d per model, %d namespaces, one pod each), interval %s\n",
		r.n, variantsPerModel, namespaces, r.interval)
	fmt.Fprintf(&b, "%-8s %-8s %-9s %-9s %-7s %-7s %-7s %s\n", "cycle", "end", "wall", "cpu", "status", "scale", "deplGET", "phase")
	for i, c := range r.cycles {
		cpu := "-"
		if c.cpu >= 0 {
			cpu = c.cpu.Round(10 * time.Millisecond).String()
		}
		fmt.Fprintf(&b, "%-8d %-8s %-9s %-9s %-7d %-7d %-7d %s\n", i, c.end.Round(100*time.Millisecond), c.duration.Round(time.Millisecond),
			cpu, c.statusWrites, c.scaleWrites, c.deployReads, c.phase)
	}
	fmt.Fprintf(&b, "time to all decisions (manager start → every VA decided): %s\n", r.toDecided.Round(100*time.Millisecond))
	fmt.Fprintf(&b, "deciding cycle end → its last status write: %s\n", r.decidingToLast.Round(100*time.Millisecond))
	fmt.Fprintf(&b, "cycle wall p50/p99: %s / %s; CPU per cycle period p50/p99: %s / %s (%d periods)\n",
		r.durP50.Round(time.Millisecond), r.durP99.Round(time.Millisecond), r.cpuP50.Round(10*time.Millisecond),
		r.cpuP99.Round(10*time.Millisecond), max(len(r.cycles)-1, 0))
	fmt.Fprintf(&b, "writes in a steady cycle (most of %d): %d status, %d scale, %d uncached Deployment reads\n",
		steadyCycles, r.steadyStatusWrites, r.steadyScaleWrites, r.steadyDeployReads)
	fmt.Fprintf(&b, "step → first scale write of %d models: p50 %s, max %s, %d without a write\n",
		r.stepped, r.stepP50.Round(100*time.Millisecond), r.stepMax.Round(100*time.Millisecond), r.stepMissed)
	if n := len(r.afterScrape); n > 0 {
		fmt.Fprintf(&b, "  of which after the scrape that showed the step (the manager's share): p50 %s, max %s\n",
			r.afterScrape[n/2].Round(100*time.Millisecond), r.afterScrape[n-1].Round(100*time.Millisecond))
	}
	fmt.Fprintf(&b, "peak RSS (VmHWM): %d MiB; trigger deferrals: %.0f (max pending %.0f); API requests: %d\n",
		r.peakRSS>>20, r.deferred, r.maxPending, r.totalReqs)
	fmt.Fprintf(&b, "engine reconcile requests: %.0f (changed decisions and resyncs); controller work queue depth max %.0f\n",
		r.requests, r.maxQueue)
	fmt.Fprintf(&b, "| variants | all VAs decided after start | deciding cycle → last status | step → scale write p50/max (Direct) | peak RSS | trigger drops |\n")
	fmt.Fprintf(&b, "| %d | %.0f s | %.0f s | %.0f / %.0f s | %d MiB | %.0f (deferred, none dropped) |\n", r.n, r.toDecided.Seconds(),
		r.decidingToLast.Seconds(), r.stepP50.Seconds(), r.stepMax.Seconds(), r.peakRSS>>20, r.deferred)
	return b.String()
}

func (r report) print(t *testing.T) { t.Log("\n" + r.text()) }
