// Package stats records request outcomes the way Locust counts them.
//
// A Collector keeps two views of the same records:
//   - a delta view that Locust workers send every 3 s and then reset
//     (Locust's StatsEntry: counters, response-time buckets, per-second counts);
//   - a cumulative view with an HDR histogram per entry, for the standalone
//     live table and final summary, which is never reset by a delta report.
package stats

import "math"

// Entry is one row of Locust statistics: all requests with the same name and
// method. Response times are in milliseconds.
type Entry struct {
	Name   string
	Method string

	NumRequests     int64 // every request, failed ones included
	NumNoneRequests int64 // requests logged without a response time (untimed failures, see Collector.SetUntimedFailures)
	NumFailures     int64

	TotalResponseTime float64
	MaxResponseTime   float64
	// MinResponseTime is meaningful only when HasMin is true; Locust wants
	// nil, not 0, when no timed request was logged.
	MinResponseTime float64
	HasMin          bool

	TotalContentLength int64

	// ResponseTimes maps a rounded response time (see Bucket) to a count.
	ResponseTimes map[int64]int64
	// NumReqsPerSec and NumFailPerSec map a Unix second to a count.
	NumReqsPerSec map[int64]int64
	NumFailPerSec map[int64]int64

	// StartTime is the Unix time (seconds) of the previous reset.
	StartTime float64
	// LastRequestTimestamp is the Unix time of the last request, 0 if none.
	LastRequestTimestamp float64
}

func newEntry(name, method string, start float64) *Entry {
	return &Entry{
		Name:          name,
		Method:        method,
		ResponseTimes: map[int64]int64{},
		NumReqsPerSec: map[int64]int64{},
		NumFailPerSec: map[int64]int64{},
		StartTime:     start,
	}
}

// log adds one request. now is Unix seconds, rt is milliseconds. An
// untimed request is counted without its response time, as Locust logs a
// request whose response_time is None.
func (e *Entry) log(now, rt float64, contentLength int64, failed, timed bool) {
	sec := int64(now)
	e.NumRequests++
	e.NumReqsPerSec[sec]++
	if failed {
		e.NumFailures++
		e.NumFailPerSec[sec]++
	}
	if now > e.LastRequestTimestamp {
		e.LastRequestTimestamp = now
	}
	e.TotalContentLength += contentLength
	if !timed {
		e.NumNoneRequests++
		return
	}
	e.TotalResponseTime += rt
	if rt > e.MaxResponseTime {
		e.MaxResponseTime = rt
	}
	if !e.HasMin || rt < e.MinResponseTime {
		e.MinResponseTime = rt
		e.HasMin = true
	}
	e.ResponseTimes[Bucket(rt)]++
}

// Extend adds other's counts to e, as Locust's master merges worker deltas.
func (e *Entry) Extend(other *Entry) {
	e.NumRequests += other.NumRequests
	e.NumNoneRequests += other.NumNoneRequests
	e.NumFailures += other.NumFailures
	e.TotalResponseTime += other.TotalResponseTime
	e.MaxResponseTime = math.Max(e.MaxResponseTime, other.MaxResponseTime)
	if other.HasMin && (!e.HasMin || other.MinResponseTime < e.MinResponseTime) {
		e.MinResponseTime = other.MinResponseTime
		e.HasMin = true
	}
	e.TotalContentLength += other.TotalContentLength
	addInto(e.ResponseTimes, other.ResponseTimes)
	addInto(e.NumReqsPerSec, other.NumReqsPerSec)
	addInto(e.NumFailPerSec, other.NumFailPerSec)
	if other.StartTime != 0 && (e.StartTime == 0 || other.StartTime < e.StartTime) {
		e.StartTime = other.StartTime
	}
	e.LastRequestTimestamp = math.Max(e.LastRequestTimestamp, other.LastRequestTimestamp)
}

func addInto(dst, src map[int64]int64) {
	for k, v := range src {
		dst[k] += v
	}
}

// Bucket rounds a response time in milliseconds the way Locust's
// _log_response_time does, with Python's round-half-to-even:
// 1 ms steps below 100 ms, 10 ms below 1 s, 100 ms below 10 s, 1 s above.
func Bucket(rt float64) int64 {
	switch {
	case rt < 100:
		return int64(math.RoundToEven(rt))
	case rt < 1000:
		return int64(math.RoundToEven(rt/10) * 10)
	case rt < 10000:
		return int64(math.RoundToEven(rt/100) * 100)
	default:
		return int64(math.RoundToEven(rt/1000) * 1000)
	}
}
