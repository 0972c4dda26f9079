package runner

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klayslave/klayslave/stats"
)

// countTask counts its iterations and waits d (or until cancelled), like a
// request; it records one result per iteration.
type countTask struct {
	n atomic.Int64
	d time.Duration
}

func (c *countTask) Run(ctx context.Context, it Iteration, out stats.Sink) {
	c.n.Add(1)
	t := time.NewTimer(max(c.d, time.Millisecond))
	defer t.Stop()
	select {
	case <-ctx.Done():
		out.Record(it.Result("t", "count", ctx.Err()))
	case <-t.C:
		out.Record(it.Result("t", "count", nil))
	}
}

// results keeps every result.
type results struct {
	mu  sync.Mutex
	all []stats.Result
}

func (r *results) Record(x stats.Result) {
	r.mu.Lock()
	r.all = append(r.all, x)
	r.mu.Unlock()
}

func (r *results) count(pred func(stats.Result) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, x := range r.all {
		if pred(x) {
			n++
		}
	}
	return n
}

// eventually waits up to 5 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func stopNow(r *Runner) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r.Stop(ctx)
}

func TestSpawnIsAbsoluteAndStopsNewestFirst(t *testing.T) {
	a, b := &countTask{}, &countTask{}
	r := New(Config{Tasks: []Named{{Name: "a", Task: a}, {Name: "b", Task: b}}, Sink: stats.NewCollector(nil)})
	r.Spawn(map[string]int{"a": 3, "Other": 2})
	if got := r.Counts(); got["a"] != 3 || got["Other"] != 2 || r.UserCount() != 5 {
		t.Fatalf("counts = %v", got)
	}
	r.Spawn(map[string]int{"a": 1, "Other": 0})
	if got := r.Counts(); got["a"] != 1 || got["Other"] != 0 || r.UserCount() != 1 {
		t.Fatalf("after shrinking: %v", got)
	}
	// A class missing from the next spawn message has no users.
	r.Spawn(map[string]int{"b": 2})
	if got := r.Counts(); got["a"] != 0 || got["b"] != 2 {
		t.Fatalf("after switching class: %v", got)
	}
	eventually(t, "b to run", func() bool { return b.n.Load() > 0 })
	stopNow(r)
	if r.UserCount() != 0 || r.InFlight() != 0 {
		t.Fatalf("after Stop: %d users, %d iterations in flight", r.UserCount(), r.InFlight())
	}
	nb := b.n.Load()
	time.Sleep(10 * time.Millisecond) // nothing may happen: no condition to wait for
	if b.n.Load() != nb {
		t.Fatal("a user kept running after Stop returned")
	}
}

func TestClassNamedAfterCaseRunsOnlyThatCase(t *testing.T) {
	a, b := &countTask{}, &countTask{}
	r := New(Config{Tasks: []Named{{Name: "a", Task: a}, {Name: "b", Task: b}}, Sink: &results{}})
	r.Spawn(map[string]int{"b": 4})
	eventually(t, "b to run 20 times", func() bool { return b.n.Load() >= 20 })
	stopNow(r)
	if a.n.Load() != 0 {
		t.Fatalf("a ran %d times; want only b", a.n.Load())
	}
}

func TestWeightsSplitIterations(t *testing.T) {
	var na, nb atomic.Int64
	a := TaskFunc(func(context.Context, Iteration, stats.Sink) { na.Add(1) })
	b := TaskFunc(func(context.Context, Iteration, stats.Sink) { nb.Add(1) })
	r := New(Config{Tasks: []Named{{Name: "a", Weight: 3, Task: a}, {Name: "b", Weight: 1, Task: b}}, Sink: &results{}, MaxRPS: 4000})
	r.Spawn(map[string]int{"User": 4})
	eventually(t, "2,000 iterations", func() bool { return na.Load()+nb.Load() >= 2000 })
	stopNow(r)
	ratio := float64(na.Load()) / float64(nb.Load())
	if ratio < 2.5 || ratio > 3.5 {
		t.Fatalf("a:b = %d:%d (%.2f), want about 3", na.Load(), nb.Load(), ratio)
	}
}

