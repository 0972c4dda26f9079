package runner

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Pacer caps the rate at which all users of one worker start iterations.
//
// It spaces iterations evenly (a token bucket of size 1), so there is no
// burst at the start of each second, unlike the seed's per-second counter.
// With a ramp, the cap rises linearly from 1/s to Max over Ramp, measured
// from the first Wait.
type Pacer struct {
	Max  float64       // iterations per second; must be > 0
	Ramp time.Duration // 0: start at Max

	lim   *rate.Limiter
	once  sync.Once
	start time.Time
	now   func() time.Time
}

// NewPacer returns a pacer for max iterations/s with an optional linear ramp.
func NewPacer(max float64, ramp time.Duration) *Pacer {
	p := &Pacer{Max: max, Ramp: ramp, now: time.Now}
	p.lim = rate.NewLimiter(rate.Limit(p.limitAt(0)), 1)
	return p
}

// limitAt is the cap elapsed after the start.
func (p *Pacer) limitAt(elapsed time.Duration) float64 {
	if p.Ramp <= 0 || elapsed >= p.Ramp {
		return p.Max
	}
	l := p.Max * float64(elapsed) / float64(p.Ramp)
	return max(l, min(1, p.Max))
}

// Wait blocks until the caller may start one iteration, or ctx is done.
func (p *Pacer) Wait(ctx context.Context) error {
	if p.Ramp > 0 {
		now := p.now()
		p.once.Do(func() { p.start = now })
		if l := rate.Limit(p.limitAt(now.Sub(p.start))); l != p.lim.Limit() {
			p.lim.SetLimitAt(now, l)
		}
	}
	return p.lim.Wait(ctx)
}
