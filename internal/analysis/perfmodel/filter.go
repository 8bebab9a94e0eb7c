package perfmodel

import "math"

// dim is the number of parameters of one filter (decode: α β ε; prefill: γ δ ζ).
const dim = 3

// Outcome says what an observation did to the estimate.
type Outcome int

const (
	// Ignored: the sample was not a finite number in range and changed nothing.
	Ignored Outcome = iota
	// Accepted: the sample updated the estimate with full weight.
	Accepted
	// Downweighted: the sample's residual was large; it updated the estimate with a Huber weight.
	Downweighted
	// Rejected: the residual was a gross outlier; the estimate is unchanged.
	Rejected
	// Reopened: a run of outliers was read as a change of the replica; the covariance was
	// reopened to the prior's and the sample was used.
	Reopened
)

func (o Outcome) String() string {
	switch o {
	case Accepted:
		return "Accepted"
	case Downweighted:
		return "Downweighted"
	case Rejected:
		return "Rejected"
	case Reopened:
		return "Reopened"
	default:
		return "Ignored"
	}
}

// Filter is a three-parameter recursive least-squares estimator in Kalman form with exponential
// forgetting, for y ≈ Σ θ_j·h_j. Parameters are kept in scaled units (θ_j / Scale_j) so that the
// features are of similar size. It is a plain value.
type Filter struct {
	// Theta is the estimate in scaled units.
	Theta [dim]float64
	// Cov is the covariance of Theta (scaled units squared).
	Cov [dim][dim]float64
	// PriorVar is the prior variance of each parameter: the covariance starts, and is reopened,
	// at diag(PriorVar), and never exceeds covCapFactor·PriorVar on the diagonal.
	PriorVar [dim]float64
	// Hi is the upper bound of each scaled parameter; the lower bound is 0.
	Hi [dim]float64
	// Scale converts a scaled parameter to its physical unit: θ = Theta·Scale.
	Scale [dim]float64
	// Active marks the fitted parameters; the others stay at their prior value.
	Active [dim]bool
	// NoiseRel is the estimated standard deviation of the measurement noise relative to the
	// predicted value.
	NoiseRel float64
	// Samples counts the valid samples, Rejected the gross outliers among them, IgnoredSamples
	// the invalid ones.
	Samples, Rejected, IgnoredSamples int64
	// Run is the number of consecutive rejected samples.
	Run int
	// MAPE is the mean absolute relative error of the one-step-ahead prediction (each sample
	// capped at 1) over about the last ErrorWindow samples; outliers included.
	MAPE float64
	// OutlierRate is the share of rejected samples over about the last ErrorWindow samples.
	OutlierRate float64
}

const (
	// covCapFactor bounds the covariance's diagonal at this multiple of the prior variance, so
	// that forgetting without excitation cannot wind it up.
	covCapFactor = 100
	// covFloorFactor is the smallest diagonal kept, relative to the prior variance.
	covFloorFactor = 1e-10
	// noiseRelInit, noiseRelMin and noiseRelMax bound the relative noise estimate.
	noiseRelInit = 0.1
	noiseRelMin  = 0.002
	noiseRelMax  = 2
	// noiseRate is the weight of one sample in the noise estimate.
	noiseRate = 0.05
	// minScaleMs is the smallest prediction the relative noise is taken of.
	minScaleMs = 0.5
)

func newFilter(theta, priorStd, hi, scale [dim]float64, active [dim]bool) Filter {
	f := Filter{Hi: hi, Scale: scale, Active: active, NoiseRel: noiseRelInit}
	for j := range dim {
		f.Theta[j] = min(max(theta[j]/scale[j], 0), hi[j])
		f.PriorVar[j] = priorStd[j] * priorStd[j]
	}
	f.resetCov()
	return f
}

// resetCov sets the covariance to the prior's (0 for inactive parameters).
func (f *Filter) resetCov() {
	f.Cov = [dim][dim]float64{}
	for j := range dim {
		if f.Active[j] {
			f.Cov[j][j] = f.PriorVar[j]
		}
	}
}

// predict returns h·θ.
func (f *Filter) predict(h [dim]float64) float64 {
	y := 0.0
	for j := range dim {
		y += f.Theta[j] * h[j]
	}
	return y
}