// With one user busy 100 ms per iteration and 50 iterations due per
// second, the user can take one in five: the rest are dropped and counted,
// never queued, and every taken iteration keeps its own due time.
func TestOpenModelDropsWhatNoUserTakes(t *testing.T) {
	var mu sync.Mutex
	var taken []Iteration
	task := TaskFunc(func(_ context.Context, it Iteration, out stats.Sink) {
		mu.Lock()
		taken = append(taken, it)
		mu.Unlock()
		time.Sleep(100 * time.Millisecond)
		out.Record(it.Result("t", "count", nil))
	})
	res := &results{}
	r := New(Config{Tasks: []Named{{Name: "t", Task: task}}, Sink: res, MaxRPS: 50})
	r.Spawn(map[string]int{"User": 1})
	eventually(t, "10 iterations", func() bool { mu.Lock(); defer mu.Unlock(); return len(taken) >= 10 })
	stopNow(r)
	mu.Lock()
	defer mu.Unlock()
	ran, dropped := int64(len(taken)), r.Dropped()
	if dropped < 3*ran {
		t.Fatalf("ran %d, dropped %d; want about 4 dropped per run", ran, dropped)
	}
	if got := res.count(func(x stats.Result) bool {
		return x.Name == DroppedName && x.Aside && errors.Is(x.Err, ErrDropped)
	}); int64(got) != dropped {
		t.Fatalf("%d dropped rows recorded, %d counted", got, dropped)
	}
	// Each taken iteration is due at its own slot, t0 + seq/50: none was
	// queued behind another and handed out with a later time.
	for _, it := range taken[1:] {
		want := taken[0].Due.Add(time.Duration(it.Seq-taken[0].Seq) * 20 * time.Millisecond)
		if d := it.Due.Sub(want); d < -time.Microsecond || d > time.Microsecond {
			t.Fatalf("iteration %d due at %v, want %v", it.Seq, it.Due, want)
		}
		if it.Start.Before(it.Due) {
			t.Fatalf("iteration %d started before it was due", it.Seq)
		}
	}
	if last := taken[len(taken)-1]; last.Seq-taken[0].Seq < uint64(3*(len(taken)-1)) {
		t.Fatalf("taken iterations %d..%d: the skipped slots were not dropped", taken[0].Seq, last.Seq)
	}
}

// firstTask notes the first iteration a user ran.
type firstTask struct {
	countTask
	once  sync.Once
	first Iteration
}

func (f *firstTask) Run(ctx context.Context, it Iteration, out stats.Sink) {
	f.once.Do(func() { f.first = it })
	f.countTask.Run(ctx, it, out)
}

// The schedule starts when a user waits for work: its first iteration is
// never dropped for want of users that are still starting, and it is due
// when the schedule starts. (Later slots may be dropped on a loaded
// machine; that is the open model working.)
func TestOpenModelStartsWithItsUsers(t *testing.T) {
	for range 50 {
		task := &firstTask{countTask: countTask{d: time.Millisecond}}
		r := New(Config{Tasks: []Named{{Name: "t", Task: task}}, Sink: &results{}, MaxRPS: 200})
		before := time.Now()
		r.Spawn(map[string]int{"User": 4})
		eventually(t, "three iterations", func() bool { return task.n.Load() >= 3 })
		stopNow(r)
		task.once.Do(func() {})
		if f := task.first; f.Seq != 0 || f.Due.Before(before) || f.Start.Before(f.Due) {
			t.Fatalf("first iteration run: seq %d due %v after spawn, started %v after due; want seq 0",
				f.Seq, f.Due.Sub(before), f.Start.Sub(f.Due))
		}
	}
}

// A slow chain makes users late: the latency counts from the due time, so
// the wait for a free user is not hidden (no coordinated omission).
func TestLatencyCountsFromDueTime(t *testing.T) {
	var mu sync.Mutex
	var lat, work []time.Duration
	task := TaskFunc(func(_ context.Context, it Iteration, out stats.Sink) {
		// The scheduler is 30 ms late: latency must include it.
		time.Sleep(5 * time.Millisecond)
		x := it.Result("t", "t", nil)
		mu.Lock()
		lat, work = append(lat, x.Latency), append(work, x.Work)
		mu.Unlock()
	})
	it := Iteration{Due: time.Now().Add(-30 * time.Millisecond), Start: time.Now()}
	task.Run(context.Background(), it, &results{})
	if lat[0] < 35*time.Millisecond || work[0] >= lat[0]-25*time.Millisecond {
		t.Fatalf("latency %v, work %v; want latency ≥ 35 ms and work ≈ 5 ms", lat[0], work[0])
	}
}

// Stop gives calls in flight until its context ends, then cancels them;
// they are counted, and Stop returns within the grace plus a little.
func TestStopCancelsCallsInFlightAfterGrace(t *testing.T) {
	block := TaskFunc(func(ctx context.Context, it Iteration, out stats.Sink) {
		<-ctx.Done() // a call that never answers
		out.Record(it.Result("t", "slow", ctx.Err()))
	})
	res := &results{}
	r := New(Config{Tasks: []Named{{Name: "slow", Task: block}}, Sink: res})
	r.Spawn(map[string]int{"User": 20})
	eventually(t, "20 calls in flight", func() bool { return r.InFlight() == 20 })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	r.Stop(ctx)
	if took := time.Since(start); took < 190*time.Millisecond || took > time.Second {
		t.Fatalf("Stop took %v; want the 200 ms grace and little more", took)
	}
	if got := res.count(func(x stats.Result) bool { return errors.Is(x.Err, context.Canceled) }); got != 20 {
		t.Fatalf("%d cancelled calls counted, want 20", got)
	}
}

