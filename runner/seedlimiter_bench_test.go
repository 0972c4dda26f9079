package runner

import (
	"context"
	"fmt"
	"github.com/klayslave/klayslave/stats"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// seedLimiter is the peer: the rate limiter of the seed (boomer's
// StableRateLimiter, as quoted in the seed's README). Every second it refills
// a counter to maxRPS and releases every waiting user at once, so users burst
// at the top of each second.
type seedLimiter struct {
	max       int64
	threshold atomic.Int64
	mu        sync.Mutex
	refill    chan struct{}
}

func newSeedLimiter(ctx context.Context, max int64) *seedLimiter {
	l := &seedLimiter{max: max, refill: make(chan struct{})}
	l.threshold.Store(max)
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				l.threshold.Store(l.max)
				l.mu.Lock()
				close(l.refill)
				l.refill = make(chan struct{})
				l.mu.Unlock()
			}
		}
	}()
	return l
}

// acquire reports whether the caller may run now; if not it waits for the
// next refill, and the caller tries again, as the seed's loop does.
func (l *seedLimiter) acquire(ctx context.Context) bool {
	if l.threshold.Add(-1) >= 0 {
		return true
	}
	l.mu.Lock()
	ch := l.refill
	l.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
	}
	return false
}

// BenchmarkPacingSeedLimiter measures the seed's limiter the way
// BenchmarkPacing measures ours, so the two can be compared in one run:
//
//	go test ./runner -run=^$ -bench='Pacing(SeedLimiter)?/noop/rps=1000$' -benchtime=1x
func BenchmarkPacingSeedLimiter(b *testing.B) {
	for _, rps := range []int64{100, 1000, 10000} {
		b.Run(fmt.Sprintf("noop/rps=%d", rps), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				l := newSeedLimiter(ctx, rps)
				rec := &stampRecorder{}
				var wg sync.WaitGroup
				for u := 0; u < 100; u++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for ctx.Err() == nil {
							if l.acquire(ctx) && ctx.Err() == nil {
								rec.Record(stats.Result{Method: "noop", Name: "noop"})
							}
						}
					}()
				}
				wg.Wait()
				cancel()
				ts := rec.times
				sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
				span := ts[len(ts)-1].Sub(ts[0])
				const win = 100 * time.Millisecond
				counts := make([]int, int(span/win))
				for _, t := range ts {
					if k := int(t.Sub(ts[0]) / win); k < len(counts) {
						counts[k]++
					}
				}
				maxc, sum := 0, 0
				for _, c := range counts {
					sum += c
					maxc = max(maxc, c)
				}
				// Over the whole 5 s: first-to-last would span only 4 bursts.
				b.ReportMetric(float64(len(ts))/5/float64(rps), "achieved/target")
				b.ReportMetric(float64(maxc)/(float64(sum)/float64(len(counts))), "peak100ms/mean")
			}
		})
	}
}
