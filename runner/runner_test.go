package runner

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klayslave/klayslave/stats"
	"github.com/klayslave/klayslave/tc"
)

// countTask counts its iterations and sleeps a little, like a request.
type countTask struct{ n atomic.Int64 }

func (c *countTask) Run(ctx context.Context, _ stats.Recorder) {
	c.n.Add(1)
	select {
	case <-ctx.Done():
	case <-time.After(time.Millisecond):
	}
}

func TestSpawnIsAbsoluteAndStopsNewestFirst(t *testing.T) {
	a, b := &countTask{}, &countTask{}
	r := New(Config{Tasks: []Task{{Name: "a", Task: a}, {Name: "b", Task: b}}, Recorder: stats.NewCollector(nil)})
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
	time.Sleep(20 * time.Millisecond)
	r.StopAll()
	if r.UserCount() != 0 {
		t.Fatalf("users left after StopAll: %d", r.UserCount())
	}
	nb := b.n.Load()
	time.Sleep(10 * time.Millisecond)
	if b.n.Load() != nb {
		t.Fatal("a user kept running after StopAll returned")
	}
}

func TestClassNamedAfterCaseRunsOnlyThatCase(t *testing.T) {
	a, b := &countTask{}, &countTask{}
	r := New(Config{Tasks: []Task{{Name: "a", Task: a}, {Name: "b", Task: b}}})
	r.Spawn(map[string]int{"b": 4})
	time.Sleep(30 * time.Millisecond)
	r.StopAll()
	if a.n.Load() != 0 || b.n.Load() == 0 {
		t.Fatalf("a ran %d, b ran %d; want only b", a.n.Load(), b.n.Load())
	}
}

func TestWeightsSplitIterations(t *testing.T) {
	var na, nb atomic.Int64
	a := tc.TaskFunc(func(context.Context, stats.Recorder) { na.Add(1) })
	b := tc.TaskFunc(func(context.Context, stats.Recorder) { nb.Add(1) })
	r := New(Config{Tasks: []Task{{Name: "a", Weight: 3, Task: a}, {Name: "b", Weight: 1, Task: b}}, MaxRPS: 4000})
	r.Spawn(map[string]int{"User": 4})
	time.Sleep(time.Second)
	r.StopAll()
	ratio := float64(na.Load()) / float64(nb.Load())
	if ratio < 2.5 || ratio > 3.5 {
		t.Fatalf("a:b = %d:%d (%.2f), want about 3", na.Load(), nb.Load(), ratio)
	}
}

func TestPacerRampRises(t *testing.T) {
	p := NewPacer(100, 10*time.Second)
	if got := p.limitAt(0); got != 1 {
		t.Errorf("limit at start = %v, want 1", got)
	}
	if got := p.limitAt(5 * time.Second); got != 50 {
		t.Errorf("limit half-way = %v, want 50", got)
	}
	if got := p.limitAt(time.Minute); got != 100 {
		t.Errorf("limit after ramp = %v, want 100", got)
	}
}

func TestPacerStopsOnCancel(t *testing.T) {
	p := NewPacer(0.001, 0)
	_ = p.Wait(context.Background()) // takes the one token
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = p.Wait(ctx) }()
	wg.Wait() // returns once ctx is done, not after 1000 s
}
