package locust

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klayslave/klayslave/stats"
	"github.com/vmihailenco/msgpack/v5"
)

// decodeGeneric decodes b the way python-msgpack does with raw=False,
// strict_map_key=False: any key type, ints as int64/uint64, floats float64.
func decodeGeneric(t *testing.T, b []byte) any {
	t.Helper()
	v, err := decodeGenericErr(b)
	if err != nil {
		t.Fatalf("decode %x: %v", b, err)
	}
	return v
}

func decodeGenericErr(b []byte) (any, error) {
	d := msgpack.NewDecoder(bytes.NewReader(b))
	d.UseLooseInterfaceDecoding(true)
	d.SetMapDecoder(func(d *msgpack.Decoder) (any, error) { return d.DecodeUntypedMap() })
	return d.DecodeInterfaceLoose()
}

func TestClientReadyGolden(t *testing.T) {
	b, err := encodeMessage("client_ready", "h_abc", intData(clientVersion))
	if err != nil {
		t.Fatal(err)
	}
	// fixarray(3), fixstr(12) "client_ready", negative fixint -1, fixstr(5) "h_abc"
	want := append(append(append([]byte{0x93, 0xac}, "client_ready"...), 0xff, 0xa5), "h_abc"...)
	if !bytes.Equal(b, want) {
		t.Errorf("client_ready = % x\nwant           % x", b, want)
	}
	b, _ = encodeMessage("client_stopped", "h_abc", nil)
	want = append(append(append([]byte{0x93, 0xae}, "client_stopped"...), 0xc0, 0xa5), "h_abc"...)
	if !bytes.Equal(b, want) {
		t.Errorf("client_stopped = % x\nwant             % x", b, want)
	}
}

// sampleReport logs 3 successes and 2 failures on a fixed clock.
func sampleReport() stats.Report {
	now := time.Unix(1700000000, 250_000_000)
	col := stats.NewCollector(func() time.Time { return now })
	col.Success("GET", "/a", 25500*time.Microsecond, 100)
	col.Success("GET", "/a", 147*time.Millisecond, 100)
	col.Success("POST", "/b", 3*time.Millisecond, 7)
	col.Failure("POST", "/b", 2*time.Millisecond, errors.New("boom"))
	col.Failure("POST", "/b", 2*time.Millisecond, errors.New("boom"))
	return col.Delta()
}

var (
	intT    = []string{"int64", "uint64"}
	floatT  = []string{"float64"}
	strT    = []string{"string"}
	nilT    = []string{"<nil>"}
	mapT    = []string{"map[interface {}]interface {}"}
	entry2T = map[string][]string{
		"name": strT, "method": strT,
		"last_request_timestamp": append(floatT, nilT...), "start_time": floatT,
		"num_requests": intT, "num_none_requests": intT, "num_failures": intT,
		"total_response_time": floatT, "max_response_time": floatT,
		"min_response_time":    append(floatT, nilT...),
		"total_content_length": intT,
		"response_times":       mapT, "num_reqs_per_sec": mapT, "num_fail_per_sec": mapT,
	}
	entry09T = map[string][]string{
		"name": strT, "method": strT,
		"last_request_timestamp": intT, "start_time": floatT,
		"num_requests": intT, "num_failures": intT,
		"total_response_time": floatT, "max_response_time": floatT,
		"min_response_time":    append(floatT, nilT...),
		"total_content_length": intT,
		"response_times":       mapT, "num_reqs_per_sec": mapT,
	}
)

// checkEntry asserts e has exactly the keys of spec with allowed Go types,
// and that its maps have int keys and int values.
func checkEntry(t *testing.T, what string, e any, spec map[string][]string) map[any]any {
	t.Helper()
	m, ok := e.(map[any]any)
	if !ok {
		t.Fatalf("%s is %T, not a map", what, e)
	}
	var keys []string
	for k, v := range m {
		ks, ok := k.(string)
		if !ok {
			t.Errorf("%s: key %v is %T", what, k, k)
			continue
		}
		keys = append(keys, ks)
		allowed, known := spec[ks]
		if !known {
			t.Errorf("%s: unexpected key %q", what, ks)
			continue
		}
		if typ := fmt.Sprintf("%T", v); !slices.Contains(allowed, typ) {
			t.Errorf("%s.%s is %s, want one of %v", what, ks, typ, allowed)
		}
		if mm, ok := v.(map[any]any); ok {
			for bk, bv := range mm {
				if !slices.Contains(intT, fmt.Sprintf("%T", bk)) || !slices.Contains(intT, fmt.Sprintf("%T", bv)) {
					t.Errorf("%s.%s has %T:%T, want int:int", what, ks, bk, bv)
				}
			}
		}
	}
	if len(keys) != len(spec) {
		slices.Sort(keys)
		t.Errorf("%s has %d keys %v, want %d", what, len(keys), keys, len(spec))
	}
	return m
}

