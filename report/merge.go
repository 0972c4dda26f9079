package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Read loads a report.json.
func Read(path string) (Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Report{}, err
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return Report{}, fmt.Errorf("%s: not a report: %w", path, err)
	}
	if r.Format != Format {
		return Report{}, fmt.Errorf("%s: format %q, want %q (not a klayslave report)", path, r.Format, Format)
	}
	return r, nil
}

// Merge adds several workers' reports into one, as a Locust master adds
// their stats: counts add and histograms merge, per row and per second.
// Workers on one chain see the same blocks: a block is kept once (by chain
// and number), with the workers' own transactions added up.
func Merge(reps ...Report) (Report, error) {
	if len(reps) == 0 {
		return Report{}, errors.New("no report to merge")
	}
	out := Report{Format: Format, Started: reps[0].Started, Ended: reps[0].Ended, Config: reps[0].Config}
	type rowAcc struct {
		row  Row
		hist *hdrhistogram.Histogram
	}
	rows := map[rowKey]*rowAcc{}
	total := &rowAcc{row: Row{Name: "Aggregated"}, hist: newHist()}
	secs := map[int64]*sec{}
	errs := map[Error]int64{}
	byBlock := map[blockKey]int{}
	add := func(dst *rowAcc, src Row) error {
		h, err := src.hist()
		if err != nil {
			return err
		}
		dst.row.Requests += src.Requests
		dst.row.Failures += src.Failures
		dst.row.Bytes += src.Bytes
		dst.hist.Merge(h)
		return nil
	}
	for _, r := range reps {
		out.Workers += max(r.Workers, 1)
		if r.Started.Before(out.Started) {
			out.Started = r.Started
		}
		if r.Ended.After(out.Ended) {
			out.Ended = r.Ended
		}
		out.Dropped += r.Dropped
		for _, row := range r.Rows {
			k := rowKey{row.Method, row.Name}
			a := rows[k]
			if a == nil {
				a = &rowAcc{row: Row{Method: row.Method, Name: row.Name, Aside: row.Aside}, hist: newHist()}
				rows[k] = a
			}
			if err := add(a, row); err != nil {
				return Report{}, err
			}
		}
		if err := add(total, r.Total); err != nil {
			return Report{}, err
		}
		for _, s := range r.Seconds {
			m := secs[s.Time]
			if m == nil {
				m = &sec{latency: map[int64]int64{}}
				secs[s.Time] = m
			}
			m.users += s.Users
			m.requests += s.Requests
			m.failures += s.Failures
			m.bytes += s.Bytes
			for k, n := range s.Latency {
				m.latency[k] += n
			}
		}
		for _, e := range r.Errors {
			n := e.Occurrences
			e.Occurrences = 0
			errs[e] += n
		}
		for _, b := range r.Blocks {
			k := blockKey{b.Chain, b.Number}
			if i, ok := byBlock[k]; ok {
				out.Blocks[i].Ours += b.Ours
				if out.Blocks[i].IntervalMs == 0 { // the first block one worker scanned
					out.Blocks[i].IntervalMs = b.IntervalMs
				}
				continue
			}
			byBlock[k] = len(out.Blocks)
			out.Blocks = append(out.Blocks, b)
		}
	}
	for _, a := range rows {
		row, err := makeRow(a.row.Method, a.row.Name, a.row.Aside, a.row.Requests, a.row.Failures, a.row.Bytes, a.hist)
		if err != nil {
			return Report{}, err
		}
		out.Rows = append(out.Rows, row)
	}
	sortRows(out.Rows)
	var err error
	out.Total, err = makeRow("", "Aggregated", false, total.row.Requests, total.row.Failures, total.row.Bytes, total.hist)
	if err != nil {
		return Report{}, err
	}
	for t, s := range secs {
		out.Seconds = append(out.Seconds, makeSecond(t, s.users, s.requests, s.failures, s.bytes, s.latency))
	}
	sort.Slice(out.Seconds, func(i, j int) bool { return out.Seconds[i].Time < out.Seconds[j].Time })
	for e, n := range errs {
		e.Occurrences = n
		out.Errors = append(out.Errors, e)
	}
	sortErrors(out.Errors)
	// Each chain's blocks in order of number: workers joined at different
	// times.
	sort.SliceStable(out.Blocks, func(i, j int) bool {
		a, b := out.Blocks[i], out.Blocks[j]
		if a.Chain != b.Chain {
			return a.Chain < b.Chain
		}
		return a.Number < b.Number
	})
	return out, nil
}
