package runner

import (
	"math"
	"time"
)

// Rate is an open-model arrival rate: iterations per second, optionally
// ramped linearly from min(1, Max) to Max over Ramp. It is a pure function
// of elapsed time, like vegeta's Pace, so it is tested by tables without a
// clock: iteration i (0-based) is due at Due(i), and Hits(t) iterations are
// due by t. The ramp changes the rate, not the rule.
type Rate struct {
	Max  float64       // iterations per second; > 0
	Ramp time.Duration // 0: Max from the start
}

// start is the rate at elapsed 0.
func (r Rate) start() float64 {
	if r.Ramp <= 0 {
		return r.Max
	}
	return min(1, r.Max)
}

// Hits returns how many iterations are due by elapsed (iteration 0 is due
// at 0, so Hits(0) is 1).
func (r Rate) Hits(elapsed time.Duration) uint64 {
	if elapsed < 0 || r.Max <= 0 {
		return 0
	}
	return uint64(math.Floor(r.integral(elapsed.Seconds())+1e-9)) + 1
}

// integral is the number of iterations the rate gives over [0, t] seconds.
func (r Rate) integral(t float64) float64 {
	r0, rampS := r.start(), r.Ramp.Seconds()
	if rampS <= 0 || t >= rampS {
		if rampS <= 0 {
			return r.Max * t
		}
		return (r0+r.Max)/2*rampS + r.Max*(t-rampS)
	}
	return r0*t + (r.Max-r0)*t*t/(2*rampS)
}

// Due returns when iteration i (0-based) is due, after the start.
func (r Rate) Due(i uint64) time.Duration {
	if r.Max <= 0 {
		return math.MaxInt64
	}
	n := float64(i)
	r0, rampS := r.start(), r.Ramp.Seconds()
	var s float64
	switch {
	case rampS <= 0:
		s = n / r.Max
	case n >= (r0+r.Max)/2*rampS:
		s = rampS + (n-(r0+r.Max)/2*rampS)/r.Max
	default:
		// Solve r0·t + a·t² = n with a = (Max−r0)/(2·Ramp).
		a := (r.Max - r0) / (2 * rampS)
		if a == 0 {
			s = n / r0
		} else {
			s = (-r0 + math.Sqrt(r0*r0+4*a*n)) / (2 * a)
		}
	}
	return time.Duration(s * float64(time.Second))
}
