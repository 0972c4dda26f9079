// Package runner runs users: goroutines that take iterations and run test
// cases. It owns an iteration's timing: with a rate (-max-rps) iteration i
// is due at t0 + Rate.Due(i) and a free user takes it, or it is dropped and
// counted (an open model, as k6's constant-arrival-rate executor); without a
// rate each user starts its next iteration at once (closed loop). Results
// flow as values to a stats.Sink. Both the Locust protocols and standalone
// mode drive it through Spawn and Stop.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klayslave/klayslave/stats"
)

// Iteration is one unit of work the runner hands a user.
type Iteration struct {
	Seq uint64
	// Due is when the iteration was due: its slot in the open model, the
	// moment a user took it in the closed loop. Latency is measured from
	// here, so a slot served late shows as latency.
	Due time.Time
	// Start is when a user started it; Work is measured from here.
	Start time.Time
}

// Result returns a result of this iteration ending now.
func (it Iteration) Result(method, name string, err error) stats.Result {
	return it.ResultAt(time.Now(), method, name, err)
}

// ResultAt returns a result of this iteration ending at end (for example a
// block's time).
func (it Iteration) ResultAt(end time.Time, method, name string, err error) stats.Result {
	return stats.Result{Method: method, Name: name, Latency: end.Sub(it.Due), Work: end.Sub(it.Start), Err: err, End: end}
}

// Task is what the runner calls: one iteration of a test case. It emits
// one iteration result (now or, for a transaction awaiting its block,
// later) and any aside results to out. It must be safe for concurrent use
// and return soon after ctx is cancelled.
type Task interface {
	Run(ctx context.Context, it Iteration, out stats.Sink)
}

// TaskFunc adapts a function to Task.
type TaskFunc func(ctx context.Context, it Iteration, out stats.Sink)

// Run implements Task.
func (f TaskFunc) Run(ctx context.Context, it Iteration, out stats.Sink) { f(ctx, it, out) }

// Named is a prepared test case.
type Named struct {
	Name   string
	Weight int // relative share; <= 0 means 1
	Task   Task
}

// MaxWeight bounds a case's weight: a round of picks holds the sum.
const MaxWeight = 10000

// Rows the runner records itself.
const (
	MethodIter  = "iter"
	DroppedName = "dropped iterations"
)

// ErrDropped is a dropped iteration's error: no user was free when it was due.
var ErrDropped = errors.New("dropped: no free user at its due time")

// Config is what a Runner needs.
type Config struct {
	Tasks []Named
	Sink  stats.Sink
	// MaxRPS is the arrival rate of iterations for this worker; 0 means
	// closed loop (each user starts its next iteration at once).
	MaxRPS float64
	// Ramp raises the rate linearly from 1/s to MaxRPS over this long,
	// from the moment the first user starts.
	Ramp time.Duration
	// OnPanic, if set, learns of a test case that panicked (the iteration
	// is recorded as a failure and the user goes on).
	OnPanic func(task string, v any, stack []byte)
	Log     *slog.Logger
}

// Validate returns every problem of the configuration.
func (c Config) Validate() []error {
	var errs []error
	if len(c.Tasks) == 0 {
		errs = append(errs, errors.New("no test case to run"))
	}
	if c.Sink == nil {
		errs = append(errs, errors.New("no result sink"))
	}
	if c.MaxRPS < 0 {
		errs = append(errs, fmt.Errorf("rate %v: want 0 (closed loop) or more", c.MaxRPS))
	}
	for _, t := range c.Tasks {
		if t.Weight > MaxWeight {
			errs = append(errs, fmt.Errorf("case %s: weight %d above %d", t.Name, t.Weight, MaxWeight))
		}
	}
	if c.Ramp < 0 {
		errs = append(errs, fmt.Errorf("ramp %v: want 0 or more", c.Ramp))
	}
	return errs
}

// Runner owns the users of one worker. Its methods are safe for concurrent use.
type Runner struct {
	cfg    Config
	byName map[string]Named
	// order is one round of the weighted cases, interleaved; users take
	// its entries in turn (picks), so the counts hold the weights exactly
	// over every round instead of only on average.
	order []int32
	picks atomic.Uint64

	mu    sync.Mutex
	users map[string][]context.CancelFunc // per user class, oldest first
	// test is the current test (from the first user to Stop); nil between
	// tests.
	test   *test
	wg     sync.WaitGroup
	nextID uint64

	dropped  atomic.Int64
	inflight atomic.Int64
}

