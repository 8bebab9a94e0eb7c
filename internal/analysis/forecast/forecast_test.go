package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// run feeds rate(t) every 15 s for d and returns the forecaster and the time of the last sample.
func run(t *testing.T, f Forecaster, from, d time.Duration, rate func(time.Duration) float64) (Forecaster, time.Time) {
	t.Helper()
	var at time.Time
	for s := from; s < from+d; s += 15 * time.Second {
		at = t0.Add(s)
		f.Observe(at, rate(s))
	}
	return f, at
}

func newF(t *testing.T) Forecaster {
	f, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestStepUp(t *testing.T) {
	f, _ := run(t, newF(t), 0, 10*time.Minute, func(time.Duration) float64 { return 5 })
	if fc := f.Forecast(f.Last); math.Abs(fc.Planned-5) > 1e-9 {
		t.Fatalf("steady 5 req/s: planned %g, want 5", fc.Planned)
	}
	// The rate doubles: within two samples the plan is at or above the new rate.
	f, at := run(t, f, 10*time.Minute, 30*time.Second, func(time.Duration) float64 { return 10 })
	if fc := f.Forecast(at); fc.Planned < 10 {
		t.Errorf("30 s after a step to 10: planned %+v, want >= 10", fc)
	}
}

func TestRampIsExtrapolated(t *testing.T) {
	// 1 req/s per minute: the plan covers the rate a start-up delay (2 min) ahead.
	ramp := func(s time.Duration) float64 { return 2 + s.Minutes() }
	f, at := run(t, newF(t), 0, 20*time.Minute, ramp)
	fc := f.Forecast(at)
	ahead := ramp(at.Sub(t0) + DefaultHorizon)
	if fc.Planned < ahead {
		t.Errorf("planned %+v, want >= %g (the rate at the horizon)", fc, ahead)
	}
	if fc.Expected <= fc.Level {
		t.Errorf("a rising trend must raise the expectation: %+v", fc)
	}
	if fc.Planned > 1.5*ahead {
		t.Errorf("planned %g, want within 50 %% of %g", fc.Planned, ahead)
	}
}

func TestQuietGapKeepsCapacity(t *testing.T) {
	// Bursts of 20 req/s for 2 minutes separated by quiet minutes (1 req/s): in the quiet
	// minute, the plan still covers most of the next burst, and scale-down below it is refused.
	bursty := func(s time.Duration) float64 {
		if int(s.Minutes())%3 == 2 {
			return 1
		}
		return 20
	}
	f, at := run(t, newF(t), 0, 29*time.Minute+50*time.Second, bursty) // ends inside a quiet minute
	if bursty(at.Sub(t0)) != 1 {
		t.Fatalf("test setup: last sample not in a quiet minute")
	}
	fc := f.Forecast(at)
	if fc.Planned < 18 {
		t.Errorf("in a quiet minute: planned %+v, want >= 18 (the bursts are 20)", fc)
	}
	if fc.ScaleDownAllowed(15) {
		t.Errorf("scale-down to a capacity of 15 req/s allowed in a quiet minute: %+v", fc)
	}
	// After an hour of quiet the margin has faded (six variance half-lives) and scale-down is
	// allowed.
	f, at = run(t, f, 30*time.Minute, time.Hour, func(time.Duration) float64 { return 1 })
	if fc := f.Forecast(at); !fc.ScaleDownAllowed(4) {
		t.Errorf("after an hour at 1 req/s: %+v, want scale-down to 4 allowed", fc)
	}
}

func TestNoise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	f, at := run(t, newF(t), 0, 30*time.Minute, func(time.Duration) float64 { return max(0, 10+rng.NormFloat64()) })
	fc := f.Forecast(at)
	// Level about 10, margin about 2σ of the residuals (σ ≈ 1.1 with the level's own noise).
	if math.Abs(fc.Level-10) > 1.5 || fc.Margin < 1 || fc.Margin > 4 || fc.Planned > 15 {
		t.Errorf("noisy 10 ± 1 req/s: %+v", fc)
	}
}

func TestBadInputs(t *testing.T) {
	f := newF(t)
	if fc := f.Forecast(t0); fc != (Forecast{}) {
		t.Errorf("empty forecaster: %+v", fc)
	}
	f.Observe(t0, 5)
	for _, r := range []float64{math.NaN(), math.Inf(1), -1} {
		if f.Observe(t0.Add(time.Minute), r) {
			t.Errorf("Observe(%g) accepted", r)
		}
	}
	if f.Observe(t0, 7) || f.Observe(t0.Add(-time.Minute), 7) {
		t.Error("a sample not after the last was accepted")
	}
	if !f.Observe(t0.Add(time.Minute), 1e300) {
		t.Error("a huge rate should be clamped, not dropped")
	}
	if fc := f.Forecast(t0.Add(2 * time.Minute)); !(fc.Planned <= MaxRate) || math.IsNaN(fc.Planned) {
		t.Errorf("after a huge rate: %+v", fc)
	}
	for _, c := range []Config{{Horizon: time.Millisecond}, {BurstK: -1}, {MaxGrowth: 0.5}, {VarianceHalfLife: 48 * time.Hour}, {BurstK: math.NaN()}} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v): want an error", c)
		}
	}
}

// TestRescaleRestatesTheHistory: a forecaster rescaled by k forecasts what one fed every sample
// k times larger forecasts, and a bad k changes nothing.
func TestRescaleRestatesTheHistory(t *testing.T) {
	ramp := func(s time.Duration) float64 { return 2 + s.Minutes() + 0.3*math.Sin(s.Seconds()) }
	a, at := run(t, newF(t), 0, 10*time.Minute, ramp)
	b, _ := run(t, newF(t), 0, 10*time.Minute, func(s time.Duration) float64 { return 2.5 * ramp(s) })
	a.Rescale(2.5)
	fa, fb := a.Forecast(at), b.Forecast(at)
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"level", fa.Level, fb.Level}, {"expected", fa.Expected, fb.Expected}, {"margin", fa.Margin, fb.Margin}, {"planned", fa.Planned, fb.Planned}} {
		if math.Abs(c.got-c.want) > 1e-9*math.Max(1, math.Abs(c.want)) {
			t.Errorf("rescaled %s = %g, want %g", c.name, c.got, c.want)
		}
	}
	before := a
	for _, k := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		a.Rescale(k)
		if a != before {
			t.Errorf("Rescale(%g) changed the forecaster: %+v, want %+v", k, a, before)
		}
	}
}
