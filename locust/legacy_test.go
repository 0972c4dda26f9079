package locust

import (
	"context"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/klayslave/klayslave/stats"
	"github.com/vmihailenco/msgpack/v5"
)

// fakeMaster09 is a Locust 0.9.0 master as docs/locust-protocol-legacy.md
// describes it: PULL bound on port (from slaves' PUSH), PUSH bound on
// port+1 (to slaves' PULL), unaddressed messages [type, data, nil].
type fakeMaster09 struct {
	t          *testing.T
	pull, push zmq4.Socket
	port       int
	in         chan []any
}

// newFakeMaster09 binds port and port+1 (port 0: pick a free pair).
func newFakeMaster09(t *testing.T, port int) *fakeMaster09 {
	t.Helper()
	m := &fakeMaster09{t: t, in: make(chan []any, 100), port: port}
	for try := 0; ; try++ {
		if port == 0 {
			m.port = freePort(t)
			if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", m.port+1)); err == nil {
				l.Close()
			} else if try < 10 {
				continue
			}
		}
		m.pull = zmq4.NewPull(context.Background())
		m.push = zmq4.NewPush(context.Background())
		if err := m.pull.Listen(fmt.Sprintf("tcp://127.0.0.1:%d", m.port)); err != nil {
			t.Fatal(err)
		}
		if err := m.push.Listen(fmt.Sprintf("tcp://127.0.0.1:%d", m.port+1)); err != nil {
			t.Fatal(err)
		}
		break
	}
	t.Cleanup(m.close)
	go func() {
		for {
			msg, err := m.pull.Recv()
			if err != nil {
				close(m.in)
				return
			}
			v, err := decodeGenericErr(msg.Frames[0])
			arr, _ := v.([]any)
			if err != nil || arr == nil {
				arr = []any{fmt.Sprintf("undecodable %x: %v", msg.Frames[0], err)} // expect() reports it
			}
			m.in <- arr
		}
	}()
	return m
}

func (m *fakeMaster09) close() {
	m.pull.Close()
	m.push.Close()
}

func (m *fakeMaster09) send(typ string, data any) {
	m.t.Helper()
	b, err := msgpack.Marshal([]any{typ, data, nil})
	if err != nil {
		m.t.Fatal(err)
	}
	if err := m.push.Send(zmq4.NewMsg(b)); err != nil {
		m.t.Fatal(err)
	}
}

// expect returns the next message of type typ, collecting any "stats"
// messages received meanwhile into *statsSeen (when typ is not "stats").
func (m *fakeMaster09) expect(typ string, statsSeen *[]map[any]any) []any {
	m.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case msg, ok := <-m.in:
			if !ok {
				m.t.Fatalf("connection closed waiting for %s", typ)
			}
			if len(msg) != 3 || msg[2] == nil {
				m.t.Fatalf("bad message %v", msg)
			}
			if msg[0] == typ {
				return msg
			}
			if msg[0] == "stats" && statsSeen != nil {
				*statsSeen = append(*statsSeen, msg[1].(map[any]any))
				continue
			}
			m.t.Fatalf("got %v while waiting for %s", msg[0], typ)
		case <-timeout:
			m.t.Fatalf("timed out waiting for %s", typ)
		}
	}
}

