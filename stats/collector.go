package stats

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Error is one row of Locust's failures table.
type Error struct {
	Name        string
	Method      string
	Error       string
	Occurrences int64
}

// Report is the delta since the previous report: what a Locust worker sends.
type Report struct {
	Entries []*Entry // entries with at least one request, sorted by name, method
	Total   *Entry   // "Aggregated"; always present
	Errors  map[string]*Error
}

type key struct{ method, name string }

type errKey struct{ method, name, msg string }

// Collector implements Sink and produces delta reports and a cumulative
// summary. The zero value is not usable; call NewCollector.
type Collector struct {
	now func() time.Time

	mu      sync.Mutex
	entries map[key]*Entry
	total   *Entry
	errors  map[string]*Error
	// Cumulative view, never reset by Delta (only by Reset).
	cum     map[key]*cumulative
	cumErrs map[errKey]int64
	started time.Time
	// untimedFailures keeps failed requests out of the delta view's
	// response-time fields (see SetUntimedFailures).
	untimedFailures bool
}

type cumulative struct {
	requests, failures int64
	hist               *hdrhistogram.Histogram // microseconds
	aside              bool                    // beside the total
}

// Histogram range: 1 µs to 1 hour, 3 significant digits.
const histMax = int64(time.Hour / time.Microsecond)

// NewCollector returns an empty collector. now is the clock; nil means time.Now.
func NewCollector(now func() time.Time) *Collector {
	if now == nil {
		now = time.Now
	}
	c := &Collector{now: now}
	c.Reset()
	return c
}

// Reset clears both views, as a Locust worker does when a new test starts.
func (c *Collector) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.now()
	c.started = t
	c.entries = map[key]*Entry{}
	c.total = newEntry("Aggregated", "", unix(t))
	c.errors = map[string]*Error{}
	c.cum = map[key]*cumulative{}
	c.cumErrs = map[errKey]int64{}
}

