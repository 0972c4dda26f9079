package report

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/klayslave/klayslave/runner"
	"github.com/klayslave/klayslave/stats"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// load feeds sink a minute of a bridge-like run: tx iterations decided by
// block, their send rows beside the total, failures of three kinds, and
// dropped iterations; blocks go to rec. seed picks the latencies.
func load(sink stats.Sink, blocks func(Block), seed uint64, c *clock) {
	rng := rand.New(rand.NewPCG(seed, 1))
	errFull := errors.New("txpool is full")
	errReverted := errors.New("reverted")
	var n uint64 = 100
	for s := 0; s < 60; s++ {
		ours := 0
		for i := 0; i < 20+s%7; i++ {
			due := c.now()
			lat := time.Duration(300+rng.IntN(1500)) * time.Millisecond
			var err error
			switch {
			case i%17 == 3:
				err = errFull
			case i%29 == 5:
				err = errReverted
			default:
				ours++
			}
			sink.Record(stats.Result{Method: "send", Name: "mcValueTransferTc send", Aside: true, Latency: lat / 20, End: due})
			sink.Record(stats.Result{Method: "tx", Name: "mcValueTransferTc", Latency: lat, Err: err, End: due.Add(lat)})
			if i%11 == 0 {
				sink.Record(stats.Result{Method: "rpc", Name: "rpcPing", Latency: time.Duration(1+rng.IntN(4)) * time.Millisecond, Bytes: 40, End: due})
			}
		}
		if s%13 == 0 {
			sink.Record(stats.Result{Method: runner.MethodIter, Name: runner.DroppedName, Aside: true, Err: runner.ErrDropped, End: c.now()})
		}
		if blocks != nil {
			blocks(Block{Chain: "main chain", Number: n, Time: c.now(), IntervalMs: 1000, Ours: ours, Txs: ours + 3, Gas: uint64(21000 * (ours + 3))})
		}
		n++
		c.add(time.Second)
	}
}

