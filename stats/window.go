package stats

import (
	"sync"
	"time"
)

// Window counts results per row over the last few seconds: the live
// table's current req/s, which follows a ramp where the average since the
// start lags far behind. Locust's console shows the same (its current_rps,
// over 10 s). It implements Sink; the zero value is not usable, call
// NewWindow.
type Window struct {
	now   func() time.Time
	span  time.Duration
	slots int64 // of windowSlot each, the span and the slot under way

	mu    sync.Mutex
	start time.Time // the previous Reset
	rows  map[key]*ring
	total *ring // rows not aside, as Aggregated
}

// windowSlot is the resolution of a Window: a rate over 10 s is off by at
// most 1 % from where the window's oldest slot begins.
const windowSlot = 100 * time.Millisecond

// ring holds the counts of the last len(counts) slots.
type ring struct {
	slot   []int64 // the slot (time / windowSlot) each entry counts
	counts []int64
}

func newRing(n int64) *ring { return &ring{slot: make([]int64, n), counts: make([]int64, n)} }

func (r *ring) add(slot int64) {
	i := slot % int64(len(r.slot))
	if r.slot[i] != slot {
		r.slot[i], r.counts[i] = slot, 0
	}
	r.counts[i]++
}

// sum counts the results of the slots from `from` on.
func (r *ring) sum(from int64) int64 {
	var n int64
	for i, s := range r.slot {
		if s >= from {
			n += r.counts[i]
		}
	}
	return n
}

func slotOf(t time.Time) int64 { return t.UnixNano() / int64(windowSlot) }

// NewWindow returns a window of span (at least one slot). now is the
// clock; nil means time.Now.
func NewWindow(span time.Duration, now func() time.Time) *Window {
	if now == nil {
		now = time.Now
	}
	span = max(span, windowSlot)
	w := &Window{now: now, span: span, slots: int64(span/windowSlot) + 1}
	w.Reset()
	return w
}

// Reset forgets every count: a new load begins.
func (w *Window) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.start = w.now()
	w.rows = map[key]*ring{}
	w.total = newRing(w.slots)
}

// Record implements Sink.
func (w *Window) Record(r Result) {
	slot := slotOf(w.now())
	k := key{r.Method, r.Name}
	w.mu.Lock()
	defer w.mu.Unlock()
	rg := w.rows[k]
	if rg == nil {
		rg = newRing(w.slots)
		w.rows[k] = rg
	}
	rg.add(slot)
	if !r.Aside {
		w.total.add(slot)
	}
}

// RPS returns a row's results per second over the span (since the Reset
// when that is shorter). The "Aggregated" name with an empty method is the
// total of the rows not aside.
func (w *Window) RPS(method, name string) float64 {
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	rg := w.rows[key{method, name}]
	if method == "" && name == "Aggregated" {
		rg = w.total
	}
	from := now.Add(-w.span)
	if from.Before(w.start) {
		from = w.start
	}
	secs := now.Sub(from).Seconds()
	if rg == nil || secs < windowSlot.Seconds() {
		return 0
	}
	return float64(rg.sum(slotOf(from))) / secs
}
