package forecast

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Config tunes a Forecaster; zero fields select the defaults.
type Config struct {
	// Horizon is how far ahead to plan: a replica's start-up delay. Default 2 minutes.
	Horizon time.Duration
	// LevelHalfLife is the half-life of the level's smoothing. Default 30 s.
	LevelHalfLife time.Duration
	// TrendHalfLife is the half-life of the trend's smoothing. Default 2 minutes.
	TrendHalfLife time.Duration
	// TrendDamping is the time constant over which an extrapolated trend fades. Default 10
	// minutes.
	TrendDamping time.Duration
	// VarianceHalfLife is the half-life of the residual variance: how long a burst keeps the
	// margin up. Default 10 minutes.
	VarianceHalfLife time.Duration
	// BurstK is the margin in residual standard deviations. Default 2.
	BurstK float64
	// MaxGrowth bounds the trend's extrapolation to (MaxGrowth − 1) × max(level, σ). Default 3.
	MaxGrowth float64
}

// Defaults of Config.
const (
	DefaultHorizon          = 2 * time.Minute
	DefaultLevelHalfLife    = 30 * time.Second
	DefaultTrendHalfLife    = 2 * time.Minute
	DefaultTrendDamping     = 10 * time.Minute
	DefaultVarianceHalfLife = 10 * time.Minute
	DefaultBurstK           = 2.0
	DefaultMaxGrowth        = 3.0
	// MaxRate bounds every rate, requests per second.
	MaxRate = 1e9
)

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	set := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	set(&c.Horizon, DefaultHorizon)
	set(&c.LevelHalfLife, DefaultLevelHalfLife)
	set(&c.TrendHalfLife, DefaultTrendHalfLife)
	set(&c.TrendDamping, DefaultTrendDamping)
	set(&c.VarianceHalfLife, DefaultVarianceHalfLife)
	if c.BurstK == 0 {
		c.BurstK = DefaultBurstK
	}
	if c.MaxGrowth == 0 {
		c.MaxGrowth = DefaultMaxGrowth
	}
	return c
}

// Validate reports every field (after defaults) outside its range.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"horizon", c.Horizon}, {"level half-life", c.LevelHalfLife}, {"trend half-life", c.TrendHalfLife}, {"trend damping", c.TrendDamping}, {"variance half-life", c.VarianceHalfLife}} {
		if d.v < time.Second || d.v > 24*time.Hour {
			errs = append(errs, fmt.Errorf("%s must be within 1s .. 24h, got %s", d.name, d.v))
		}
	}
	if !(c.BurstK >= 0 && c.BurstK <= 10) {
		errs = append(errs, fmt.Errorf("burst k must be in [0, 10], got %g", c.BurstK))
	}
	if !(c.MaxGrowth >= 1 && c.MaxGrowth <= 100) {
		errs = append(errs, fmt.Errorf("max growth must be in [1, 100], got %g", c.MaxGrowth))
	}
	return errors.Join(errs...)
}

// Forecaster holds the smoothed state of one model's arrival rate. It is a plain value.
type Forecaster struct {
	// Config is the configuration with defaults applied.
	Config Config
	// Level is the smoothed rate (req/s), Trend its slope (req/s per second), Var the smoothed
	// squared one-step residual.
	Level, Trend, Var float64
	// Last is the time of the last accepted sample; Samples counts them.
	Last    time.Time
	Samples int
}

// New returns an empty forecaster.
func New(cfg Config) (Forecaster, error) {
	if err := cfg.Validate(); err != nil {
		return Forecaster{}, fmt.Errorf("forecast config: %w", err)
	}
	return Forecaster{Config: cfg.WithDefaults()}, nil
}

// weight is the smoothing weight of a sample dt after the last one for half-life hl.
func weight(dt float64, hl time.Duration) float64 {
	return 1 - math.Exp2(-dt/hl.Seconds())
}

// damped is the extrapolated increase of a trend over h seconds.
func (f *Forecaster) damped(h float64) float64 {
	tau := f.Config.TrendDamping.Seconds()
	return f.Trend * tau * (1 - math.Exp(-h/tau))
}

// Rescale restates the forecaster in a unit k times smaller: its level, trend and margin are
// multiplied by k (its variance by k²), as if every past sample had been k times larger. A k that
// is not a finite number > 0 changes nothing.
func (f *Forecaster) Rescale(k float64) {
	if !(k > 0) || math.IsInf(k, 0) {
		return
	}
	f.Level = min(f.Level*k, MaxRate)
	f.Trend *= k
	f.Var = min(f.Var*k*k, MaxRate*MaxRate)
}

// Observe adds a rate sample (requests per second) taken at t. It ignores a rate that is not a
// finite number >= 0 and a sample not after the last one, and reports whether it used it.
func (f *Forecaster) Observe(t time.Time, rate float64) bool {
	if !(rate >= 0) || math.IsInf(rate, 0) || (f.Samples > 0 && !t.After(f.Last)) {
		return false
	}
	rate = min(rate, MaxRate)
	if f.Samples == 0 {
		f.Level, f.Trend, f.Var, f.Last, f.Samples = rate, 0, 0, t, 1
		return true
	}
	dt := t.Sub(f.Last).Seconds()
	pred := max(f.Level+f.damped(dt), 0)
	e := rate - pred
	level := min(max(pred+weight(dt, f.Config.LevelHalfLife)*e, 0), MaxRate)
	// The trend is smoothed undamped (so a steady ramp is tracked without bias); the damping
	// applies to extrapolation only.
	slope := (level - f.Level) / dt
	trend := f.Trend + weight(dt, f.Config.TrendHalfLife)*(slope-f.Trend)
	bound := MaxRate / f.Config.Horizon.Seconds()
	f.Trend = min(max(trend, -bound), bound)
	f.Var = min(f.Var+weight(dt, f.Config.VarianceHalfLife)*(e*e-f.Var), MaxRate*MaxRate)
	f.Level, f.Last = level, t
	f.Samples++
	return true
}

// Forecast is the plan over the horizon.
type Forecast struct {
	// Level is the smoothed rate now and Expected the highest expected rate before the horizon
	// (req/s).
	Level, Expected float64
	// Margin is the burst margin, BurstK residual standard deviations.
	Margin float64
	// Planned is Expected + Margin: the rate to provision for; finite, in [0, MaxRate].
	Planned float64
}

// Forecast returns the plan from now over the horizon; all zero before the first sample.
func (f Forecaster) Forecast(now time.Time) Forecast {
	if f.Samples == 0 {
		return Forecast{}
	}
	h := max(now.Sub(f.Last).Seconds(), 0) + f.Config.Horizon.Seconds()
	sigma := math.Sqrt(max(f.Var, 0))
	inc := min(f.damped(h), (f.Config.MaxGrowth-1)*max(f.Level, sigma))
	fc := Forecast{Level: f.Level, Expected: min(max(f.Level, f.Level+inc), MaxRate), Margin: min(f.Config.BurstK*sigma, MaxRate)}
	fc.Planned = min(fc.Expected+fc.Margin, MaxRate)
	return fc
}

// ScaleDownAllowed reports whether capacity (req/s) stays above the planned rate over the whole
// horizon, so that removing the capacity above it is safe.
func (fc Forecast) ScaleDownAllowed(capacity float64) bool {
	return fc.Planned < capacity
}