// A test case that ignores its context cannot hold Stop for long.
func TestStopIsBoundedWhenACaseIgnoresCancellation(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	stuck := TaskFunc(func(context.Context, Iteration, stats.Sink) { <-release })
	r := New(Config{Tasks: []Named{{Name: "stuck", Task: stuck}}, Sink: &results{}})
	r.Spawn(map[string]int{"User": 3})
	eventually(t, "3 calls in flight", func() bool { return r.InFlight() == 3 })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	r.Stop(ctx)
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Fatalf("Stop took %v; want ≤ grace + 1 s", took)
	}
}

func TestPanicIsRecoveredCountedAndReported(t *testing.T) {
	var calls atomic.Int64
	boom := TaskFunc(func(context.Context, Iteration, stats.Sink) {
		calls.Add(1)
		panic("boom")
	})
	var reported atomic.Int64
	var stack atomic.Value
	res := &results{}
	r := New(Config{Tasks: []Named{{Name: "boom", Task: boom}}, Sink: res, MaxRPS: 100,
		OnPanic: func(task string, v any, st []byte) {
			if task == "boom" && v == "boom" {
				reported.Add(1)
				stack.Store(string(st))
			}
		}})
	r.Spawn(map[string]int{"User": 2})
	eventually(t, "5 panics", func() bool { return reported.Load() >= 5 })
	stopNow(r)
	if got := res.count(func(x stats.Result) bool {
		return x.Name == "boom" && !x.Aside && x.Err != nil && strings.Contains(x.Err.Error(), "panic: boom")
	}); int64(got) != calls.Load() {
		t.Fatalf("%d failures recorded for %d panics", got, calls.Load())
	}
	if s, _ := stack.Load().(string); !strings.Contains(s, "runner_test.go") {
		t.Fatalf("stack does not show the test case: %q", s)
	}
}

func TestConfigValidate(t *testing.T) {
	errs := Config{MaxRPS: -1, Ramp: -time.Second}.Validate()
	if len(errs) != 4 {
		t.Fatalf("Validate() = %v, want 4 problems", errs)
	}
	if errs := (Config{Tasks: []Named{{Name: "a"}}, Sink: &results{}}).Validate(); len(errs) != 0 {
		t.Fatalf("valid config: %v", errs)
	}
}

func TestInterleave(t *testing.T) {
	got := interleave([]int{60, 10, 40, 10, 20})
	want := []int{6, 1, 4, 1, 2} // divided by their gcd
	if len(got) != 14 {
		t.Fatalf("interleave = %v: want one round of 14", got)
	}
	// Every prefix of the round is within one pick of the weights.
	seen := make([]int, len(want))
	for n, i := range got {
		seen[i]++
		for j, w := range want {
			if exact := float64((n+1)*w) / 14; float64(seen[j]) < exact-1 || float64(seen[j]) > exact+1 {
				t.Fatalf("interleave = %v: after %d picks case %d has %d, want %.1f±1", got, n+1, j, seen[j], exact)
			}
		}
	}
	if got := interleave([]int{1}); len(got) != 1 {
		t.Fatalf("one case: %v", got)
	}
}

// TestWeightsExact checks that users running several cases give each its
// weight's share: exactly, over whole rounds of picks.
func TestWeightsExact(t *testing.T) {
	var mu sync.Mutex
	counts := map[string]int{}
	task := TaskFunc(func(_ context.Context, it Iteration, out stats.Sink) {})
	sink := sinkFunc(func(stats.Result) {})
	var tasks []Named
	for _, w := range []struct {
		name string
		w    int
	}{{"a", 3}, {"b", 1}, {"c", 0}} {
		name := w.name
		tasks = append(tasks, Named{Name: name, Weight: w.w, Task: TaskFunc(func(ctx context.Context, it Iteration, out stats.Sink) {
			mu.Lock()
			counts[name]++
			mu.Unlock()
			task.Run(ctx, it, out)
		})})
	}
	r := New(Config{Tasks: tasks, Sink: sink})
	for range 5000 {
		r.runOne(context.Background(), r.pick(), Iteration{})
	}
	if counts["a"] != 3000 || counts["b"] != 1000 || counts["c"] != 1000 {
		t.Fatalf("counts %v, want a 3000, b 1000, c 1000", counts)
	}
	if errs := (Config{Tasks: []Named{{Name: "x", Weight: MaxWeight + 1, Task: task}}, Sink: sink}).Validate(); len(errs) != 1 {
		t.Fatalf("a weight above MaxWeight: %v", errs)
	}
}

type sinkFunc func(stats.Result)

func (f sinkFunc) Record(r stats.Result) { f(r) }