// toInt returns an int64/uint64 value as int64 (test helper).
func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case uint64:
		return int64(x)
	}
	return -1 << 62
}

func TestStats2Encoding(t *testing.T) {
	r := sampleReport()
	b, err := encodeMessage("stats", "h_abc", stats2Data(r, map[string]int{"Dummy": 4}, 4))
	if err != nil {
		t.Fatal(err)
	}
	msg := decodeGeneric(t, b).([]any)
	if len(msg) != 3 || msg[0] != "stats" || msg[2] != "h_abc" {
		t.Fatalf("envelope = %v", msg)
	}
	data := msg[1].(map[any]any)
	want := []string{"errors", "stats", "stats_total", "user_classes_count", "user_count"}
	var got []string
	for k := range data {
		got = append(got, k.(string))
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("stats keys = %v, want %v", got, want)
	}
	entries := data["stats"].([]any)
	if len(entries) != 2 {
		t.Fatalf("%d entries, want 2", len(entries))
	}
	for i, e := range entries {
		checkEntry(t, fmt.Sprintf("stats[%d]", i), e, entry2T)
	}
	a := entries[0].(map[any]any)
	if a["name"] != "/a" || a["method"] != "GET" || toInt(a["num_requests"]) != 2 {
		t.Errorf("stats[0] = %v", a)
	}
	if rt := a["response_times"].(map[any]any); toInt(rt[int64(26)]) != 1 || toInt(rt[uint64(150)]) != 1 {
		t.Errorf("response_times = %v, want {26:1, 150:1} (round half even)", rt)
	}
	tot := checkEntry(t, "stats_total", data["stats_total"], entry2T)
	if tot["name"] != "Aggregated" || tot["method"] != "" || toInt(tot["num_requests"]) != 5 || toInt(tot["num_failures"]) != 2 {
		t.Errorf("stats_total = %v", tot)
	}
	if lr, st := tot["last_request_timestamp"].(float64), tot["start_time"].(float64); math.Abs(lr-1700000000.25) > 1e-6 || math.Abs(st-1700000000.25) > 1e-6 {
		t.Errorf("total times = %v, %v", tot["last_request_timestamp"], tot["start_time"])
	}
	errs := data["errors"].(map[any]any)
	key := stats.ErrorKey("POST", "/b", "boom")
	er, ok := errs[key].(map[any]any)
	if len(errs) != 1 || !ok {
		t.Fatalf("errors = %v, want key %s", errs, key)
	}
	if er["name"] != "/b" || er["method"] != "POST" || er["error"] != "boom" || toInt(er["occurrences"]) != 2 || len(er) != 4 {
		t.Errorf("error row = %v", er)
	}
	if ucc := data["user_classes_count"].(map[any]any); toInt(ucc["Dummy"]) != 4 || toInt(data["user_count"]) != 4 {
		t.Errorf("user counts = %v, %v", ucc, data["user_count"])
	}
	// An empty report: min and last_request_timestamp are nil, not 0.
	col := stats.NewCollector(nil)
	b, _ = encodeMessage("stats", "h", stats2Data(col.Delta(), map[string]int{}, 0))
	tot = checkEntry(t, "empty stats_total", decodeGeneric(t, b).([]any)[1].(map[any]any)["stats_total"], entry2T)
	if tot["min_response_time"] != nil || tot["last_request_timestamp"] != nil {
		t.Errorf("empty total: min=%v last=%v, want nil", tot["min_response_time"], tot["last_request_timestamp"])
	}
}