// observe updates the estimate with y ≈ h·θ. The caller has checked that h and y are finite,
// y > 0 and h is within range.
func (f *Filter) observe(h [dim]float64, y float64, cfg Config) Outcome {
	f.Samples++
	yhat := f.predict(h)
	e := y - yhat
	rate := max(1/float64(f.Samples), 1/float64(cfg.ErrorWindow))
	f.MAPE += rate * (min(math.Abs(e)/y, 1) - f.MAPE)

	scale := max(yhat, minScaleMs)
	r := (f.NoiseRel * scale) * (f.NoiseRel * scale)
	var ph [dim]float64
	hph := 0.0
	for i := range dim {
		for j := range dim {
			ph[i] += f.Cov[i][j] * h[j]
		}
		hph += h[i] * ph[i]
	}
	s := hph + r
	z := math.Abs(e) / math.Sqrt(s)
	out := Accepted
	if z > cfg.OutlierK {
		f.Run++
		if f.Run < cfg.ChangeRun {
			f.Rejected++
			f.OutlierRate += rate * (1 - f.OutlierRate)
			return Rejected
		}
		// A run of outliers: the replica has changed. Reopen and use this sample.
		f.Run = 0
		for j := range dim {
			if f.Active[j] {
				f.Cov[j][j] += f.PriorVar[j]
			}
		}
		ph, hph = [dim]float64{}, 0
		for i := range dim {
			for j := range dim {
				ph[i] += f.Cov[i][j] * h[j]
			}
			hph += h[i] * ph[i]
		}
		s = hph + r
		z = math.Abs(e) / math.Sqrt(s)
		out = Reopened
	} else {
		f.Run = 0
	}
	f.OutlierRate += rate * (0 - f.OutlierRate)

	w := 1.0
	if z > cfg.HuberK {
		w = cfg.HuberK / z
		if out == Accepted {
			out = Downweighted
		}
	}
	sw := hph + r/w
	var k [dim]float64
	for i := range dim {
		k[i] = ph[i] / sw
	}
	var theta [dim]float64
	for i := range dim {
		theta[i] = f.Theta[i]
		if f.Active[i] {
			theta[i] += k[i] * e
		}
	}
	lambda := cfg.Forgetting
	for i := range dim {
		for j := range dim {
			f.Cov[i][j] = (f.Cov[i][j] - k[i]*ph[j]) / lambda
		}
	}
	f.conditionCov()
	f.Theta = f.project(theta)

	// Noise: the posterior residual, Huber-clipped, relative to the prediction.
	ep := (y - f.predict(h)) / scale
	c := cfg.HuberK * f.NoiseRel
	ep = min(max(ep, -c), c)
	nv := f.NoiseRel*f.NoiseRel + noiseRate*(ep*ep-f.NoiseRel*f.NoiseRel)
	f.NoiseRel = min(max(math.Sqrt(max(nv, 0)), noiseRelMin), noiseRelMax)
	return out
}

// project returns theta within the bounds [0, Hi]. Clipping one parameter alone would keep the
// correlated move of the others: a sample that the fit explains by lowering ζ below 0 and raising
// δ a little would keep the rise of δ without the fall of ζ, and a run of such samples ratchets δ
// up while the error grows (seen on long prompts: δ 0.028 → 0.1 ms per token, the prediction
// three times the measurement). Instead each parameter out of its bounds is set to its bound
// and the others move by what the covariance says they owe it (the estimate projection of a
// Kalman filter onto an equality constraint), one bound at a time.
func (f *Filter) project(theta [dim]float64) [dim]float64 {
	var fixed [dim]bool
	for range dim {
		j, bound := -1, 0.0
		for i := range dim {
			if !f.Active[i] || fixed[i] {
				continue
			}
			if theta[i] < 0 {
				j, bound = i, 0
				break
			}
			if theta[i] > f.Hi[i] {
				j, bound = i, f.Hi[i]
				break
			}
		}
		if j < 0 {
			break
		}
		fixed[j] = true
		d := theta[j] - bound
		if c := f.Cov[j][j]; c > 0 {
			for i := range dim {
				if i != j && f.Active[i] && !fixed[i] {
					theta[i] -= f.Cov[i][j] / c * d
				}
			}
		}
		theta[j] = bound
	}
	for i := range dim {
		theta[i] = min(max(theta[i], 0), f.Hi[i])
		if math.IsNaN(theta[i]) {
			theta[i] = f.Theta[i]
		}
	}
	return theta
}

// conditionCov keeps the covariance symmetric, positive definite and within
// [covFloorFactor, covCapFactor]·PriorVar on the diagonal; it resets it to the prior when it is
// not.
func (f *Filter) conditionCov() {
	for i := range dim {
		for j := i + 1; j < dim; j++ {
			m := (f.Cov[i][j] + f.Cov[j][i]) / 2
			f.Cov[i][j], f.Cov[j][i] = m, m
		}
	}
	shrink := 1.0
	for j := range dim {
		if !f.Active[j] {
			continue
		}
		d := f.Cov[j][j]
		if !(d > 0) || math.IsInf(d, 0) {
			f.resetCov()
			return
		}
		if cap := covCapFactor * f.PriorVar[j]; d > cap {
			shrink = min(shrink, cap/d)
		}
	}
	for i := range dim {
		for j := range dim {
			f.Cov[i][j] *= shrink
			if math.IsNaN(f.Cov[i][j]) || math.IsInf(f.Cov[i][j], 0) {
				f.resetCov()
				return
			}
		}
	}
	for i := range dim {
		if f.Active[i] {
			f.Cov[i][i] = max(f.Cov[i][i], covFloorFactor*f.PriorVar[i])
		}
		for j := range dim {
			if i != j && f.Cov[i][j]*f.Cov[i][j] > f.Cov[i][i]*f.Cov[j][j] {
				// Lost positive definiteness (rounding): keep the variances, drop correlations.
				for a := range dim {
					for b := range dim {
						if a != b {
							f.Cov[a][b] = 0
						}
					}
				}
				return
			}
		}
	}
}

// value returns parameter j in physical units.
func (f *Filter) value(j int) float64 { return f.Theta[j] * f.Scale[j] }

// std returns the standard deviation of parameter j in physical units.
func (f *Filter) std(j int) float64 { return math.Sqrt(max(f.Cov[j][j], 0)) * f.Scale[j] }
