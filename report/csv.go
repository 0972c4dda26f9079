package report

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// Locust 2.12.1's CSV headers (locust/stats.py, StatsCSV and
// StatsCSVFileWriter), so that what reads Locust's --csv files reads ours.
var (
	locustPercentiles = []float64{0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0}
	percentileHeaders = []string{"50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"}

	StatsHeader = append([]string{"Type", "Name", "Request Count", "Failure Count", "Median Response Time",
		"Average Response Time", "Min Response Time", "Max Response Time", "Average Content Size",
		"Requests/s", "Failures/s"}, percentileHeaders...)
	FailuresHeader   = []string{"Method", "Name", "Error", "Occurrences"}
	ExceptionsHeader = []string{"Count", "Message", "Traceback", "Nodes"}
	HistoryHeader    = append(append([]string{"Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s"},
		percentileHeaders...), "Total Request Count", "Total Failure Count", "Total Median Response Time",
		"Total Average Response Time", "Total Min Response Time", "Total Max Response Time", "Total Average Content Size")
)

// WriteCSV writes <prefix>_stats.csv, _failures.csv, _stats_history.csv
// and _exceptions.csv (empty: exceptions go to the master), as Locust's
// --csv does, and returns their paths.
func WriteCSV(prefix string, r Report) ([]string, error) {
	files := []struct {
		suffix string
		rows   func() ([][]string, error)
	}{
		{"_stats.csv", r.statsRows},
		{"_failures.csv", func() ([][]string, error) { return r.failureRows(), nil }},
		{"_stats_history.csv", func() ([][]string, error) { return r.historyRows(), nil }},
		{"_exceptions.csv", func() ([][]string, error) { return [][]string{ExceptionsHeader}, nil }},
	}
	var paths []string
	for _, f := range files {
		rows, err := f.rows()
		if err != nil {
			return paths, err
		}
		path := prefix + f.suffix
		if err := writeCSVFile(path, rows); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

func writeCSVFile(path string, rows [][]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.UseCRLF = true // Python's csv.writer ends rows with \r\n
	if err := w.WriteAll(rows); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

// seconds is the report's duration, for the per-second rates.
func (r Report) seconds() float64 {
	return max(r.Ended.Sub(r.Started).Seconds(), 1e-9)
}

func (r Report) statsRows() ([][]string, error) {
	out := [][]string{StatsHeader}
	secs := r.seconds()
	for _, row := range append(append([]Row{}, r.Rows...), r.Total) {
		line := []string{row.Method, row.Name, itoa(row.Requests), itoa(row.Failures), strconv.Itoa(int(math.Round(row.P50Ms))),
			pyFloat(row.AvgMs), pyFloat(row.MinMs), pyFloat(row.MaxMs), pyFloat(avg(row.Bytes, row.Requests)),
			pyFloat(float64(row.Requests) / secs), pyFloat(float64(row.Failures) / secs)}
		if row.Requests == 0 {
			for range locustPercentiles {
				line = append(line, "N/A")
			}
		} else {
			h, err := row.hist()
			if err != nil {
				return nil, err
			}
			for _, p := range locustPercentiles {
				line = append(line, strconv.Itoa(int(h.ValueAtQuantile(p*100)/1000)))
			}
		}
		out = append(out, line)
	}
	return out, nil
}

func (r Report) failureRows() [][]string {
	out := [][]string{FailuresHeader}
	for _, e := range r.Errors {
		out = append(out, []string{e.Method, e.Name, e.Error, itoa(e.Occurrences)})
	}
	return out
}

// historyRows has one Aggregated row per second from the first to the last
// of the series, as Locust writes every second: that second's rates, then
// the totals so far (percentiles over the whole run so far, as Locust's
// Aggregated history row has them).
func (r Report) historyRows() [][]string {
	out := [][]string{HistoryHeader}
	if len(r.Seconds) == 0 {
		return out
	}
	by := map[int64]Second{}
	for _, s := range r.Seconds {
		by[s.Time] = s
	}
	cum := map[int64]int64{}
	var reqs, fails, bytes int64
	var sumMs float64
	minMs, maxMs := int64(-1), int64(0)
	for t := r.Seconds[0].Time; t <= r.Seconds[len(r.Seconds)-1].Time; t++ {
		s := by[t]
		reqs += s.Requests
		fails += s.Failures
		bytes += s.Bytes
		for k, n := range s.Latency {
			cum[k] += n
			sumMs += float64(k * n)
			if minMs < 0 || k < minMs {
				minMs = k
			}
			maxMs = max(maxMs, k)
		}
		line := []string{strconv.FormatInt(t, 10), strconv.Itoa(s.Users), "", "Aggregated",
			fmt.Sprintf("%2f", float64(s.Requests)), fmt.Sprintf("%2f", float64(s.Failures))}
		for _, p := range locustPercentiles {
			if reqs == 0 {
				line = append(line, "N/A")
			} else {
				line = append(line, itoa(percentile(cum, p)))
			}
		}
		line = append(line, itoa(reqs), itoa(fails), itoa(percentile(cum, 0.5)), pyFloat(avgF(sumMs, reqs)),
			pyFloat(float64(max(minMs, 0))), pyFloat(float64(maxMs)), pyFloat(avg(bytes, reqs)))
		out = append(out, line)
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func avg(sum, n int64) float64 { return avgF(float64(sum), n) }

func avgF(sum float64, n int64) float64 {
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// pyFloat formats a float as Python's str() does for ordinary values:
// shortest form, with ".0" on whole numbers.
func pyFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
