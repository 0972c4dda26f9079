package locust

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/klayslave/klayslave/stats"
	"github.com/vmihailenco/msgpack/v5"
)

// fakeMaster2 is a 2.x master (ROUTER) scripted by the test, to exercise
// paths a headless real master does not take: malformed messages, stale
// spawns, stop, reconnect, master heartbeats.
type fakeMaster2 struct {
	t      *testing.T
	router zmq4.Socket
	port   int
	in     chan fakeMsg
}

type fakeMsg struct {
	identity string
	body     []any
	at       time.Time // when the master received it
}

func newFakeMaster2(t *testing.T) *fakeMaster2 {
	t.Helper()
	m := &fakeMaster2{t: t, port: freePort(t), in: make(chan fakeMsg, 1000)}
	m.router = zmq4.NewRouter(context.Background())
	if err := m.router.Listen(fmt.Sprintf("tcp://127.0.0.1:%d", m.port)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.router.Close() })
	go func() {
		for {
			msg, err := m.router.Recv()
			if err != nil {
				close(m.in)
				return
			}
			v, err := decodeGenericErr(msg.Frames[1])
			arr, _ := v.([]any)
			if err != nil || len(arr) != 3 {
				arr = []any{fmt.Sprintf("undecodable %x: %v", msg.Frames[1], err), nil, nil}
			}
			m.in <- fakeMsg{string(msg.Frames[0]), arr, time.Now()}
		}
	}()
	return m
}

func (m *fakeMaster2) sendRaw(id string, payload []byte) {
	m.t.Helper()
	if err := m.router.Send(zmq4.NewMsgFrom([]byte(id), payload)); err != nil {
		m.t.Fatal(err)
	}
}

func (m *fakeMaster2) send(id, typ string, data any) {
	m.t.Helper()
	b, err := msgpack.Marshal([]any{typ, data, id})
	if err != nil {
		m.t.Fatal(err)
	}
	m.sendRaw(id, b)
}

// next returns the next message that is not a heartbeat or stats (those are
// counted into seen, by type).
func (m *fakeMaster2) next(seen map[string]int, timeout time.Duration) (fakeMsg, bool) {
	m.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case msg, ok := <-m.in:
			if !ok {
				m.t.Fatal("router closed")
			}
			typ, _ := msg.body[0].(string)
			if typ == "heartbeat" || typ == "stats" {
				if msg.body[2] != msg.identity {
					m.t.Errorf("%s node_id %v != identity %q", typ, msg.body[2], msg.identity)
				}
				if seen != nil {
					seen[typ]++
				}
				continue
			}
			return msg, true
		case <-deadline:
			return fakeMsg{}, false
		}
	}
}

func (m *fakeMaster2) expect(typ string) fakeMsg {
	m.t.Helper()
	msg, ok := m.next(nil, 5*time.Second)
	if !ok {
		m.t.Fatalf("timed out waiting for %s", typ)
	}
	if msg.body[0] != typ {
		m.t.Fatalf("got %v, want %s", msg.body, typ)
	}
	return msg
}

// expectNothing asserts that only heartbeats/stats arrive for d.
func (m *fakeMaster2) expectNothing(d time.Duration, seen map[string]int) {
	m.t.Helper()
	if msg, ok := m.next(seen, d); ok {
		m.t.Fatalf("unexpected %v", msg.body)
	}
}

func TestFakeMaster2Lifecycle(t *testing.T) {
	t.Parallel()
	m := newFakeMaster2(t)
	users, logs := newFakeUsers(), &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- RunWorker(ctx, Config{MasterPort: m.port, Users: users, Stats: stats.NewCollector(nil),
			Log: testLogger(t, logs), ConnectTimeout: 3 * time.Second})
	}()
	defer func() {
		if t.Failed() || testing.Verbose() {
			t.Logf("worker log:\n%s", logs)
		}
	}()

	ready := m.expect("client_ready")
	id := ready.identity
	if ready.body[1] != int64(-1) || ready.body[2] != id {
		t.Fatalf("client_ready = %v from %q, want [-1, identity]", ready.body, id)
	}
	// Not acked yet: garbage and a spawn must not provoke anything, not even heartbeats.
	seen := map[string]int{}
	m.sendRaw(id, []byte("\xde\xad\xbe\xef"))
	m.sendRaw(id, []byte("\x92\xa3ack\xc0"))
	m.send(id, "spawn", map[string]any{"timestamp": 1.0, "user_classes_count": map[string]any{"A": 1}})
	m.expectNothing(1500*time.Millisecond, seen)
	if seen["heartbeat"] != 0 || users.UserCount() != 0 {
		t.Fatalf("before ack: %v, %d users", seen, users.UserCount())
	}

	m.send(id, "ack", map[string]any{"index": 0})
	m.send(id, "no_such_type", nil)
	m.send(id, "heartbeat", nil) // Locust >= 2.19
	m.expectNothing(1500*time.Millisecond, seen)
	if seen["heartbeat"] == 0 {
		t.Errorf("no heartbeat after ack")
	}

	m.send(id, "spawn", map[string]any{"timestamp": 10.0, "user_classes_count": map[string]any{"A": 2, "B": 0},
		"host": nil, "stop_timeout": nil, "parsed_options": map[string]any{}})
	m.expect("spawning")
	sc := m.expect("spawning_complete").body[1].(map[any]any)
	if toInt(sc["user_count"]) != 2 || toInt(sc["user_classes_count"].(map[any]any)["A"]) != 2 {
		t.Errorf("spawning_complete = %v", sc)
	}
	m.send(id, "spawn", map[string]any{"timestamp": 10.0, "user_classes_count": map[string]any{"A": 7}}) // stale
	m.send(id, "spawn", map[string]any{"timestamp": 11, "user_classes_count": map[string]any{"A": 3}})   // int timestamp
	m.expect("spawning")
	m.expect("spawning_complete")
	if users.UserCount() != 3 {
		t.Errorf("users = %v, want A:3 (the stale spawn ignored)", users.Counts())
	}

	m.send(id, "stop", nil)
	m.expect("client_stopped")
	m.expect("client_ready")
	if users.UserCount() != 0 {
		t.Errorf("users after stop = %v", users.Counts())
	}
	m.send(id, "ack", map[string]any{"index": 0})

	// reconnect: a new connection with the same identity, no client_ready.
	m.send(id, "reconnect", nil)
	clear(seen)
	m.expectNothing(2500*time.Millisecond, seen)
	if seen["heartbeat"] == 0 {
		t.Errorf("no heartbeat after reconnect")
	}

	cancel()
	m.expect("quit")
	if err := <-errc; err != nil {
		t.Fatalf("RunWorker: %v", err)
	}
}
