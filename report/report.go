// Package report keeps what a run leaves behind. A Recorder consumes the
// run's results (it is a stats.Sink) and the blocks the scanners see; at
// the end its Report is written as report.json, Locust-format CSVs and one
// self-contained report.html. Reports of several workers merge into one.
package report

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/klayslave/klayslave/runner"
	"github.com/klayslave/klayslave/stats"
)

// Format names the JSON layout; Merge refuses any other.
const Format = "klayslave-report/1"

// Report is the JSON document: everything a run leaves behind.
type Report struct {
	Format  string    `json:"format"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended"`
	// Workers is how many workers' reports this one holds (1 unless merged).
	Workers int `json:"workers"`
	// Config is the run's configuration as the wiring gives it; it must
	// hold no key.
	Config map[string]string `json:"config,omitempty"`
	Rows   []Row             `json:"rows"`
	Total  Row               `json:"total"`
	// Seconds is one entry per second that saw a result or a user count,
	// by when the outcome was known (Result.End).
	Seconds []Second `json:"seconds"`
	// Blocks are the blocks of the load, per chain, in the scanners' order.
	Blocks  []Block `json:"blocks"`
	Errors  []Error `json:"errors"`
	Dropped int64   `json:"dropped"`
}

// Row is one line of the summary table; times in milliseconds.
type Row struct {
	Method   string  `json:"method"`
	Name     string  `json:"name"`
	Aside    bool    `json:"aside,omitempty"` // beside the Aggregated total
	Requests int64   `json:"requests"`
	Failures int64   `json:"failures"`
	Bytes    int64   `json:"bytes"`
	AvgMs    float64 `json:"avg_ms"`
	MinMs    float64 `json:"min_ms"`
	P50Ms    float64 `json:"p50_ms"`
	P90Ms    float64 `json:"p90_ms"`
	P99Ms    float64 `json:"p99_ms"`
	P999Ms   float64 `json:"p99_9_ms"`
	MaxMs    float64 `json:"max_ms"`
	// Histogram is the latency HDR histogram (microseconds) in the
	// HdrHistogram V2 compressed, base64 encoding, so reports merge
	// exactly.
	Histogram string `json:"histogram"`
}

// Second is one second of the load: iterations (the rows in the total)
// whose outcome was known in it, and the users running then.
type Second struct {
	Time     int64   `json:"t"` // Unix seconds
	Users    int     `json:"users"`
	Requests int64   `json:"requests"`
	Failures int64   `json:"failures"`
	Bytes    int64   `json:"bytes"`
	P50Ms    float64 `json:"p50_ms"`
	P90Ms    float64 `json:"p90_ms"`
	P99Ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
	// Latency counts the second's response times rounded as Locust rounds
	// them (stats.Bucket, ms): small, and it merges by adding.
	Latency map[int64]int64 `json:"latency,omitempty"`
}

// Block is one block a scanner saw during the load.
type Block struct {
	Chain      string    `json:"chain"`
	Number     uint64    `json:"number"`
	Time       time.Time `json:"time"`
	IntervalMs float64   `json:"interval_ms"` // since the previous block; 0 for the first scanned
	Ours       int       `json:"ours"`        // this run's transactions
	Txs        int       `json:"txs"`         // all transactions
	Gas        uint64    `json:"gas"`
}

// Error is one row of the failures table.
type Error struct {
	Method      string `json:"method"`
	Name        string `json:"name"`
	Error       string `json:"error"`
	Occurrences int64  `json:"occurrences"`
}

// Histogram range, as stats.Collector's: 1 µs to 1 hour, 3 significant
// digits, so the report's percentiles are the summary table's.
const histMax = int64(time.Hour / time.Microsecond)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, histMax, 3) }

// Config configures a Recorder. Zero values take the defaults.
type Config struct {
	Now   func() time.Time // default time.Now
	Users func() int       // users running now; nil: not sampled
}