// SetUntimedFailures(true) gives the delta view Locust 0.9's semantics: a
// failed request is still counted (NumRequests, NumFailures, per second)
// but its response time is not logged, so it adds nothing to
// TotalResponseTime, Min/MaxResponseTime or ResponseTimes; it counts in
// NumNoneRequests instead, as a request without a response time does in
// Locust 2.x. A 0.9 master averaged over successes only (it did not count
// failures in num_requests), so failures' times would inflate its average
// and percentiles. The cumulative view (Summary) is not affected.
func (c *Collector) SetUntimedFailures(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.untimedFailures = on
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// Success records a successful iteration (a convenience for tests).
func (c *Collector) Success(method, name string, elapsed time.Duration, contentLength int64) {
	c.Record(Result{Method: method, Name: name, Latency: elapsed, Bytes: contentLength})
}

// Failure records a failed iteration (a convenience for tests).
func (c *Collector) Failure(method, name string, elapsed time.Duration, err error) {
	if err == nil {
		err = fmt.Errorf("unknown error")
	}
	c.Record(Result{Method: method, Name: name, Latency: elapsed, Err: err})
}

// Record implements Sink. Aside rows are kept out of the Aggregated total.
func (c *Collector) Record(r Result) {
	c.log(r.Method, r.Name, r.Latency, r.Bytes, r.Err, r.Aside)
}

func (c *Collector) log(method, name string, elapsed time.Duration, contentLength int64, err error, aside bool) {
	now := unix(c.now())
	rt := float64(elapsed) / float64(time.Millisecond)
	us := elapsed.Microseconds()
	if us < 1 {
		us = 1
	}
	k := key{method, name}

	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[k]
	if e == nil {
		e = newEntry(name, method, c.total.StartTime)
		c.entries[k] = e
	}
	failed := err != nil
	timed := !failed || !c.untimedFailures
	e.log(now, rt, contentLength, failed, timed)
	if !aside {
		c.total.log(now, rt, contentLength, failed, timed)
	}
	if failed {
		msg := err.Error()
		ek := ErrorKey(method, name, msg)
		if r := c.errors[ek]; r != nil {
			r.Occurrences++
		} else {
			c.errors[ek] = &Error{Name: name, Method: method, Error: msg, Occurrences: 1}
		}
		c.cumErrs[errKey{method, name, msg}]++
	}

	cu := c.cum[k]
	if cu == nil {
		cu = &cumulative{hist: hdrhistogram.New(1, histMax, 3), aside: aside}
		c.cum[k] = cu
	}
	cu.requests++
	if failed {
		cu.failures++
	}
	_ = cu.hist.RecordValue(min(us, histMax)) // in range by construction
}

// ErrorKey is Locust's key for a failures row:
// sha256("{method}.{name}.{error!r}"). The master only merges by key, but
// using Locust's formula lets our rows merge with Python workers' rows.
func ErrorKey(method, name, msg string) string {
	sum := sha256.Sum256([]byte(method + "." + name + "." + PyRepr(msg)))
	return hex.EncodeToString(sum[:])
}

// PyRepr is Python's repr() of a str: single quotes unless the text holds a
// single quote and no double quote; backslash escapes for \\, the quote,
// \t \n \r and other control characters; printable Unicode as is.
func PyRepr(s string) string {
	quote := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == '\\' || r == rune(quote):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// Delta returns everything logged since the previous Delta (or Reset) and
// starts a new period, as Locust's get_stripped_report does.
func (c *Collector) Delta() Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	start := unix(c.now())
	r := Report{Total: c.total, Errors: c.errors}
	for _, e := range c.entries {
		if e.NumRequests > 0 || e.NumFailures > 0 {
			r.Entries = append(r.Entries, e)
		}
	}
	sort.Slice(r.Entries, func(i, j int) bool {
		a, b := r.Entries[i], r.Entries[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Method < b.Method
	})
	c.entries = map[key]*Entry{}
	c.total = newEntry("Aggregated", "", start)
	c.errors = map[string]*Error{}
	return r
}

// Row is one line of the standalone summary: cumulative since Reset.
type Row struct {
	Method, Name       string
	Aside              bool // beside the Aggregated total
	Requests, Failures int64
	Avg, Min, Max      time.Duration
	P50, P90, P99      time.Duration
	RPS                float64
}

// Summary returns one row per entry, sorted by name, and an "Aggregated" row.
func (c *Collector) Summary() (rows []Row, total Row) {
	c.mu.Lock()
	defer c.mu.Unlock()
	secs := c.now().Sub(c.started).Seconds()
	all := hdrhistogram.New(1, histMax, 3)
	total = Row{Name: "Aggregated"}
	for k, cu := range c.cum {
		r := row(k.method, k.name, cu.requests, cu.failures, cu.hist, secs)
		r.Aside = cu.aside
		rows = append(rows, r)
		if cu.aside {
			continue
		}
		all.Merge(cu.hist)
		total.Requests += cu.requests
		total.Failures += cu.failures
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Name != rows[j].Name {
			return rows[i].Name < rows[j].Name
		}
		return rows[i].Method < rows[j].Method
	})
	total = row("", "Aggregated", total.Requests, total.Failures, all, secs)
	return rows, total
}

func row(method, name string, reqs, fails int64, h *hdrhistogram.Histogram, secs float64) Row {
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	r := Row{Method: method, Name: name, Requests: reqs, Failures: fails}
	if h.TotalCount() > 0 {
		r.Avg = time.Duration(h.Mean() * float64(time.Microsecond))
		r.Min = us(h.Min())
		r.Max = us(h.Max())
		r.P50 = us(h.ValueAtQuantile(50))
		r.P90 = us(h.ValueAtQuantile(90))
		r.P99 = us(h.ValueAtQuantile(99))
	}
	if secs > 0 {
		r.RPS = float64(reqs) / secs
	}
	return r
}

// Errors returns every failure since Reset, most frequent first: the
// failures table of the standalone summary (Delta does not clear it).
func (c *Collector) Errors() []Error {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Error, 0, len(c.cumErrs))
	for k, n := range c.cumErrs {
		out = append(out, Error{Method: k.method, Name: k.name, Error: k.msg, Occurrences: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Occurrences != out[j].Occurrences {
			return out[i].Occurrences > out[j].Occurrences
		}
		return out[i].Name+out[i].Error < out[j].Name+out[j].Error
	})
	return out
}
