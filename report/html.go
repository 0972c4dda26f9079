package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"time"
)

// uPlot is vendored from npm (see assets/uplot/SOURCE.md) and embedded in
// every report.html, so that a report opens offline.
var (
	//go:embed assets/uplot/uPlot.iife.min.js
	uplotJS string
	//go:embed assets/uplot/uPlot.min.css
	uplotCSS string
	//go:embed assets/report.html.tmpl
	pageTemplate string
)

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms": fmtMs,
}).Parse(pageTemplate))

// Chart is one chart of the page: an x axis and its series, drawn by
// uPlot. Kind "time" has Unix seconds on x; "bars" and "blocks" have
// indices and numbers.
type Chart struct {
	ID     string   `json:"id"`
	Title  string   `json:"title"`
	Kind   string   `json:"kind"`
	X      []int64  `json:"x"`
	Labels []string `json:"labels,omitempty"` // bars: what each x is
	YLabel string   `json:"ylabel"`
	Series []Series `json:"series"`
}

// Series is one line (or the bars) of a chart.
type Series struct {
	Label string     `json:"label"`
	Color string     `json:"color"`
	Dash  bool       `json:"dash,omitempty"` // dashed: drawn over another line it may equal
	Data  []*float64 `json:"data"`           // nil: no value
}

// chainSummary is one chain's line under the tables.
type chainSummary struct {
	Chain             string
	First, Last       uint64
	Blocks, Ours, Txs int
	Gas               uint64
	TPS               float64
	MaxInterval       string
}

type view struct {
	R        Report
	Duration string
	Config   [][2]string
	Rows     []Row // iterations, Aggregated, then the rows beside it
	Chains   []chainSummary
	Charts   []Chart
	Omitted  []string // charts without data
	UPlotJS  template.JS
	UPlotCSS template.CSS
}

// WriteHTML writes the report as one self-contained HTML page.
func WriteHTML(w io.Writer, r Report) error {
	v := view{R: r, Duration: r.Ended.Sub(r.Started).Round(time.Second).String(),
		UPlotJS: template.JS(uplotJS), UPlotCSS: template.CSS(uplotCSS)}
	for k, val := range r.Config {
		v.Config = append(v.Config, [2]string{k, val})
	}
	sort.Slice(v.Config, func(i, j int) bool { return v.Config[i][0] < v.Config[j][0] })
	for _, row := range r.Rows {
		if !row.Aside {
			v.Rows = append(v.Rows, row)
		}
	}
	v.Rows = append(v.Rows, r.Total)
	for _, row := range r.Rows {
		if row.Aside {
			v.Rows = append(v.Rows, row)
		}
	}
	v.Chains = chains(r.Blocks)
	charts, omitted, err := r.charts()
	if err != nil {
		return err
	}
	v.Charts, v.Omitted = charts, omitted
	return page.Execute(w, v)
}

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"}

func f(v float64) *float64 { return &v }

// charts builds the page's charts from the report; a chart without data is
// named in omitted instead of being drawn empty.
func (r Report) charts() (out []Chart, omitted []string, err error) {
	// Per second: iterations and failures by when their outcome was known,
	// and each chain's included transactions of this run by block time.
	perChain := map[string]map[int64]int{}
	var chainNames []string
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, b := range r.Blocks {
		m := perChain[b.Chain]
		if m == nil {
			m = map[int64]int{}
			perChain[b.Chain] = m
			chainNames = append(chainNames, b.Chain)
		}
		t := b.Time.Unix()
		m[t] += b.Ours
		lo, hi = min(lo, t), max(hi, t)
	}
	for _, s := range r.Seconds {
		lo, hi = min(lo, s.Time), max(hi, s.Time)
	}
	sort.Strings(chainNames)
	if lo <= hi {
		by := map[int64]Second{}
		for _, s := range r.Seconds {
			by[s.Time] = s
		}
		rate := Chart{ID: "rate", Title: "Iterations per second and on-chain TPS (this run's transactions in blocks)", Kind: "time", YLabel: "per second"}
		lat := Chart{ID: "latency", Title: "Iteration latency percentiles per second", Kind: "time", YLabel: "ms"}
		rate.Series = []Series{{Label: "iterations/s", Color: palette[0]}, {Label: "failures/s", Color: palette[1]}}
		for i, c := range chainNames {
			rate.Series = append(rate.Series, Series{Label: "TPS on " + c, Color: palette[(2+i)%len(palette)], Dash: true})
		}
		rate.Series = append(rate.Series, Series{Label: "users", Color: "#999999"})
		lat.Series = []Series{{Label: "p50", Color: palette[0]}, {Label: "p90", Color: palette[4]}, {Label: "p99", Color: palette[1]}}
		for t := lo; t <= hi; t++ {
			s := by[t]
			rate.X = append(rate.X, t)
			lat.X = append(lat.X, t)
			rate.Series[0].Data = append(rate.Series[0].Data, f(float64(s.Requests)))
			rate.Series[1].Data = append(rate.Series[1].Data, f(float64(s.Failures)))
			for i, c := range chainNames {
				rate.Series[2+i].Data = append(rate.Series[2+i].Data, f(float64(perChain[c][t])))
			}
			rate.Series[len(rate.Series)-1].Data = append(rate.Series[len(rate.Series)-1].Data, f(float64(s.Users)))
			var p50, p90, p99 *float64
			if s.Requests > 0 {
				p50, p90, p99 = f(s.P50Ms), f(s.P90Ms), f(s.P99Ms)
			}
			lat.Series[0].Data = append(lat.Series[0].Data, p50)
			lat.Series[1].Data = append(lat.Series[1].Data, p90)
			lat.Series[2].Data = append(lat.Series[2].Data, p99)
		}
		out = append(out, rate)
		if r.Total.Requests > 0 {
			out = append(out, lat)
		} else {
			omitted = append(omitted, "latency percentiles: no iteration")
		}
	} else {
		omitted = append(omitted, "requests per second: no result", "latency percentiles: no iteration")
	}

	hist, err := r.latencyHistogram()
	if err != nil {
		return nil, nil, err
	}
	if hist != nil {
		out = append(out, *hist)
	} else {
		omitted = append(omitted, "latency histogram: no iteration")
	}

	for i, c := range chainNames {
		ch := Chart{ID: fmt.Sprintf("blocks%d", i), Title: "Transactions per block on " + c, Kind: "blocks", YLabel: "transactions",
			Series: []Series{{Label: "all", Color: palette[0]}, {Label: "this run's", Color: palette[2]}}}
		for _, b := range r.Blocks {
			if b.Chain != c {
				continue
			}
			ch.X = append(ch.X, int64(b.Number))
			ch.Series[0].Data = append(ch.Series[0].Data, f(float64(b.Txs)))
			ch.Series[1].Data = append(ch.Series[1].Data, f(float64(b.Ours)))
		}
		sortBlocksChart(&ch)
		out = append(out, ch)
	}
	if len(chainNames) == 0 {
		omitted = append(omitted, "transactions per block: no chain scanned (no case sends transactions)")
	}
	return out, omitted, nil
}