// Recorder implements stats.Sink and observes blocks. Its methods are safe
// for concurrent use; a nil *Recorder ignores everything, so the wiring
// needs no condition where no report is asked for.
type Recorder struct {
	cfg Config

	mu      sync.Mutex
	started time.Time
	rows    map[rowKey]*acc
	total   *acc
	secs    map[int64]*sec
	blocks  []Block
	byBlock map[blockKey]int
	errs    map[Error]int64 // Occurrences is 0 in the key
	dropped int64
}

type rowKey struct{ method, name string }

type blockKey struct {
	chain  string
	number uint64
}

type acc struct {
	aside                     bool
	requests, failures, bytes int64
	hist                      *hdrhistogram.Histogram
}

type sec struct {
	users                     int
	requests, failures, bytes int64
	latency                   map[int64]int64
}

// New returns an empty Recorder, started now.
func New(cfg Config) *Recorder {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Recorder{cfg: cfg}
	r.Reset()
	return r
}

// Reset forgets everything: a new load starts now.
func (r *Recorder) Reset() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = r.cfg.Now()
	r.rows = map[rowKey]*acc{}
	r.total = &acc{hist: newHist()}
	r.secs = map[int64]*sec{}
	r.blocks = nil
	r.byBlock = map[blockKey]int{}
	r.errs = map[Error]int64{}
	r.dropped = 0
}

// Record implements stats.Sink.
func (r *Recorder) Record(res stats.Result) {
	if r == nil {
		return
	}
	us := min(max(res.Latency.Microseconds(), 1), histMax)
	end := res.End
	if end.IsZero() {
		end = r.cfg.Now()
	}
	failed := res.Err != nil
	r.mu.Lock()
	defer r.mu.Unlock()
	k := rowKey{res.Method, res.Name}
	a := r.rows[k]
	if a == nil {
		a = &acc{aside: res.Aside, hist: newHist()}
		r.rows[k] = a
	}
	a.add(us, res.Bytes, failed)
	if failed {
		r.errs[Error{Method: res.Method, Name: res.Name, Error: res.Err.Error()}]++
	}
	if res.Method == runner.MethodIter && res.Name == runner.DroppedName {
		r.dropped++
	}
	if res.Aside {
		return
	}
	r.total.add(us, res.Bytes, failed)
	s := r.second(end.Unix())
	s.requests++
	s.bytes += res.Bytes
	if failed {
		s.failures++
	}
	s.latency[stats.Bucket(float64(res.Latency)/float64(time.Millisecond))]++
}

func (a *acc) add(us, bytes int64, failed bool) {
	a.requests++
	a.bytes += bytes
	if failed {
		a.failures++
	}
	_ = a.hist.RecordValue(us) // in range by construction
}

func (r *Recorder) second(t int64) *sec {
	s := r.secs[t]
	if s == nil {
		s = &sec{latency: map[int64]int64{}}
		r.secs[t] = s
	}
	return s
}

// Block records a block a scanner saw. A block seen again (a rescan after a
// reorg) replaces the earlier one.
func (r *Recorder) Block(b Block) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k := blockKey{b.Chain, b.Number}
	if i, ok := r.byBlock[k]; ok {
		r.blocks[i] = b
		return
	}
	r.byBlock[k] = len(r.blocks)
	r.blocks = append(r.blocks, b)
}

// Run samples the user count once a second until ctx ends.
func (r *Recorder) Run(ctx context.Context) {
	if r == nil || r.cfg.Users == nil {
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			n := r.cfg.Users()
			t := r.cfg.Now().Unix()
			r.mu.Lock()
			r.second(t).users = n
			r.mu.Unlock()
		}
	}
}

