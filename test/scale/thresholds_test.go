package scale

import (
	"testing"
	"time"
)

// thresholds are the limits a run must meet, per fleet size. PROVISIONAL: filled from the runs below.
type thresholds struct {
	toDecided   time.Duration
	stepMax     time.Duration
	peakRSS     int64
	steadyWrite int // status + scale writes in any steady cycle
}

var limits = map[int]thresholds{
	1000: {toDecided: 120 * time.Second, stepMax: 70 * time.Second, peakRSS: 512 << 20, steadyWrite: 0},
	2000: {toDecided: 180 * time.Second, stepMax: 70 * time.Second, peakRSS: 768 << 20, steadyWrite: 0},
}

func checkThresholds(t *testing.T, r report) {
	t.Helper()
	if r.stepMissed > 0 {
		t.Errorf("%d of %d stepped models got no scale write", r.stepMissed, r.stepped)
	}
	l, ok := limits[r.n]
	if !ok {
		t.Logf("no thresholds for %d variants: numbers reported only", r.n)
		return
	}
	if r.interval != defaultInterval {
		t.Logf("interval %s is not the default: thresholds not checked", r.interval)
		return
	}
	if r.toDecided > l.toDecided {
		t.Errorf("all VAs decided after %s, threshold %s", r.toDecided, l.toDecided)
	}
	if r.stepMax > l.stepMax {
		t.Errorf("step → scale write max %s, threshold %s", r.stepMax, l.stepMax)
	}
	if r.peakRSS > l.peakRSS {
		t.Errorf("peak RSS %d MiB, threshold %d MiB", r.peakRSS>>20, l.peakRSS>>20)
	}
	if w := r.steadyStatusWrites + r.steadyScaleWrites; w > l.steadyWrite {
		t.Errorf("%d writes in a steady cycle, threshold %d", w, l.steadyWrite)
	}
}
