package locust

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// message is one Locust RPC message: on the wire a msgpack array of exactly
// three elements, [type, data, node_id], in a single ZeroMQ frame.
type message struct {
	Type   string
	Data   any    // decoded loosely: nil, bool, int64, uint64, float64, string, []any, map[string]any
	NodeID string // "" when nil on the wire
}

// maxPayload bounds what we decode; Locust's largest master message (spawn
// with parsed_options) is a few kB.
const maxPayload = 1 << 20

// decodeMessage parses a master→worker payload. It never panics; anything
// that is not [str, any, str|nil] is an error.
func decodeMessage(b []byte) (message, error) {
	if len(b) > maxPayload {
		return message{}, fmt.Errorf("message of %d bytes is too large", len(b))
	}
	d := msgpack.NewDecoder(bytes.NewReader(b))
	d.UseLooseInterfaceDecoding(true)
	v, err := decodeValue(d, 0)
	if err != nil {
		return message{}, fmt.Errorf("not msgpack: %w", err)
	}
	if _, err := d.PeekCode(); err == nil {
		return message{}, errors.New("trailing bytes after the message")
	}
	arr, ok := v.([]any)
	if !ok || len(arr) != 3 {
		return message{}, fmt.Errorf("want a 3-element array, got %T", v)
	}
	typ, ok := arr[0].(string)
	if !ok || typ == "" || !utf8.ValidString(typ) {
		return message{}, fmt.Errorf("message type is %T, not a string", arr[0])
	}
	m := message{Type: typ, Data: arr[1]}
	switch id := arr[2].(type) {
	case nil:
	case string:
		m.NodeID = id
	default:
		return message{}, fmt.Errorf("node_id is %T, not a string", arr[2])
	}
	return m, nil
}

// maxDepth bounds nesting; Locust's messages are at most 4 levels deep.
const maxDepth = 32

// decodeValue decodes one msgpack value into nil, bool, int64, uint64,
// float64, string, []any or map[string]any. Unlike msgpack's own generic
// decoding it never trusts a declared length for an allocation (a 5-byte
// map32 header claiming 10^9 entries made vmihailenco/msgpack allocate
// gigabytes), rejects ext types (Locust sends none) and drops map entries
// whose key is not a string (Locust's master→worker maps have string keys).
func decodeValue(d *msgpack.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("nested too deeply")
	}
	c, err := d.PeekCode()
	if err != nil {
		return nil, err
	}
	switch {
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		n, err := d.DecodeMapLen()
		if err != nil {
			return nil, err
		}
		m := map[string]any{}
		for range n {
			k, err := decodeValue(d, depth+1)
			if err != nil {
				return nil, err
			}
			v, err := decodeValue(d, depth+1)
			if err != nil {
				return nil, err
			}
			if ks, ok := k.(string); ok {
				m[ks] = v
			}
		}
		return m, nil
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		n, err := d.DecodeArrayLen()
		if err != nil {
			return nil, err
		}
		var a []any
		for range n {
			v, err := decodeValue(d, depth+1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		return a, nil
	case msgpcode.IsExt(c):
		return nil, fmt.Errorf("msgpack ext type 0x%02x", c)
	}
	return d.DecodeInterfaceLoose() // a scalar
}

// encodeMessage serializes [typ, data, nodeID]. data is written by fn (nil
// fn writes msgpack nil). Ints use the smallest encoding and floats are
// float64, as python-msgpack does; there are never ext types.
func encodeMessage(typ, nodeID string, fn func(e *msgpack.Encoder) error) ([]byte, error) {
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	e.UseCompactInts(true)
	err := errors.Join(e.EncodeArrayLen(3), e.EncodeString(typ))
	if fn == nil {
		err = errors.Join(err, e.EncodeNil())
	} else {
		err = errors.Join(err, fn(e))
	}
	err = errors.Join(err, e.EncodeString(nodeID))
	return buf.Bytes(), err
}

// --- typed views of master messages ---

// spawnMsg is a 2.x spawn: absolute per-class counts for this worker.
type spawnMsg struct {
	Timestamp float64
	Counts    map[string]int
}

func parseSpawn(data any) (spawnMsg, error) {
	m, ok := data.(map[string]any)
	if !ok {
		return spawnMsg{}, fmt.Errorf("spawn data is %T, not a map", data)
	}
	ts, err := toFloat(m["timestamp"])
	if err != nil {
		return spawnMsg{}, fmt.Errorf("spawn timestamp: %w", err)
	}
	raw, ok := m["user_classes_count"].(map[string]any)
	if !ok {
		return spawnMsg{}, fmt.Errorf("spawn user_classes_count is %T, not a map", m["user_classes_count"])
	}
	counts := make(map[string]int, len(raw))
	for class, v := range raw {
		n, err := toCount(v)
		if err != nil {
			return spawnMsg{}, fmt.Errorf("spawn count for %q: %w", class, err)
		}
		counts[class] = n
	}
	return spawnMsg{Timestamp: ts, Counts: counts}, nil
}

// hatchMsg is a 0.9 hatch: this slave's share of users and its spawn rate.
type hatchMsg struct {
	Rate  float64 // users per second; <= 0 means all at once
	Users int
}

func parseHatch(data any) (hatchMsg, error) {
	m, ok := data.(map[string]any)
	if !ok {
		return hatchMsg{}, fmt.Errorf("hatch data is %T, not a map", data)
	}
	rate, err := toFloat(m["hatch_rate"])
	if err != nil {
		return hatchMsg{}, fmt.Errorf("hatch_rate: %w", err)
	}
	n, ok := m["num_clients"]
	if !ok {
		n = m["num_users"] // Locust 1.0 renamed it; boomer accepted both
	}
	users, err := toCount(n)
	if err != nil {
		return hatchMsg{}, fmt.Errorf("hatch num_clients: %w", err)
	}
	return hatchMsg{Rate: rate, Users: users}, nil
}

func toFloat(v any) (float64, error) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case int64:
		f = float64(x)
	case uint64:
		f = float64(x)
	default:
		return 0, fmt.Errorf("%T is not a number", v)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%v is not finite", f)
	}
	return f, nil
}

// maxUsers is a sanity bound on one count; more goroutines than this would
// not be a load test but an out-of-memory crash.
const maxUsers = 10_000_000

func toCount(v any) (int, error) {
	f, err := toFloat(v)
	if err != nil {
		return 0, err
	}
	if f < 0 || f > maxUsers || f != math.Trunc(f) {
		return 0, fmt.Errorf("%v is not a user count", f)
	}
	return int(f), nil
}

// newClientID returns Locust's worker id: hostname + "_" + uuid4 hex.
func newClientID() (string, error) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "klayslave"
	}
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return "", fmt.Errorf("client id: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return host + "_" + hex.EncodeToString(u[:]), nil
}