// sortBlocksChart orders a blocks chart by block number: uPlot wants x
// ascending.
func sortBlocksChart(ch *Chart) {
	idx := make([]int, len(ch.X))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return ch.X[idx[a]] < ch.X[idx[b]] })
	x := make([]int64, len(idx))
	for i, j := range idx {
		x[i] = ch.X[j]
	}
	ch.X = x
	for s := range ch.Series {
		d := make([]*float64, len(idx))
		for i, j := range idx {
			d[i] = ch.Series[s].Data[j]
		}
		ch.Series[s].Data = d
	}
}

// latencyHistogram is the distribution of inclusion latency: the rows of
// transactions decided by their block (method "tx", in the total), or of
// every iteration when no case sends transactions; in log-spaced bins.
func (r Report) latencyHistogram() (*Chart, error) {
	title := "Inclusion latency (due time → block holding the transaction)"
	h := newHist()
	for _, row := range r.Rows {
		if row.Method != "tx" || row.Aside {
			continue
		}
		rh, err := row.hist()
		if err != nil {
			return nil, err
		}
		h.Merge(rh)
	}
	if h.TotalCount() == 0 {
		title = "Iteration latency"
		th, err := r.Total.hist()
		if err != nil {
			return nil, err
		}
		h = th
	}
	if h.TotalCount() == 0 {
		return nil, nil
	}
	const bins = 30
	lo, hi := float64(h.Min()), float64(h.Max()+1)
	ratio := math.Pow(hi/lo, 1.0/bins)
	counts := make([]float64, bins)
	for _, bar := range h.Distribution() {
		if bar.Count == 0 {
			continue
		}
		v := float64(max(bar.From, 1))
		i := 0
		if ratio > 1 {
			i = int(math.Log(v/lo) / math.Log(ratio))
		}
		counts[min(max(i, 0), bins-1)] += float64(bar.Count)
	}
	ch := Chart{ID: "histogram", Title: title, Kind: "bars", YLabel: "transactions",
		Series: []Series{{Label: "count", Color: palette[0]}}}
	if title == "Iteration latency" {
		ch.YLabel = "iterations"
	}
	for i := 0; i < bins; i++ {
		edge := lo * math.Pow(ratio, float64(i))
		ch.X = append(ch.X, int64(i))
		ch.Labels = append(ch.Labels, fmtMs(edge/1000))
		ch.Series[0].Data = append(ch.Series[0].Data, f(counts[i]))
	}
	return &ch, nil
}

// chains sums up each chain's blocks as the terminal's summary does.
func chains(blocks []Block) []chainSummary {
	by := map[string]*chainSummary{}
	var names []string
	var maxIv = map[string]float64{}
	var spanMs = map[string]float64{}
	for _, b := range blocks {
		c := by[b.Chain]
		if c == nil {
			c = &chainSummary{Chain: b.Chain, First: b.Number, Last: b.Number}
			by[b.Chain] = c
			names = append(names, b.Chain)
		}
		c.First, c.Last = min(c.First, b.Number), max(c.Last, b.Number)
		c.Blocks++
		c.Ours += b.Ours
		c.Txs += b.Txs
		c.Gas += b.Gas
		maxIv[b.Chain] = max(maxIv[b.Chain], b.IntervalMs)
		spanMs[b.Chain] += b.IntervalMs
	}
	sort.Strings(names)
	var out []chainSummary
	for _, n := range names {
		c := by[n]
		if spanMs[n] > 0 {
			c.TPS = float64(c.Ours) / (spanMs[n] / 1000)
		}
		c.MaxInterval = fmtMs(maxIv[n])
		out = append(out, *c)
	}
	return out
}

// fmtMs formats milliseconds with a precision that suits them.
func fmtMs(v float64) string {
	switch {
	case v >= 10000:
		return fmt.Sprintf("%.1fs", v/1000)
	case v >= 10:
		return fmt.Sprintf("%.0fms", v)
	default:
		return fmt.Sprintf("%.2fms", v)
	}
}