func TestStats09Encoding(t *testing.T) {
	b, err := encodeMessage("stats", "h", stats09Data(sampleReport(), 5))
	if err != nil {
		t.Fatal(err)
	}
	data := decodeGeneric(t, b).([]any)[1].(map[any]any)
	if len(data) != 4 || toInt(data["user_count"]) != 5 {
		t.Errorf("data = %v", data)
	}
	entries := data["stats"].([]any)
	bEntry := checkEntry(t, "stats[1]", entries[1], entry09T)
	// 0.9 does not count failures in num_requests.
	if bEntry["name"] != "/b" || toInt(bEntry["num_requests"]) != 1 || toInt(bEntry["num_failures"]) != 2 {
		t.Errorf("POST /b = %v", bEntry)
	}
	if ps := bEntry["num_reqs_per_sec"].(map[any]any); toInt(ps[uint64(1700000000)]) != 1 {
		t.Errorf("num_reqs_per_sec = %v, want {1700000000: 1}", ps)
	}
	tot := checkEntry(t, "stats_total", data["stats_total"], entry09T)
	if tot["name"] != "Total" || toInt(tot["num_requests"]) != 3 || toInt(tot["last_request_timestamp"]) != 1700000000 {
		t.Errorf("total = %v", tot)
	}
	errs := data["errors"].(map[any]any)
	er := errs[legacyErrorKey("POST", "/b", "boom")].(map[any]any)
	if toInt(er["occurences"]) != 2 || er["error"] != "boom" || len(er) != 4 {
		t.Errorf("error row = %v", er)
	}
}

// Aside rows (send, inclusion, e2e, dropped) are sent as their own entries,
// but stats_total, which the master shows as Aggregated, holds iterations only.
func TestAsideRowsOutOfEncodedTotal(t *testing.T) {
	now := time.Unix(1700000000, 0)
	col := stats.NewCollector(func() time.Time { return now })
	col.Record(stats.Result{Method: "tx", Name: "transfer", Latency: 10 * time.Millisecond})
	col.Record(stats.Result{Method: "tx", Name: "transfer", Latency: 12 * time.Millisecond, Err: errors.New("reverted")})
	col.Record(stats.Result{Method: "e2e", Name: "transfer", Aside: true, Latency: 3 * time.Second})
	col.Record(stats.Result{Method: "dropped", Name: "transfer", Aside: true, Err: errors.New("behind schedule")})
	r := col.Delta()

	b, err := encodeMessage("stats", "h", stats2Data(r, map[string]int{}, 0))
	if err != nil {
		t.Fatal(err)
	}
	data := decodeGeneric(t, b).([]any)[1].(map[any]any)
	if n := len(data["stats"].([]any)); n != 3 {
		t.Errorf("%d entries, want 3 (tx, e2e, dropped)", n)
	}
	tot := checkEntry(t, "stats_total", data["stats_total"], entry2T)
	if toInt(tot["num_requests"]) != 2 || toInt(tot["num_failures"]) != 1 || tot["max_response_time"] != 12.0 || tot["total_response_time"] != 22.0 {
		t.Errorf("2.x stats_total = %v, want the 2 iterations only", tot)
	}

	b, err = encodeMessage("stats", "h", stats09Data(r, 0))
	if err != nil {
		t.Fatal(err)
	}
	tot = checkEntry(t, "stats_total", decodeGeneric(t, b).([]any)[1].(map[any]any)["stats_total"], entry09T)
	if toInt(tot["num_requests"]) != 1 || toInt(tot["num_failures"]) != 1 || tot["max_response_time"] != 12.0 {
		t.Errorf("0.9 stats_total = %v, want the 2 iterations only (1 success, 1 failure)", tot)
	}
}

// With untimed failures (what RunLegacyWorker sets), a 0.9 master gets no
// failure's response time: its average and percentiles are the successes'.
func TestStats09UntimedFailures(t *testing.T) {
	now := time.Unix(1700000000, 0)
	col := stats.NewCollector(func() time.Time { return now })
	col.SetUntimedFailures(true)
	col.Success("GET", "/a", 5*time.Millisecond, 1)
	col.Failure("GET", "/a", 9*time.Second, errors.New("timeout"))
	col.Failure("GET", "/b", 9*time.Second, errors.New("timeout"))
	b, err := encodeMessage("stats", "h", stats09Data(col.Delta(), 1))
	if err != nil {
		t.Fatal(err)
	}
	data := decodeGeneric(t, b).([]any)[1].(map[any]any)
	tot := checkEntry(t, "stats_total", data["stats_total"], entry09T)
	rt := tot["response_times"].(map[any]any)
	if toInt(tot["num_requests"]) != 1 || toInt(tot["num_failures"]) != 2 || tot["total_response_time"] != 5.0 ||
		tot["max_response_time"] != 5.0 || tot["min_response_time"] != 5.0 || len(rt) != 1 || toInt(rt[int64(5)]) != 1 {
		t.Errorf("stats_total = %v, want the success's time only", tot)
	}
	bEntry := checkEntry(t, "stats[1]", data["stats"].([]any)[1], entry09T)
	if bEntry["name"] != "/b" || bEntry["min_response_time"] != nil || bEntry["total_response_time"] != 0.0 || len(bEntry["response_times"].(map[any]any)) != 0 {
		t.Errorf("failures-only entry = %v, want no times", bEntry)
	}
}

