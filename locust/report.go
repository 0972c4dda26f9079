package locust

import (
	"crypto/md5"
	"encoding/hex"
	"maps"
	"slices"
	"strings"

	"github.com/klayslave/klayslave/stats"
	"github.com/vmihailenco/msgpack/v5"
)

// This file writes the "stats" payloads. Everything is written field by
// field so that the key sets and wire types are exactly Locust's: float64 for
// times, ints for counters and per-second/bucket keys, nil where Locust has
// None, no ext types. Map keys are written in sorted order, so the bytes are
// deterministic.

// encoder wraps msgpack.Encoder and keeps the first error.
type encoder struct {
	e   *msgpack.Encoder
	err error
}

func (w *encoder) do(err error) {
	if w.err == nil && err != nil {
		w.err = err
	}
}
func (w *encoder) mapLen(n int)    { w.do(w.e.EncodeMapLen(n)) }
func (w *encoder) str(s string)    { w.do(w.e.EncodeString(validUTF8(s))) }
func (w *encoder) int(n int64)     { w.do(w.e.EncodeInt(n)) }
func (w *encoder) float(f float64) { w.do(w.e.EncodeFloat64(f)) }
func (w *encoder) null()           { w.do(w.e.EncodeNil()) }
func (w *encoder) key(k string)    { w.str(k) }
func (w *encoder) arrayLen(n int)  { w.do(w.e.EncodeArrayLen(n)) }
func (w *encoder) floatOrNil(f float64, ok bool) {
	if ok {
		w.float(f)
	} else {
		w.null()
	}
}

func (w *encoder) intMap(m map[int64]int64) {
	w.mapLen(len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		w.int(k)
		w.int(m[k])
	}
}

func (w *encoder) countMap(m map[string]int) {
	w.mapLen(len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		w.str(k)
		w.int(int64(m[k]))
	}
}

// validUTF8 replaces invalid bytes (an error text from a node, say): the
// master decodes with raw=False, and one invalid str drops the whole
// message as corrupted.
func validUTF8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// stats2Data writes the Locust 2.x stats payload:
// {stats, stats_total, errors, user_classes_count, user_count}.
func stats2Data(r stats.Report, counts map[string]int, userCount int) func(*msgpack.Encoder) error {
	return func(e *msgpack.Encoder) error {
		w := &encoder{e: e}
		w.mapLen(5)
		w.key("stats")
		w.arrayLen(len(r.Entries))
		for _, en := range r.Entries {
			entry2(w, en, en.Name, en.Method)
		}
		w.key("stats_total")
		entry2(w, totalOf(r), "Aggregated", "")
		w.key("errors")
		w.mapLen(len(r.Errors))
		for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
			er := r.Errors[k]
			w.str(k)
			w.mapLen(4)
			w.key("error")
			w.str(er.Error)
			w.key("method")
			w.str(er.Method)
			w.key("name")
			w.str(er.Name)
			w.key("occurrences")
			w.int(er.Occurrences)
		}
		w.key("user_classes_count")
		w.countMap(counts)
		w.key("user_count")
		w.int(int64(userCount))
		return w.err
	}
}

// entry2 writes a 2.x StatsEntryDict: exactly 14 keys.
func entry2(w *encoder, e *stats.Entry, name, method string) {
	w.mapLen(14)
	w.key("last_request_timestamp")
	w.floatOrNil(e.LastRequestTimestamp, e.LastRequestTimestamp != 0)
	w.key("max_response_time")
	w.float(e.MaxResponseTime)
	w.key("method")
	w.str(method)
	w.key("min_response_time")
	w.floatOrNil(e.MinResponseTime, e.HasMin)
	w.key("name")
	w.str(name)
	w.key("num_fail_per_sec")
	w.intMap(e.NumFailPerSec)
	w.key("num_failures")
	w.int(e.NumFailures)
	w.key("num_none_requests")
	w.int(e.NumNoneRequests)
	w.key("num_reqs_per_sec")
	w.intMap(e.NumReqsPerSec)
	w.key("num_requests")
	w.int(e.NumRequests)
	w.key("response_times")
	w.intMap(e.ResponseTimes)
	w.key("start_time")
	w.float(e.StartTime)
	w.key("total_content_length")
	w.int(e.TotalContentLength)
	w.key("total_response_time")
	w.float(e.TotalResponseTime)
}

// totalOf returns r.Total, or an empty entry if a Stats implementation left
// it nil (the master requires stats_total).
func totalOf(r stats.Report) *stats.Entry {
	if r.Total != nil {
		return r.Total
	}
	return &stats.Entry{}
}

