package locust

import (
	"context"
	"errors"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klayslave/klayslave/stats"
)

// slowUsers is a Users whose every iteration takes work and records one
// result into sink: a success when it completes, a failure ("cancelled")
// when Stop's ctx ends first. So calls are always in flight when a stop
// comes, and the test knows exactly what the worker recorded.
type slowUsers struct {
	sink stats.Sink
	work time.Duration

	mu      sync.Mutex
	counts  map[string]int
	users   map[string][]chan struct{} // closed: start no new iteration
	abort   chan struct{}              // closed when Stop's ctx ends: cancel work in flight
	wg      sync.WaitGroup
	stops   atomic.Int32
	stopped chan time.Duration // how long each Stop took
}

func newSlowUsers(sink stats.Sink, work time.Duration) *slowUsers {
	return &slowUsers{sink: sink, work: work, counts: map[string]int{}, users: map[string][]chan struct{}{},
		abort: make(chan struct{}), stopped: make(chan time.Duration, 10)}
}

func (u *slowUsers) Spawn(counts map[string]int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for class, want := range counts {
		have := u.users[class]
		for len(have) < want {
			quit := make(chan struct{})
			have = append(have, quit)
			u.wg.Add(1)
			go u.user(class, quit, u.abort)
		}
		for len(have) > want {
			close(have[len(have)-1])
			have = have[:len(have)-1]
		}
		u.users[class] = have
		u.counts[class] = want
	}
}

func (u *slowUsers) user(class string, quit, abort <-chan struct{}) {
	defer u.wg.Done()
	for {
		select {
		case <-quit:
			return
		default:
		}
		start := time.Now()
		t := time.NewTimer(u.work)
		select {
		case <-t.C:
			u.sink.Record(stats.Result{Method: "call", Name: class, Latency: time.Since(start)})
		case <-abort:
			t.Stop()
			u.sink.Record(stats.Result{Method: "call", Name: class, Latency: time.Since(start), Err: errors.New("cancelled")})
			return
		}
	}
}

// Stop honours the contract: no new iteration, work in flight until ctx
// ends, then cancelled (recorded as failures) and waited for.
func (u *slowUsers) Stop(ctx context.Context) {
	start := time.Now()
	defer func() { u.stopped <- time.Since(start) }()
	u.stops.Add(1)
	u.mu.Lock()
	for _, have := range u.users {
		for _, quit := range have {
			close(quit)
		}
	}
	u.users = map[string][]chan struct{}{}
	u.counts = map[string]int{}
	abort := u.abort
	u.abort = make(chan struct{}) // for the users of a later Spawn
	u.mu.Unlock()

	done := make(chan struct{})
	go func() { u.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		close(abort)
		<-done // the users only record and return
	}
}

func (u *slowUsers) Counts() map[string]int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return maps.Clone(u.counts)
}

func (u *slowUsers) UserCount() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, c := range u.counts {
		n += c
	}
	return n
}

// stuckUsers' Stop ignores ctx and never returns until release is closed:
// the worker must quit on time anyway.
type stuckUsers struct {
	*fakeUsers
	release chan struct{}
}

func (u stuckUsers) Stop(ctx context.Context) {
	u.fakeUsers.Stop(ctx)
	<-u.release
}
