package stats

import (
	"testing"
	"time"
)

// During a ramp the window follows the current rate, where the average
// since the start lags behind.
func TestWindowFollowsARamp(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_000_000, 0)}
	w := NewWindow(10*time.Second, clk.now)
	// 30 s at 1/s, then 10 s at 100/s.
	for s := range 40 {
		n := 1
		if s >= 30 {
			n = 100
		}
		for range n {
			w.Record(Result{Method: "tx", Name: "a"})
			w.Record(Result{Method: "send", Name: "a send", Aside: true})
		}
		clk.t = clk.t.Add(time.Second)
	}
	if got := w.RPS("tx", "a"); got != 100 {
		t.Errorf("row = %v req/s, want 100 (the last 10 s)", got)
	}
	if got := w.RPS("", "Aggregated"); got != 100 {
		t.Errorf("Aggregated = %v req/s, want 100 (asides left out)", got)
	}
	clk.t = clk.t.Add(5 * time.Second)
	if got := w.RPS("tx", "a"); got != 50 {
		t.Errorf("5 s after the load = %v req/s, want 50", got)
	}
	if got := w.RPS("tx", "none"); got != 0 {
		t.Errorf("unknown row = %v", got)
	}
}

func TestWindowJustAfterResetUsesTheSecondsSoFar(t *testing.T) {
	clk := &fakeClock{t: time.Unix(2_000_000, 0)}
	w := NewWindow(10*time.Second, clk.now)
	if got := w.RPS("", "Aggregated"); got != 0 {
		t.Errorf("at the start = %v", got)
	}
	for range 2 {
		for range 30 {
			w.Record(Result{Method: "tx", Name: "a"})
		}
		clk.t = clk.t.Add(time.Second)
	}
	if got := w.RPS("tx", "a"); got != 30 {
		t.Errorf("after 2 s at 30/s = %v, want 30", got)
	}
}
