// Package runner runs users: goroutines that call test-case tasks in a loop,
// paced by a per-worker rate cap. Both the Locust protocols and standalone
// mode drive it through Spawn and StopAll.
package runner

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/klayslave/klayslave/stats"
	"github.com/klayslave/klayslave/tc"
)

// Task is a prepared test case.
type Task struct {
	Name   string
	Weight int // relative share; <= 0 means 1
	Task   tc.Task
}

// Config is what a Runner needs.
type Config struct {
	Tasks    []Task
	Recorder stats.Recorder
	// MaxRPS caps iterations per second over all users of this worker;
	// 0 means closed loop (each user starts its next iteration at once).
	MaxRPS float64
	// Ramp raises the cap linearly from 1/s to MaxRPS over this long,
	// from the moment the first user starts.
	Ramp time.Duration
}

// Runner owns the users of one worker. Its methods are safe for concurrent use.
type Runner struct {
	cfg    Config
	byName map[string]tc.Task
	total  int // sum of weights

	mu     sync.Mutex
	users  map[string][]context.CancelFunc // per user class, oldest first
	pacer  *Pacer                          // nil when closed loop; new per test
	wg     sync.WaitGroup
	nextID uint64
}

// New returns a runner with no users.
func New(cfg Config) *Runner {
	r := &Runner{cfg: cfg, byName: map[string]tc.Task{}, users: map[string][]context.CancelFunc{}}
	for i, t := range cfg.Tasks {
		if t.Weight <= 0 {
			r.cfg.Tasks[i].Weight = 1
		}
		r.total += r.cfg.Tasks[i].Weight
		r.byName[t.Name] = t.Task
	}
	return r
}

// Spawn starts or stops users so that exactly counts[class] users run for
// each class, as Locust 2.x's absolute spawn message asks. A user whose class
// is a test-case name runs only that case; any other class runs the
// configured cases by weight. Users are stopped newest first.
func (r *Runner) Spawn(counts map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.countLocked() == 0 && r.cfg.MaxRPS > 0 {
		r.pacer = NewPacer(r.cfg.MaxRPS, r.cfg.Ramp)
	}
	for class, want := range counts {
		have := r.users[class]
		for len(have) < want {
			ctx, cancel := context.WithCancel(context.Background())
			have = append(have, cancel)
			r.nextID++
			r.wg.Add(1)
			go r.run(ctx, class, r.nextID, r.pacer)
		}
		for len(have) > max(want, 0) {
			have[len(have)-1]()
			have = have[:len(have)-1]
		}
		r.users[class] = have
	}
	for class, have := range r.users {
		if _, ok := counts[class]; !ok {
			for _, cancel := range have {
				cancel()
			}
			delete(r.users, class)
		}
	}
}

// StopAll stops every user and waits until each has finished its iteration.
func (r *Runner) StopAll() {
	r.mu.Lock()
	for _, have := range r.users {
		for _, cancel := range have {
			cancel()
		}
	}
	r.users = map[string][]context.CancelFunc{}
	r.mu.Unlock()
	r.wg.Wait()
}

// Counts returns the number of running users per class.
func (r *Runner) Counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.users))
	for class, have := range r.users {
		out[class] = len(have)
	}
	return out
}

// UserCount returns the number of running users.
func (r *Runner) UserCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.countLocked()
}

func (r *Runner) countLocked() int {
	n := 0
	for _, have := range r.users {
		n += len(have)
	}
	return n
}

func (r *Runner) run(ctx context.Context, class string, id uint64, pacer *Pacer) {
	defer r.wg.Done()
	rng := rand.New(rand.NewPCG(id, uint64(time.Now().UnixNano())))
	fixed := r.byName[class]
	for ctx.Err() == nil {
		if pacer != nil && pacer.Wait(ctx) != nil {
			return
		}
		task := fixed
		if task == nil {
			task = r.pick(rng)
		}
		// A started iteration runs to its end even when the user is stopped:
		// cut short, a transaction could reach the node without being
		// counted, and the counts would no longer match the chain.
		task.Run(context.WithoutCancel(ctx), r.cfg.Recorder)
	}
}

func (r *Runner) pick(rng *rand.Rand) tc.Task {
	if len(r.cfg.Tasks) == 1 {
		return r.cfg.Tasks[0].Task
	}
	n := rng.IntN(r.total)
	for _, t := range r.cfg.Tasks {
		if n < t.Weight {
			return t.Task
		}
		n -= t.Weight
	}
	return r.cfg.Tasks[len(r.cfg.Tasks)-1].Task
}
