package locust

import (
	"io"
	"log/slog"
	"testing"

	"github.com/klayslave/klayslave/stats"
	"github.com/vmihailenco/msgpack/v5"
)

// FuzzDecode feeds arbitrary master→worker payloads to the decoder and to
// both state machines (2.x and 0.9, not connected). Nothing may panic.
func FuzzDecode(f *testing.F) {
	seed := func(v ...any) {
		b, err := msgpack.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// As a 2.12.1 master sends them (python-msgpack: smallest ints, float64).
	seed("ack", map[string]any{"index": 0}, "vm_2b3073d58bbc4cc98214a71874fd9a4e")
	seed("spawn", map[string]any{
		"timestamp": 1700000000.123, "user_classes_count": map[string]any{"Alpha": 3, "Beta": 1},
		"host": nil, "stop_timeout": nil,
		"parsed_options": map[string]any{"num_users": 4, "spawn_rate": 4.0, "tags": nil, "headless": true, "user_classes": []any{}},
	}, "vm_2b3073d58bbc4cc98214a71874fd9a4e")
	seed("stop", nil, "vm_2b3073d58bbc4cc98214a71874fd9a4e")
	seed("quit", nil, "vm_2b3073d58bbc4cc98214a71874fd9a4e")
	seed("heartbeat", nil, "vm_2b3073d58bbc4cc98214a71874fd9a4e")
	// As a 0.9 master sends them (unaddressed).
	seed("hatch", map[string]any{"hatch_rate": 2.5, "num_clients": 5, "host": nil, "stop_timeout": nil}, nil)
	seed("hatch", map[string]any{"hatch_rate": 1.0, "num_users": 2, "host": "http://x"}, nil)

	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err == nil {
			// Every typed view must cope with any data.
			_, _ = parseSpawn(m.Data)
			_, _ = parseHatch(m.Data)
			// The envelope round-trips.
			re, err := encodeMessage(m.Type, m.NodeID, nil)
			if err != nil {
				t.Fatal(err)
			}
			m2, err := decodeMessage(re)
			if err != nil || m2.Type != m.Type || m2.NodeID != m.NodeID {
				t.Fatalf("round trip: %+v -> %+v, %v", m, m2, err)
			}
		}
		cfg := Config{MasterHost: "127.0.0.1", MasterPort: 1, Users: newFakeUsers(), Stats: stats.NewCollector(nil),
			Log: discard, ConnectTimeout: 1, ConnectRetries: 1}
		if err != nil || (m.Type != "reconnect" && m.Type != "stop") { // those two dial; their data is ignored
			w := newWorker(cfg, "h_0")
			w.acked = true
			w.handle(b)
		}
		lw := newLegacyWorker(cfg, "h_0")
		lw.handle(b)
		lw.hatchWake.Stop()
	})
}
