package klay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/kaiachain/kaia/crypto"
)

// rawSink answers klay_sendRawTransaction, alone or in batches, with the
// keccak of the raw bytes, or "txpool is full" for a raw starting with 0xff.
// release, when set, holds every answer until it is closed.
type rawSink struct {
	requests, calls atomic.Int64
	maxBatch        atomic.Int64
	release         chan struct{}
}

func (s *rawSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.requests.Add(1)
	if s.release != nil {
		<-s.release
	}
	type req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params []hexutil.Bytes `json:"params"`
	}
	answer := func(q req) map[string]interface{} {
		s.calls.Add(1)
		out := map[string]interface{}{"jsonrpc": "2.0", "id": q.ID}
		if len(q.Params) == 1 && len(q.Params[0]) > 0 && q.Params[0][0] == 0xff {
			out["error"] = map[string]interface{}{"code": -32000, "message": "txpool is full: 4096"}
		} else if len(q.Params) == 1 {
			out["result"] = crypto.Keccak256Hash(q.Params[0])
		}
		return out
	}
	w.Header().Set("Content-Type", "application/json")
	var batch []req
	if json.Unmarshal(body, &batch) == nil {
		for old := s.maxBatch.Load(); int64(len(batch)) > old && !s.maxBatch.CompareAndSwap(old, int64(len(batch))); old = s.maxBatch.Load() {
		}
		var out []map[string]interface{}
		for _, q := range batch {
			out = append(out, answer(q))
		}
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	var one req
	_ = json.Unmarshal(body, &one)
	_ = json.NewEncoder(w).Encode(answer(one))
}

func dialSink(t *testing.T, s *rawSink) *Client {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := Dial(context.Background(), srv.URL, 64)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fillSlots makes rawBatchSlots calls that the sink holds, one after the
// other so that each goes out alone, and returns a wait for their end.
func fillSlots(t *testing.T, c *Client, s *rawSink) *sync.WaitGroup {
	t.Helper()
	var wg sync.WaitGroup
	for i := range rawBatchSlots {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = c.SendRawTransaction(context.Background(), []byte{0xee, byte(i)}) }()
		waitUntil(t, "the call to reach the node", func() bool { return s.requests.Load() == int64(i+1) })
	}
	return &wg
}

func TestRawSendAloneWhenIdle(t *testing.T) {
	s := &rawSink{}
	c := dialSink(t, s)
	for i := range 3 {
		raw := []byte{byte(i), 1, 2}
		h, err := c.SendRawTransaction(context.Background(), raw)
		if err != nil || h != crypto.Keccak256Hash(raw) {
			t.Fatalf("send %d: %s, %v", i, h.Hex(), err)
		}
	}
	if s.requests.Load() != 3 || s.maxBatch.Load() != 0 {
		t.Fatalf("%d requests, largest batch %d: sequential calls must go out alone", s.requests.Load(), s.maxBatch.Load())
	}
}

func TestRawSendCoalescesAndAnswersEach(t *testing.T) {
	s := &rawSink{release: make(chan struct{})}
	c := dialSink(t, s)
	// The first calls hold every slot; the rest queue behind them.
	held := fillSlots(t, c, s)
	const n = 400
	var wg sync.WaitGroup
	errs := make([]error, n)
	hashes := make([]common.Hash, n)
	raws := make([][]byte, n)
	for i := range n {
		raws[i] = []byte(fmt.Sprintf("tx %d", i))
		if i%10 == 0 {
			raws[i] = append([]byte{0xff}, raws[i]...)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			hashes[i], errs[i] = c.SendRawTransaction(context.Background(), raws[i])
		}()
	}
	waitUntil(t, "the calls to queue", func() bool {
		c.raws.mu.Lock()
		defer c.raws.mu.Unlock()
		return len(c.raws.queue) == n
	})
	close(s.release)
	wg.Wait()
	held.Wait()
	for i := range n {
		if i%10 == 0 {
			if ClassifySendError(errs[i]) != PoolFull {
				t.Fatalf("call %d: %v, want its own pool-full answer", i, errs[i])
			}
			continue
		}
		if errs[i] != nil || hashes[i] != crypto.Keccak256Hash(raws[i]) {
			t.Fatalf("call %d: %s, %v", i, hashes[i].Hex(), errs[i])
		}
	}
	if s.calls.Load() != n+rawBatchSlots {
		t.Fatalf("node saw %d calls, want %d", s.calls.Load(), n)
	}
	if r := s.requests.Load(); r > n/10 || s.maxBatch.Load() > rawBatchMax {
		t.Fatalf("%d HTTP requests for %d calls, largest batch %d: not coalesced within bounds", r, n, s.maxBatch.Load())
	}
}