// test is what lives from the first Spawn to Stop.
type test struct {
	// iterCtx is the context of iterations; it is cancelled when a stop's
	// grace ends, so calls in flight return.
	iterCtx    context.Context
	iterCancel context.CancelFunc
	// work hands out due iterations (open model); nil in the closed loop.
	work       chan Iteration
	stopSched  context.CancelFunc
	schedDone  chan struct{}
	closedSeq  atomic.Uint64
	schedStart time.Time
	// ready is closed when the first user waits for work: the schedule
	// starts then, so that its first iterations are not dropped for want
	// of users that are only starting.
	ready     chan struct{}
	readyOnce sync.Once
}

// New returns a runner with no users. It panics on an invalid
// configuration; call Config.Validate first.
func New(cfg Config) *Runner {
	if errs := cfg.Validate(); len(errs) > 0 {
		panic(errors.Join(errs...))
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	r := &Runner{byName: map[string]Named{}, users: map[string][]context.CancelFunc{}}
	cfg.Tasks = append([]Named(nil), cfg.Tasks...)
	weights := make([]int, len(cfg.Tasks))
	for i, t := range cfg.Tasks {
		if t.Weight <= 0 {
			cfg.Tasks[i].Weight = 1
		}
		weights[i] = cfg.Tasks[i].Weight
		r.byName[t.Name] = cfg.Tasks[i]
	}
	r.order = interleave(weights)
	r.cfg = cfg
	return r
}

// Spawn starts or stops users so that exactly counts[class] users run for
// each class, as Locust 2.x's absolute spawn message asks. A user whose class
// is a test-case name runs only that case; any other class runs the
// configured cases by weight. Users are stopped newest first; a stopped
// user finishes the iteration it is in.
func (r *Runner) Spawn(counts map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.test == nil {
		r.test = r.startTest()
	}
	for class, want := range counts {
		have := r.users[class]
		for len(have) < want {
			ctx, cancel := context.WithCancel(context.Background())
			have = append(have, cancel)
			r.nextID++
			r.wg.Add(1)
			go r.run(ctx, r.test, class, r.nextID)
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

func (r *Runner) startTest() *test {
	t := &test{}
	t.iterCtx, t.iterCancel = context.WithCancel(context.Background())
	if r.cfg.MaxRPS > 0 {
		var ctx context.Context
		ctx, t.stopSched = context.WithCancel(context.Background())
		t.work = make(chan Iteration)
		t.schedDone = make(chan struct{})
		t.ready = make(chan struct{})
		go r.schedule(ctx, t)
	}
	return t
}

// schedule offers iteration i to the users at its due time. An iteration
// no user takes at once is dropped and counted, never queued: a queue would
// hide that the users (and the chain behind them) no longer keep up.
func (r *Runner) schedule(ctx context.Context, t *test) {
	defer close(t.schedDone)
	select {
	case <-ctx.Done():
		return
	case <-t.ready:
	}
	t.schedStart = time.Now()
	// The first iteration waits for its user: the one that said it was
	// ready may not have reached its receive yet, and iteration 0 is the
	// schedule's start, not a slot a busy user can miss.
	select {
	case <-ctx.Done():
		return
	case t.work <- Iteration{Seq: 0, Due: t.schedStart}:
	}
	rate := Rate{Max: r.cfg.MaxRPS, Ramp: r.cfg.Ramp}
	timer := time.NewTimer(time.Until(t.schedStart.Add(rate.Due(1))))
	defer timer.Stop()
	i := uint64(1)
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		n := rate.Hits(time.Since(t.schedStart))
		for ; i < n && ctx.Err() == nil; i++ {
			it := Iteration{Seq: i, Due: t.schedStart.Add(rate.Due(i))}
			select {
			case t.work <- it:
			default:
				r.drop(it)
			}
		}
		timer.Reset(time.Until(t.schedStart.Add(rate.Due(i))))
	}
}

func (r *Runner) drop(it Iteration) {
	r.dropped.Add(1)
	r.cfg.Sink.Record(stats.Result{Method: MethodIter, Name: DroppedName, Aside: true, Err: ErrDropped})
}

// Names returns the names of the configured cases.
func (r *Runner) Names() []string {
	out := make([]string, len(r.cfg.Tasks))
	for i, t := range r.cfg.Tasks {
		out[i] = t.Name
	}
	return out
}

// Dropped returns how many iterations were dropped since the runner began.
func (r *Runner) Dropped() int64 { return r.dropped.Load() }

// InFlight returns how many iterations users are running now.
func (r *Runner) InFlight() int64 { return r.inflight.Load() }

// Stop stops every user: none takes a new iteration from now on. Iterations
// in flight get until ctx ends; then their context is cancelled, so that
// the calls they wait on return and are counted. Stop returns when every
// user has returned, or one second after that cancellation at the latest
// (a test case that ignores its context is logged and left behind).
func (r *Runner) Stop(ctx context.Context) {
	r.mu.Lock()
	for _, have := range r.users {
		for _, cancel := range have {
			cancel()
		}
	}
	r.users = map[string][]context.CancelFunc{}
	t := r.test
	r.test = nil
	r.mu.Unlock()
	if t == nil {
		return
	}
	if t.stopSched != nil {
		t.stopSched()
		<-t.schedDone
	}
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		t.iterCancel()
		return
	case <-ctx.Done():
	}
	t.iterCancel()
	timer := time.NewTimer(time.Second)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		r.cfg.Log.Warn("users still busy 1 s after their calls were cancelled; leaving them behind", "iterations", r.inflight.Load())
	}
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
	n := 0
	for _, have := range r.users {
		n += len(have)
	}
	return n
}

func (r *Runner) run(take context.Context, t *test, class string, id uint64) {
	defer r.wg.Done()
	fixed, isFixed := r.byName[class]
	for {
		var it Iteration
		if t.work != nil {
			t.readyOnce.Do(func() { close(t.ready) })
			select {
			case <-take.Done():
				return
			case it = <-t.work:
			}
			it.Start = time.Now()
		} else {
			if take.Err() != nil {
				return
			}
			now := time.Now()
			it = Iteration{Seq: t.closedSeq.Add(1) - 1, Due: now, Start: now}
		}
		task := fixed
		if !isFixed {
			task = r.pick()
		}
		r.runOne(t.iterCtx, task, it)
	}
}

// runOne runs one iteration; a panic is recovered, recorded as a failed
// iteration and reported, and the user goes on.
func (r *Runner) runOne(ctx context.Context, task Named, it Iteration) {
	r.inflight.Add(1)
	defer func() {
		r.inflight.Add(-1)
		if v := recover(); v != nil {
			stack := debug.Stack()
			r.cfg.Sink.Record(it.Result(MethodIter, task.Name, fmt.Errorf("panic: %v", v)))
			r.cfg.Log.Error("test case panicked", "case", task.Name, "panic", fmt.Sprint(v))
			if r.cfg.OnPanic != nil {
				r.cfg.OnPanic(task.Name, v, stack)
			}
		}
	}()
	task.Task.Run(ctx, it, r.cfg.Sink)
}

func (r *Runner) pick() Named {
	if len(r.cfg.Tasks) == 1 {
		return r.cfg.Tasks[0]
	}
	return r.cfg.Tasks[r.order[(r.picks.Add(1)-1)%uint64(len(r.order))]]
}

// interleave returns one round of smooth weighted round-robin (as nginx's
// upstreams): index i appears weights[i]/g times, g the weights' greatest
// common divisor, spread evenly, so that any stretch of picks is close to
// the weights and not only whole rounds.
func interleave(weights []int) []int32 {
	g := 0
	for _, w := range weights {
		g = gcd(g, w)
	}
	total := 0
	for i := range weights {
		weights[i] /= g
		total += weights[i]
	}
	cur := make([]int, len(weights))
	order := make([]int32, 0, total)
	for range total {
		best := 0
		for i, w := range weights {
			cur[i] += w
			if cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= total
		order = append(order, int32(best))
	}
	return order
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
