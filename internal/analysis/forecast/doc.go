// Package forecast plans a model's arrival rate over a horizon, the time a new replica takes to
// serve.
//
// Forecaster is Holt's linear exponential smoothing with a damped trend, for samples at
// irregular times: the level and the trend are smoothed with half-lives, the trend's
// extrapolation decays with a time constant (so a ramp is not extrapolated forever), and the
// variance of the one-step-ahead residuals is smoothed with a long half-life. The planned rate
// over the horizon is the highest expected rate on the way (the level now, or the damped
// extrapolation at the horizon) plus a burst margin of BurstK residual standard deviations;
// because the variance remembers bursts for long, a quiet minute does not remove the capacity a
// burst that follows it needs. Scale down only when the planned rate is below the capacity.
//
// Forecaster is a plain value, pure, and takes time as an argument.
package forecast