func TestTotalsEqualCollector(t *testing.T) {
	c := &clock{t: t0}
	col := stats.NewCollector(c.now)
	rec := New(Config{Now: c.now})
	load(stats.Tee{col, rec}, rec.Block, 1, c)
	rep, err := rec.Report(map[string]string{"tc": "mcValueTransferTc"})
	if err != nil {
		t.Fatal(err)
	}
	rows, total := col.Summary()
	if rep.Total.Requests != total.Requests || rep.Total.Failures != total.Failures {
		t.Errorf("total %d/%d, summary %d/%d", rep.Total.Requests, rep.Total.Failures, total.Requests, total.Failures)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	if rep.Total.P50Ms != ms(total.P50) || rep.Total.P99Ms != ms(total.P99) || rep.Total.MaxMs != ms(total.Max) {
		t.Errorf("total percentiles %v/%v/%v, summary %v/%v/%v", rep.Total.P50Ms, rep.Total.P99Ms, rep.Total.MaxMs, total.P50, total.P99, total.Max)
	}
	if len(rep.Rows) != len(rows) {
		t.Fatalf("%d rows, summary has %d", len(rep.Rows), len(rows))
	}
	for i, r := range rows {
		got := rep.Rows[i]
		if got.Name != r.Name || got.Method != r.Method || got.Aside != r.Aside || got.Requests != r.Requests ||
			got.Failures != r.Failures || got.P90Ms != ms(r.P90) {
			t.Errorf("row %d = %+v, summary %+v", i, got, r)
		}
	}
	var errs []Error
	for _, e := range col.Errors() {
		errs = append(errs, Error{Method: e.Method, Name: e.Name, Error: e.Error, Occurrences: e.Occurrences})
	}
	if !reflect.DeepEqual(rep.Errors, errs) {
		t.Errorf("errors %v, collector %v", rep.Errors, errs)
	}
	if rep.Dropped != 5 {
		t.Errorf("dropped %d, want 5", rep.Dropped)
	}
	if len(rep.Blocks) != 60 {
		t.Errorf("%d blocks, want 60", len(rep.Blocks))
	}
	var perSec int64
	for _, s := range rep.Seconds {
		perSec += s.Requests
	}
	if perSec != total.Requests {
		t.Errorf("the per-second series adds up to %d, the total is %d", perSec, total.Requests)
	}
}

// Two workers' reports merge into what one recorder of both streams holds.
func TestMergeEqualsOneRecorder(t *testing.T) {
	ca, cb, cboth := &clock{t: t0}, &clock{t: t0}, &clock{t: t0}
	a, b := New(Config{Now: ca.now}), New(Config{Now: cb.now})
	both := New(Config{Now: cboth.now})
	// Both workers see the chain's blocks; each counts its own txs in them.
	var mu sync.Mutex
	blocks := map[uint64]Block{}
	seen := func(rec *Recorder) func(Block) {
		return func(bl Block) {
			rec.Block(bl)
			mu.Lock()
			defer mu.Unlock()
			if have, ok := blocks[bl.Number]; ok {
				have.Ours += bl.Ours
				bl = have
			}
			blocks[bl.Number] = bl
		}
	}
	load(stats.Tee{a, both}, seen(a), 1, ca)
	load(stats.Tee{b, both}, seen(b), 2, cb)
	ra, _ := a.Report(nil)
	rb, _ := b.Report(nil)
	want, _ := both.Report(nil)
	got, err := Merge(ra, rb)
	if err != nil {
		t.Fatal(err)
	}
	if got.Workers != 2 {
		t.Errorf("workers %d", got.Workers)
	}
	if !reflect.DeepEqual(got.Rows, want.Rows) || !reflect.DeepEqual(got.Total, want.Total) {
		t.Errorf("merged rows differ:\n%+v\n%+v", got.Total, want.Total)
	}
	if !reflect.DeepEqual(got.Errors, want.Errors) || got.Dropped != want.Dropped {
		t.Errorf("merged errors %v (%d dropped), want %v (%d)", got.Errors, got.Dropped, want.Errors, want.Dropped)
	}
	if len(got.Seconds) != len(want.Seconds) {
		t.Fatalf("%d seconds, want %d", len(got.Seconds), len(want.Seconds))
	}
	for i := range got.Seconds {
		g, w := got.Seconds[i], want.Seconds[i]
		if g.Time != w.Time || g.Requests != w.Requests || g.Failures != w.Failures || g.P99Ms != w.P99Ms {
			t.Errorf("second %d: %+v, want %+v", i, g, w)
		}
	}
	if len(got.Blocks) != len(blocks) {
		t.Fatalf("%d blocks, want %d (each once)", len(got.Blocks), len(blocks))
	}
	for _, bl := range got.Blocks {
		if w := blocks[bl.Number]; bl.Ours != w.Ours || bl.Txs != w.Txs || bl.Gas != w.Gas {
			t.Errorf("block %d: %+v, want %+v", bl.Number, bl, w)
		}
	}
	// A merged report merges again (three workers).
	again, err := Merge(got, ra)
	if err != nil || again.Workers != 3 || again.Total.Requests != want.Total.Requests+ra.Total.Requests {
		t.Errorf("merging a merged report: %d workers, %d requests, %v", again.Workers, again.Total.Requests, err)
	}
}

func TestMergeRefusesOtherFiles(t *testing.T) {
	if _, err := Merge(); err == nil {
		t.Error("merging nothing: no error")
	}
	bad := Report{Format: Format, Rows: []Row{{Name: "x", Histogram: "not base64!"}}}
	if _, err := Merge(bad); err == nil {
		t.Error("a broken histogram: no error")
	}
}

// Locust's percentile over rounded times; the wanted values are what
// locust.stats.calculate_response_time_percentile (2.12.1) returns.
func TestPercentileAsLocust(t *testing.T) {
	lat := map[int64]int64{10: 5, 20: 3, 300: 2}
	for p, want := range map[float64]int64{0.5: 20, 0.8: 300, 0.9: 300, 1: 300, 0: 10} {
		if got := percentile(lat, p); got != want {
			t.Errorf("p%v = %d, want %d", p, got, want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("empty: %d", got)
	}
}

func TestNilRecorderIgnoresAll(t *testing.T) {
	var r *Recorder
	r.Record(stats.Result{Name: "x"})
	r.Block(Block{})
	r.Reset()
	r.Run(t.Context())
}

func ExampleMerge() {
	c := &clock{t: t0}
	a, b := New(Config{Now: c.now}), New(Config{Now: c.now})
	a.Record(stats.Result{Method: "tx", Name: "mcValueTransferTc", Latency: time.Second})
	b.Record(stats.Result{Method: "tx", Name: "mcValueTransferTc", Latency: 3 * time.Second, Err: errors.New("reverted")})
	ra, _ := a.Report(nil)
	rb, _ := b.Report(nil)
	m, _ := Merge(ra, rb)
	fmt.Println(m.Workers, m.Total.Requests, m.Total.Failures, m.Errors[0].Error)
	// Output: 2 2 1 reverted
}