func TestHeartbeatAndSpawningComplete(t *testing.T) {
	var m cpuMeter
	m.percent()
	b, _ := encodeMessage("heartbeat", "h", heartbeatData("running", m.percent(), residentBytes()))
	hb := decodeGeneric(t, b).([]any)[1].(map[any]any)
	if hb["state"] != "running" || reflect.TypeOf(hb["current_cpu_usage"]).Kind() != reflect.Float64 || toInt(hb["current_memory_usage"]) <= 0 {
		t.Errorf("heartbeat = %v", hb)
	}
	b, _ = encodeMessage("spawning_complete", "h", spawningCompleteData(map[string]int{"A": 3, "B": 0}, 3))
	sc := decodeGeneric(t, b).([]any)[1].(map[any]any)
	if toInt(sc["user_classes_count"].(map[any]any)["A"]) != 3 || toInt(sc["user_count"]) != 3 {
		t.Errorf("spawning_complete = %v", sc)
	}
}

func TestDecodeMessage(t *testing.T) {
	enc := func(v any) []byte {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	spawn := enc([]any{"spawn", map[string]any{"timestamp": 1.5, "user_classes_count": map[string]any{"A": 3, "B": 0},
		"host": nil, "stop_timeout": nil, "parsed_options": map[string]any{"tags": []any{"x"}}}, "h"})
	m, err := decodeMessage(spawn)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := parseSpawn(m.Data)
	if err != nil || sp.Timestamp != 1.5 || !reflect.DeepEqual(sp.Counts, map[string]int{"A": 3, "B": 0}) || m.NodeID != "h" {
		t.Errorf("spawn = %+v, %v", sp, err)
	}
	hatch := enc([]any{"hatch", map[string]any{"hatch_rate": 2.5, "num_clients": uint8(7), "host": nil, "stop_timeout": nil}, nil})
	m, _ = decodeMessage(hatch)
	if h, err := parseHatch(m.Data); err != nil || h.Rate != 2.5 || h.Users != 7 {
		t.Errorf("hatch = %+v, %v", h, err)
	}
	for name, b := range map[string][]byte{
		"empty":       {},
		"2 elements":  enc([]any{"ack", nil}),
		"4 elements":  enc([]any{"ack", nil, "h", 1}),
		"int type":    enc([]any{5, nil, "h"}),
		"nil type":    enc([]any{nil, nil, "h"}),
		"int node_id": enc([]any{"ack", nil, 5}),
		"map":         enc(map[string]any{"type": "ack"}),
		"trailing":    append(enc([]any{"ack", nil, "h"}), 0xc0),
		"truncated":   spawn[:len(spawn)-3],
		"garbage":     []byte("\xde\xad\xbe\xef"),
	} {
		if m, err := decodeMessage(b); err == nil {
			t.Errorf("%s: decoded %+v, want an error", name, m)
		}
	}
	for name, data := range map[string]any{
		"nil":           nil,
		"no counts":     map[string]any{"timestamp": 1.0},
		"neg count":     map[string]any{"timestamp": 1.0, "user_classes_count": map[string]any{"A": int64(-1)}},
		"str timestamp": map[string]any{"timestamp": "1", "user_classes_count": map[string]any{}},
		"frac count":    map[string]any{"timestamp": 1.0, "user_classes_count": map[string]any{"A": 1.5}},
	} {
		if sp, err := parseSpawn(data); err == nil {
			t.Errorf("spawn %s: parsed %+v, want an error", name, sp)
		}
	}
}

func TestClientID(t *testing.T) {
	id, err := newClientID()
	if err != nil {
		t.Fatal(err)
	}
	host, hexPart, ok := strings.Cut(id, "_")
	if !ok || host == "" || len(hexPart) != 32 || hexPart[12] != '4' {
		t.Errorf("client id %q, want hostname_uuid4hex", id)
	}
}
