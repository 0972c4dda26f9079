package runner

import (
	"testing"
	"time"
)

func TestRateDue(t *testing.T) {
	for _, tt := range []struct {
		rate Rate
		i    uint64
		want time.Duration
	}{
		{Rate{Max: 10}, 0, 0},
		{Rate{Max: 10}, 1, 100 * time.Millisecond},
		{Rate{Max: 10}, 25, 2500 * time.Millisecond},
		{Rate{Max: 1000}, 1, time.Millisecond},
		{Rate{Max: 0.5}, 3, 6 * time.Second},
		// Ramp from 1/s to 11/s over 10 s: 60 iterations in the ramp
		// (mean 6/s), then 11/s.
		{Rate{Max: 11, Ramp: 10 * time.Second}, 60, 10 * time.Second},
		{Rate{Max: 11, Ramp: 10 * time.Second}, 71, 11 * time.Second},
		// In the ramp: t + t²/2 = 4 → t = 2 s.
		{Rate{Max: 11, Ramp: 10 * time.Second}, 4, 2 * time.Second},
		// A cap below 1/s ramps from itself: no ramp at all in effect.
		{Rate{Max: 0.5, Ramp: 10 * time.Second}, 1, 2 * time.Second},
	} {
		got := tt.rate.Due(tt.i)
		if d := got - tt.want; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("%+v.Due(%d) = %v, want %v", tt.rate, tt.i, got, tt.want)
		}
	}
}

func TestRateHits(t *testing.T) {
	for _, tt := range []struct {
		rate    Rate
		elapsed time.Duration
		want    uint64
	}{
		{Rate{Max: 10}, -time.Second, 0},
		{Rate{Max: 10}, 0, 1},
		{Rate{Max: 10}, 99 * time.Millisecond, 1},
		{Rate{Max: 10}, 100 * time.Millisecond, 2},
		{Rate{Max: 10}, time.Second, 11},
		{Rate{Max: 1e4}, time.Second, 10001},
		{Rate{Max: 11, Ramp: 10 * time.Second}, 2 * time.Second, 5},
		{Rate{Max: 11, Ramp: 10 * time.Second}, 10 * time.Second, 61},
		{Rate{Max: 11, Ramp: 10 * time.Second}, 20 * time.Second, 171},
		{Rate{}, time.Hour, 0},
	} {
		if got := tt.rate.Hits(tt.elapsed); got != tt.want {
			t.Errorf("%+v.Hits(%v) = %d, want %d", tt.rate, tt.elapsed, got, tt.want)
		}
	}
}

// Due and Hits are inverses: iteration i is due by Due(i) and not before.
func TestRateDueHitsAgree(t *testing.T) {
	for _, r := range []Rate{{Max: 7}, {Max: 333, Ramp: 3 * time.Second}, {Max: 2, Ramp: time.Minute}} {
		for i := uint64(0); i < 2000; i += 7 {
			d := r.Due(i)
			if h := r.Hits(d + time.Microsecond); h < i+1 {
				t.Fatalf("%+v: Hits(Due(%d)) = %d, want ≥ %d", r, i, h, i+1)
			}
			if i > 0 {
				if h := r.Hits(d - time.Millisecond); h > i {
					t.Fatalf("%+v: Hits(Due(%d)−1ms) = %d, want ≤ %d", r, i, h, i)
				}
			}
		}
	}
}