func TestLegacyFakeMaster(t *testing.T) {
	t.Parallel()
	m := newFakeMaster09(t, 0)
	users, col, logs := newFakeUsers(), stats.NewCollector(nil), &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- RunLegacyWorker(ctx, Config{MasterPort: m.port, Users: users, Stats: col, Log: testLogger(t, logs), LegacyClass: "Legacy"})
	}()
	defer func() {
		if t.Failed() {
			t.Logf("worker log:\n%s", logs)
		}
	}()

	if msg := m.expect("client_ready", nil); msg[1] != nil {
		t.Errorf("client_ready data = %v, want nil", msg[1])
	}
	start := time.Now()
	m.send("hatch", map[string]any{"hatch_rate": 10.0, "num_clients": 5, "host": nil, "stop_timeout": nil})
	m.expect("hatching", nil)
	done := m.expect("hatch_complete", nil)
	took := time.Since(start)
	if c := done[1].(map[any]any)["count"]; toInt(c) != 5 {
		t.Errorf("hatch_complete count = %v, want 5", c)
	}
	// 5 users at 10/s: users 1..5 at 0, 0.1, ..., 0.4 s.
	if took < 350*time.Millisecond || took > 2*time.Second {
		t.Errorf("hatching 5 users at 10/s took %v, want ~0.4 s", took)
	}
	var counts []int
	for _, s := range users.spawns() {
		counts = append(counts, s["Legacy"])
	}
	if !slices.Equal(counts, []int{1, 2, 3, 4, 5}) {
		t.Errorf("Spawn counts = %v, want 1..5 one at a time", counts)
	}

	const n, f = 30, 4
	feed(col, n, f)
	report := m.expect("stats", nil)[1].(map[any]any) // within 3 s
	checkLegacyReport(t, report, n, f, 5)

	m.send("stop", nil)
	var late []map[any]any
	m.expect("client_stopped", &late)
	m.expect("client_ready", &late)
	if users.UserCount() != 0 {
		t.Errorf("%d users after stop", users.UserCount())
	}
	m.send("quit", nil)
	m.expect("quit", &late)
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("RunLegacyWorker: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("worker did not return after quit")
	}
	for _, r := range late { // final flushes: nothing new was logged
		checkEntry(t, "late stats_total", r["stats_total"], entry09T)
	}
}

func checkLegacyReport(t *testing.T, data map[any]any, n, f, userCount int) {
	t.Helper()
	if len(data) != 4 || toInt(data["user_count"]) != int64(userCount) {
		t.Errorf("stats data keys/user_count: %v", data)
	}
	byName := map[string]map[any]any{}
	for i, e := range data["stats"].([]any) {
		m := checkEntry(t, fmt.Sprintf("stats[%d]", i), e, entry09T)
		byName[m["method"].(string)+" "+m["name"].(string)] = m
	}
	if ok := byName["GET /ok"]; ok == nil || toInt(ok["num_requests"]) != int64(n) || toInt(ok["num_failures"]) != 0 {
		t.Errorf("GET /ok = %v, want %d requests", ok, n)
	}
	if bad := byName["POST /bad"]; bad == nil || toInt(bad["num_requests"]) != 0 || toInt(bad["num_failures"]) != int64(f) {
		t.Errorf("POST /bad = %v, want 0 requests (0.9 excludes failures), %d failures", bad, f)
	}
	tot := checkEntry(t, "stats_total", data["stats_total"], entry09T)
	if tot["name"] != "Total" || toInt(tot["num_requests"]) != int64(n) || toInt(tot["num_failures"]) != int64(f) {
		t.Errorf("stats_total = %v", tot)
	}
	errs := data["errors"].(map[any]any)
	key := legacyErrorKey("POST", "/bad", "boom")
	er, _ := errs[key].(map[any]any)
	if len(key) != 32 || er == nil || toInt(er["occurences"]) != int64(f) || er["name"] != "/bad" || er["method"] != "POST" {
		t.Errorf("errors = %v, want md5 key %s with occurences %d", errs, key, f)
	}
}

func TestLegacyMasterLoss(t *testing.T) {
	t.Parallel()
	a := newFakeMaster09(t, 0)
	users, logs := newFakeUsers(), &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- RunLegacyWorker(ctx, Config{MasterPort: a.port, Users: users, Stats: stats.NewCollector(nil),
			Log: testLogger(t, logs), ConnectTimeout: time.Second})
	}()
	defer func() {
		if t.Failed() || testing.Verbose() {
			t.Logf("worker log:\n%s", logs)
		}
	}()
	a.expect("client_ready", nil)
	a.send("hatch", map[string]any{"hatch_rate": 0.0, "num_users": 3}) // rate 0: all at once
	a.expect("hatching", nil)
	a.expect("hatch_complete", nil)
	users.waitUsers(t, 3, time.Second)

	a.close()
	users.waitUsers(t, 0, 3*time.Second)
	b := newFakeMaster09(t, a.port)
	b.expect("client_ready", nil)
	cancel()
	b.expect("quit", nil)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