// stats09Data writes the Locust 0.9 stats payload:
// {stats, stats_total, errors, user_count}.
func stats09Data(r stats.Report, userCount int) func(*msgpack.Encoder) error {
	return func(e *msgpack.Encoder) error {
		w := &encoder{e: e}
		w.mapLen(4)
		w.key("stats")
		w.arrayLen(len(r.Entries))
		for _, en := range r.Entries {
			entry09(w, en, en.Name, en.Method)
		}
		w.key("stats_total")
		entry09(w, totalOf(r), "Total", "")
		w.key("errors")
		errs := make(map[string]*stats.Error, len(r.Errors))
		for _, er := range r.Errors {
			k := legacyErrorKey(er.Method, er.Name, er.Error)
			if prev := errs[k]; prev != nil {
				merged := *prev
				merged.Occurrences += er.Occurrences
				errs[k] = &merged
			} else {
				errs[k] = er
			}
		}
		w.mapLen(len(errs))
		for _, k := range slices.Sorted(maps.Keys(errs)) {
			er := errs[k]
			w.str(k)
			w.mapLen(4)
			w.key("error")
			w.str(er.Error)
			w.key("method")
			w.str(er.Method)
			w.key("name")
			w.str(er.Name)
			w.key("occurences") // sic: Locust < 0.12 spelling
			w.int(er.Occurrences)
		}
		w.key("user_count")
		w.int(int64(userCount))
		return w.err
	}
}

// entry09 writes a 0.9 StatsEntry: exactly 12 keys. 0.9 did not count failed
// requests in num_requests (nor per second), so they are subtracted here.
// Nor did it log their response times: RunLegacyWorker turns on the
// Collector's untimed failures, which keeps them out of e's time fields.
func entry09(w *encoder, e *stats.Entry, name, method string) {
	last := int64(e.LastRequestTimestamp)
	if e.LastRequestTimestamp == 0 {
		last = int64(e.StartTime) // 0.9 initialises it to int(time.time())
	}
	perSec := make(map[int64]int64, len(e.NumReqsPerSec))
	for sec, n := range e.NumReqsPerSec {
		if n -= e.NumFailPerSec[sec]; n > 0 {
			perSec[sec] = n
		}
	}
	w.mapLen(12)
	w.key("last_request_timestamp")
	w.int(last)
	w.key("max_response_time")
	w.float(e.MaxResponseTime)
	w.key("method")
	w.str(method)
	w.key("min_response_time")
	w.floatOrNil(e.MinResponseTime, e.HasMin)
	w.key("name")
	w.str(name)
	w.key("num_failures")
	w.int(e.NumFailures)
	w.key("num_reqs_per_sec")
	w.intMap(perSec)
	w.key("num_requests")
	w.int(max(e.NumRequests-e.NumFailures, 0))
	w.key("response_times")
	w.intMap(e.ResponseTimes)
	w.key("start_time")
	w.float(e.StartTime)
	w.key("total_content_length")
	w.int(e.TotalContentLength)
	w.key("total_response_time")
	w.float(e.TotalResponseTime)
}

// legacyErrorKey is Locust 0.9's error key: md5("{method}.{name}.{error!r}").
func legacyErrorKey(method, name, msg string) string {
	sum := md5.Sum([]byte(method + "." + name + "." + stats.PyRepr(msg)))
	return hex.EncodeToString(sum[:])
}

// heartbeatData writes a 2.x heartbeat: {state, current_cpu_usage, current_memory_usage}.
func heartbeatData(state string, cpu float64, rss int64) func(*msgpack.Encoder) error {
	return func(e *msgpack.Encoder) error {
		w := &encoder{e: e}
		w.mapLen(3)
		w.key("current_cpu_usage")
		w.float(cpu)
		w.key("current_memory_usage")
		w.int(rss)
		w.key("state")
		w.str(state)
		return w.err
	}
}

// spawningCompleteData writes {user_classes_count, user_count}.
func spawningCompleteData(counts map[string]int, userCount int) func(*msgpack.Encoder) error {
	return func(e *msgpack.Encoder) error {
		w := &encoder{e: e}
		w.mapLen(2)
		w.key("user_classes_count")
		w.countMap(counts)
		w.key("user_count")
		w.int(int64(userCount))
		return w.err
	}
}

// intData writes a bare int (client_ready's version -1).
func intData(n int64) func(*msgpack.Encoder) error {
	return func(e *msgpack.Encoder) error { return e.EncodeInt(n) }
}

// hatchCompleteData writes 0.9's {"count": n}.
func hatchCompleteData(n int) func(*msgpack.Encoder) error {
	return func(e *msgpack.Encoder) error {
		w := &encoder{e: e}
		w.mapLen(1)
		w.key("count")
		w.int(int64(n))
		return w.err
	}
}
