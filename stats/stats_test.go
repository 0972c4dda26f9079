package stats

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// Expected values were printed by Debian's python3 3.11 with Locust 2.12.1's
// formulas (round() and the sha256 error key).
func TestBucketMatchesPythonRound(t *testing.T) {
	cases := map[float64]int64{
		0: 0, 0.5: 0, 1.5: 2, 24.5: 24, 25.5: 26, 99.4: 99, 99.5: 100,
		145: 140, 147: 150, 155: 160, 999.4: 1000,
		1250: 1200, 3432: 3400, 9999: 10000, 58760: 59000,
	}
	for rt, want := range cases {
		if got := Bucket(rt); got != want {
			t.Errorf("Bucket(%v) = %d, want %d", rt, got, want)
		}
	}
}

func TestErrorKeyMatchesLocust(t *testing.T) {
	cases := []struct{ method, name, msg, want string }{
		{"POST", "rpcPing", "HTTP 500", "688f469d1372095114ffbd0dcee935ac00589d22981ae1fc1463dac9fda035f5"},
		{"GET", "/x", `it's "quoted"`, "cabd4f08e8f28416bab311ce782b0c2f9e1a797ce9e0bb2655235510a5eb06a3"},
		{"GET", "/x", "it's", "2039e33d1d5db16b14565e91d1d3436e0c272e137344fa52a6130562acdaca8c"},
		{"GET", "/x", "tab\there\nnl\\ é", "c25df3ced80eee08d51cc543f100ea20d5956f894338a52489de445a92c32bfb"},
	}
	for _, c := range cases {
		if got := ErrorKey(c.method, c.name, c.msg); got != c.want {
			t.Errorf("ErrorKey(%q) = %s, want %s", c.msg, got, c.want)
		}
	}
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestDeltaResetsAndSummaryAccumulates(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	c := NewCollector(clk.now)
	c.Success("POST", "a", 20*time.Millisecond, 10)
	c.Success("POST", "a", 40*time.Millisecond, 10)
	c.Failure("POST", "b", 5*time.Millisecond, errors.New("boom"))
	clk.t = clk.t.Add(3 * time.Second)

	r := c.Delta()
	if len(r.Entries) != 2 || r.Entries[0].Name != "a" || r.Entries[1].Name != "b" {
		t.Fatalf("entries = %+v", r.Entries)
	}
	a := r.Entries[0]
	if a.NumRequests != 2 || a.TotalResponseTime != 60 || a.MinResponseTime != 20 || a.MaxResponseTime != 40 || a.TotalContentLength != 20 {
		t.Errorf("entry a = %+v", a)
	}
	if a.ResponseTimes[20] != 1 || a.ResponseTimes[40] != 1 || a.NumReqsPerSec[1000] != 2 {
		t.Errorf("entry a buckets = %v %v", a.ResponseTimes, a.NumReqsPerSec)
	}
	if r.Total.NumRequests != 3 || r.Total.NumFailures != 1 || r.Total.StartTime != 1000 {
		t.Errorf("total = %+v", r.Total)
	}
	if e := r.Errors[ErrorKey("POST", "b", "boom")]; e == nil || e.Occurrences != 1 {
		t.Errorf("errors = %+v", r.Errors)
	}

	// The next delta is empty and starts where the last one ended.
	r2 := c.Delta()
	if len(r2.Entries) != 0 || r2.Total.NumRequests != 0 || len(r2.Errors) != 0 || r2.Total.StartTime != 1003 {
		t.Errorf("second delta not empty: %+v", r2)
	}
	if r2.Total.HasMin || r2.Total.LastRequestTimestamp != 0 {
		t.Errorf("empty total must have no min and no last request: %+v", r2.Total)
	}

	// The summary still holds everything.
	rows, total := c.Summary()
	if len(rows) != 2 || total.Requests != 3 || total.Failures != 1 {
		t.Fatalf("summary = %+v %+v", rows, total)
	}
	if rows[0].P50 < 19*time.Millisecond || rows[0].P50 > 21*time.Millisecond || rows[0].Max < 39*time.Millisecond {
		t.Errorf("row a = %+v", rows[0])
	}
}

func TestExtendMergesLikeLocust(t *testing.T) {
	a := newEntry("x", "GET", 10)
	a.log(11, 5, 1, false, true)
	b := newEntry("x", "GET", 5)
	b.log(12, 50, 1, true, true)
	a.Extend(b)
	if a.NumRequests != 2 || a.NumFailures != 1 || a.MinResponseTime != 5 || a.MaxResponseTime != 50 ||
		a.StartTime != 5 || a.LastRequestTimestamp != 12 || a.NumFailPerSec[12] != 1 {
		t.Errorf("merged = %+v", a)
	}
}

// With untimed failures (Locust 0.9), a failure is counted but its time
// stays out of every response-time field, of the entry and of the total.
func TestUntimedFailures(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	c := NewCollector(clk.now)
	c.SetUntimedFailures(true)
	c.Success("POST", "a", 20*time.Millisecond, 10)
	c.Failure("POST", "a", 900*time.Millisecond, errors.New("timeout"))
	c.Failure("POST", "b", 5*time.Second, errors.New("boom"))
	r := c.Delta()
	if len(r.Entries) != 2 {
		t.Fatalf("entries = %+v", r.Entries)
	}
	for _, e := range []*Entry{r.Entries[0], r.Total} {
		if e.NumRequests != 2+boolInt(e == r.Total) || e.NumFailures != 1+boolInt(e == r.Total) ||
			e.NumNoneRequests != 1+boolInt(e == r.Total) {
			t.Errorf("%s counts = %+v", e.Name, e)
		}
		if e.TotalResponseTime != 20 || e.MaxResponseTime != 20 || !e.HasMin || e.MinResponseTime != 20 ||
			len(e.ResponseTimes) != 1 || e.ResponseTimes[20] != 1 {
			t.Errorf("%s times include a failure: %+v", e.Name, e)
		}
		if e.NumReqsPerSec[1000] != e.NumRequests || e.NumFailPerSec[1000] != e.NumFailures || e.LastRequestTimestamp != 1000 {
			t.Errorf("%s per-second counts = %+v", e.Name, e)
		}
	}
	b := r.Entries[1] // failures only: no min (nil on the wire), no times
	if b.NumRequests != 1 || b.NumFailures != 1 || b.HasMin || b.TotalResponseTime != 0 || b.MaxResponseTime != 0 || len(b.ResponseTimes) != 0 {
		t.Errorf("entry b = %+v", b)
	}
	if e := r.Errors[ErrorKey("POST", "b", "boom")]; e == nil || e.Occurrences != 1 {
		t.Errorf("errors = %+v", r.Errors)
	}
	// The cumulative summary keeps every time (it is the standalone view).
	if _, total := c.Summary(); total.Requests != 3 || total.Failures != 2 || total.Max < 4*time.Second {
		t.Errorf("summary total = %+v", total)
	}

	// Off again (the default): a failure's time counts.
	c.SetUntimedFailures(false)
	c.Failure("POST", "a", 900*time.Millisecond, errors.New("timeout"))
	if r := c.Delta(); r.Total.TotalResponseTime != 900 || r.Total.NumNoneRequests != 0 {
		t.Errorf("timed failure: total = %+v", r.Total)
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// Aside rows (send, inclusion, e2e, dropped) have their own entries but stay
// out of the Aggregated total, in the delta and in the summary.
func TestAsideRowsOutOfTotal(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	c := NewCollector(clk.now)
	c.Record(Result{Method: "tx", Name: "transfer", Latency: 10 * time.Millisecond})
	c.Record(Result{Method: "tx", Name: "transfer", Latency: 12 * time.Millisecond, Err: errors.New("reverted")})
	c.Record(Result{Method: "e2e", Name: "transfer", Aside: true, Latency: 3 * time.Second})
	c.Record(Result{Method: "dropped", Name: "transfer", Aside: true, Err: errors.New("behind schedule")})
	r := c.Delta()
	if len(r.Entries) != 3 {
		t.Fatalf("entries = %+v", r.Entries)
	}
	if r.Total.NumRequests != 2 || r.Total.NumFailures != 1 || r.Total.MaxResponseTime != 12 || r.Total.TotalResponseTime != 22 {
		t.Errorf("delta total = %+v, want the 2 iterations only", r.Total)
	}
	rows, total := c.Summary()
	if len(rows) != 3 || total.Requests != 2 || total.Failures != 1 || total.Max > 13*time.Millisecond {
		t.Errorf("summary total = %+v (rows %+v), want the 2 iterations only", total, rows)
	}
	var aside int
	for _, row := range rows {
		if row.Aside {
			aside++
		}
	}
	if aside != 2 {
		t.Errorf("summary rows = %+v, want 2 aside", rows)
	}
}

// Concurrent recording loses nothing (run with -race).
func TestConcurrentRecording(t *testing.T) {
	c := NewCollector(nil)
	var wg sync.WaitGroup
	for u := 0; u < 50; u++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				c.Success("POST", "x", time.Millisecond, 1)
				if i%50 == 0 {
					c.Delta() // a concurrent report must not lose records
				}
			}
		}()
	}
	wg.Wait()
	_, total := c.Summary()
	if total.Requests != 50*200 {
		t.Fatalf("summary counted %d, want %d", total.Requests, 50*200)
	}
}

// BenchmarkRecordParallel measures the per-request cost of recording one
// stat while many users record at once (run with -cpu and -benchtime).
func BenchmarkRecordParallel(b *testing.B) {
	c := NewCollector(nil)
	b.SetParallelism(500) // 2 cores × 500 = 1,000 concurrent recorders
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Success("POST", "rpcPing", 3*time.Millisecond, 100)
		}
	})
}

// The standalone failures table: every failure since Reset, Delta or not,
// most frequent first.
func TestErrorsAreCumulative(t *testing.T) {
	c := NewCollector(nil)
	c.Failure("tx", "a", 0, errors.New("txpool is full"))
	c.Delta()
	c.Failure("tx", "a", 0, errors.New("txpool is full"))
	c.Failure("tx", "b", 0, errors.New("reverted"))
	c.Success("tx", "b", 0, 0)
	got := c.Errors()
	if len(got) != 2 || got[0].Name != "a" || got[0].Occurrences != 2 || got[1].Error != "reverted" || got[1].Occurrences != 1 {
		t.Fatalf("Errors() = %+v", got)
	}
	c.Reset()
	if len(c.Errors()) != 0 {
		t.Fatal("Reset kept the failures")
	}
}