// Report returns what was recorded since the last Reset, with config (the
// wiring's, holding no key).
func (r *Recorder) Report(config map[string]string) (Report, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := Report{Format: Format, Started: r.started, Ended: r.cfg.Now(), Workers: 1, Config: config,
		Blocks: append([]Block{}, r.blocks...), Dropped: r.dropped}
	for k, a := range r.rows {
		row, err := makeRow(k.method, k.name, a.aside, a.requests, a.failures, a.bytes, a.hist)
		if err != nil {
			return Report{}, err
		}
		rep.Rows = append(rep.Rows, row)
	}
	sortRows(rep.Rows)
	var err error
	rep.Total, err = makeRow("", "Aggregated", false, r.total.requests, r.total.failures, r.total.bytes, r.total.hist)
	if err != nil {
		return Report{}, err
	}
	for t, s := range r.secs {
		rep.Seconds = append(rep.Seconds, makeSecond(t, s.users, s.requests, s.failures, s.bytes, s.latency))
	}
	sort.Slice(rep.Seconds, func(i, j int) bool { return rep.Seconds[i].Time < rep.Seconds[j].Time })
	for e, n := range r.errs {
		e.Occurrences = n
		rep.Errors = append(rep.Errors, e)
	}
	sortErrors(rep.Errors)
	return rep, nil
}

func makeRow(method, name string, aside bool, reqs, fails, bytes int64, h *hdrhistogram.Histogram) (Row, error) {
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return Row{}, fmt.Errorf("encoding the latency histogram of %s: %w", name, err)
	}
	row := Row{Method: method, Name: name, Aside: aside, Requests: reqs, Failures: fails, Bytes: bytes, Histogram: string(enc)}
	if h.TotalCount() > 0 {
		ms := func(us int64) float64 { return float64(us) / 1000 }
		row.AvgMs = h.Mean() / 1000
		row.MinMs = ms(h.Min())
		row.P50Ms = ms(h.ValueAtQuantile(50))
		row.P90Ms = ms(h.ValueAtQuantile(90))
		row.P99Ms = ms(h.ValueAtQuantile(99))
		row.P999Ms = ms(h.ValueAtQuantile(99.9))
		row.MaxMs = ms(h.Max())
	}
	return row, nil
}

// hist decodes a row's histogram.
func (r Row) hist() (*hdrhistogram.Histogram, error) {
	if r.Histogram == "" {
		return newHist(), nil
	}
	h, err := hdrhistogram.Decode([]byte(r.Histogram))
	if err != nil {
		return nil, fmt.Errorf("row %q: bad histogram: %w", r.Name, err)
	}
	return h, nil
}

func makeSecond(t int64, users int, reqs, fails, bytes int64, lat map[int64]int64) Second {
	s := Second{Time: t, Users: users, Requests: reqs, Failures: fails, Bytes: bytes, Latency: lat}
	s.P50Ms = float64(percentile(lat, 0.50))
	s.P90Ms = float64(percentile(lat, 0.90))
	s.P99Ms = float64(percentile(lat, 0.99))
	s.MaxMs = float64(percentile(lat, 1))
	return s
}

// percentile is Locust's calculate_response_time_percentile over rounded
// response times: the smallest time that percent of the requests took at
// most.
func percentile(lat map[int64]int64, percent float64) int64 {
	var n int64
	keys := make([]int64, 0, len(lat))
	for k, c := range lat {
		n += c
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] > keys[j] })
	want := int64(float64(n) * percent)
	var done int64
	for _, k := range keys {
		done += lat[k]
		if n-done <= want {
			return k
		}
	}
	return 0
}

// sortRows orders rows by name, then method, as Locust sorts its entries.
func sortRows(rows []Row) {
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Name != rows[j].Name {
			return rows[i].Name < rows[j].Name
		}
		return rows[i].Method < rows[j].Method
	})
}

// sortErrors puts the most frequent first, as stats.Collector.Errors does.
func sortErrors(errs []Error) {
	sort.Slice(errs, func(i, j int) bool {
		if errs[i].Occurrences != errs[j].Occurrences {
			return errs[i].Occurrences > errs[j].Occurrences
		}
		return errs[i].Name+errs[i].Error < errs[j].Name+errs[j].Error
	})
}