func TestRawSendBoundedByCallerContext(t *testing.T) {
	s := &rawSink{release: make(chan struct{})}
	defer close(s.release)
	c := dialSink(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.SendRawTransaction(ctx, []byte{1})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("%v after %s: a stuck node must not hold the caller past its context", err, time.Since(start))
	}
	if ClassifySendError(err) != Unknown {
		t.Fatalf("a call cut short is an unknown outcome, got %v", ClassifySendError(err))
	}
}

func TestRawSendSkipsCallersGoneBeforeSending(t *testing.T) {
	s := &rawSink{release: make(chan struct{})}
	c := dialSink(t, s)
	wg := fillSlots(t, c, s)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.SendRawTransaction(ctx, []byte{0x42}); done <- err }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	close(s.release)
	wg.Wait()
	if got := s.calls.Load(); got != rawBatchSlots {
		t.Fatalf("node saw %d calls: a call whose caller left before it was sent must not be sent", got)
	}
}

func TestRawAnswersMatchedByID(t *testing.T) {
	mk := func(n int) []*rawCall {
		calls := make([]*rawCall, n)
		for i := range calls {
			calls[i] = &rawCall{}
		}
		return calls
	}
	h := common.HexToHash("0x01")
	calls := mk(4)
	// Out of order, one error, one id answered twice, one never, one unknown id.
	data := `[{"id":2,"error":{"code":-32000,"message":"nonce too low"}},{"id":0,"result":"` + h.Hex() + `"},` +
		`{"id":0,"result":"0x02"},{"id":7,"result":"0x03"},{"id":3,"result":12}]`
	if err := answerCalls([]byte(data), calls, "u"); err != nil {
		t.Fatal(err)
	}
	if calls[0].err != nil || calls[0].hash != h {
		t.Fatalf("call 0: %v %s", calls[0].err, calls[0].hash.Hex())
	}
	if !errors.Is(calls[1].err, errNoAnswer) || ClassifySendError(calls[1].err) != Unknown {
		t.Fatalf("call 1 had no answer: %v", calls[1].err)
	}
	if ClassifySendError(calls[2].err) != NonceTaken {
		t.Fatalf("call 2: %v is the node's own answer", calls[2].err)
	}
	if calls[3].err == nil || ClassifySendError(calls[3].err) != Unknown {
		t.Fatalf("call 3's result is no hash: %v", calls[3].err)
	}
	for _, bad := range []string{`{"id":0}`, `not json`, `[{"id":"x","result":"0x01"}]`} {
		calls := mk(2)
		err := answerCalls([]byte(bad), calls, "u")
		if err == nil && (calls[0].err == nil || calls[1].err == nil) {
			t.Fatalf("%s: answered %v %v", bad, calls[0].err, calls[1].err)
		}
	}
}

func FuzzRawAnswers(f *testing.F) {
	f.Add([]byte(`[{"id":0,"result":"0x01"},{"id":1,"error":{"code":1,"message":"x"}}]`), uint8(2))
	f.Add([]byte(`{"id":0,"result":"0x01"}`), uint8(1))
	f.Add([]byte(`[{"id":-1},{"id":99999999999999999999}]`), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, n uint8) {
		calls := make([]*rawCall, int(n%8)+1)
		for i := range calls {
			calls[i] = &rawCall{}
		}
		if err := answerCalls(data, calls, "u"); err != nil {
			return
		}
		for i, c := range calls {
			if c.err == nil && c.hash == (common.Hash{}) && !bytes.Contains(data, []byte("0x")) {
				t.Fatalf("call %d succeeded with no hash in %q", i, data)
			}
		}
	})
}
