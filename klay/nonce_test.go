package klay

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"testing"

	"github.com/kaiachain/kaia/common"
)

// rpcErr is an answer of the node, as networks/rpc returns it.
type rpcErr struct {
	code int
	msg  string
}

func (e rpcErr) Error() string  { return e.msg }
func (e rpcErr) ErrorCode() int { return e.code }

func nodeErr(msg string) error { return rpcErr{-32000, msg} }

// fakeSource is a pending-nonce counter a test sets by hand.
type fakeSource struct {
	mu    sync.Mutex
	n     uint64
	calls int
}

func (f *fakeSource) PendingNonceAt(context.Context, common.Address) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.n, nil
}

func (f *fakeSource) set(n uint64) { f.mu.Lock(); f.n = n; f.mu.Unlock() }

func TestClassifySendError(t *testing.T) {
	cases := []struct {
		err  error
		want SendOutcome
	}{
		{nil, Accepted},
		{nodeErr("known transaction: 5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060"), Known},
		{nodeErr("nonce too low"), NonceTaken},
		{nodeErr("there is another tx which has the same nonce in the tx pool"), NonceTaken},
		{nodeErr("replacement transaction underpriced"), NonceTaken},
		{nodeErr("future transaction tries to replace pending"), NonceTaken},
		{nodeErr("txpool is full: 4096"), PoolFull},
		{nodeErr("txpool is full and the new tx does not have missing nonce: 4096"), PoolFull},
		{nodeErr("invalid gas price. It must be set to value greater than or equal to baseFee"), Underpriced},
		{nodeErr("invalid unit price"), Underpriced},
		{nodeErr("transaction underpriced"), Underpriced},
		{nodeErr("insufficient funds for gas * price + value"), Rejected},
		{fmt.Errorf("wrapped: %w", nodeErr("nonce too low")), NonceTaken},
		{context.DeadlineExceeded, Unknown},
		{errors.New("Post \"http://127.0.0.1:1\": dial tcp 127.0.0.1:1: connect: connection refused"), Unknown},
		{&url.Error{Op: "Post", URL: "http://127.0.0.1:1", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}}, Rejected},
	}
	for _, c := range cases {
		if got := ClassifySendError(c.err); got != c.want {
			t.Errorf("%v: got %s, want %s", c.err, got, c.want)
		}
	}
}

func TestNextNonceFromError(t *testing.T) {
	for msg, want := range map[string]uint64{
		"nonce too low: next nonce 17, tx nonce 3":            17,
		"nonce too low: address 0xabc, tx: 3 state: 9":        9,
		"invalid transaction: nonce too low: next nonce: 42 ": 42,
	} {
		n, ok := NextNonceFromError(nodeErr(msg))
		if !ok || n != want {
			t.Errorf("%q: got %d %v", msg, n, ok)
		}
	}
	if _, ok := NextNonceFromError(nodeErr("nonce too low")); ok {
		t.Error("found a nonce in a bare nonce too low")
	}
}

func next(t *testing.T, m *NonceManager) uint64 {
	t.Helper()
	n, err := m.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNonceManagerSequentialAndResync(t *testing.T) {
	src := &fakeSource{n: 5}
	m := NewNonceManager(common.Address{1}, src)
	for want := uint64(5); want < 8; want++ {
		n := next(t, m)
		if n != want {
			t.Fatalf("got %d want %d", n, want)
		}
		m.Done(n, nil)
	}
	if src.calls != 1 {
		t.Fatalf("synced %d times, want 1", src.calls)
	}
	// Another worker took nonces 8..19: nonce too low, resync, go on at 20.
	src.set(20)
	n := next(t, m)
	if out := m.Done(n, nodeErr("nonce too low")); out != NonceTaken {
		t.Fatalf("outcome %s", out)
	}
	if n = next(t, m); n != 20 {
		t.Fatalf("after resync got %d want 20", n)
	}
	m.Done(n, nil)
	// Fast-forward when the error carries the next nonce, without a call.
	calls := src.calls
	n = next(t, m)
	m.Done(n, nodeErr("nonce too low: next nonce 30, tx nonce 21"))
	if n = next(t, m); n != 30 || src.calls != calls {
		t.Fatalf("fast-forward: got %d, calls %d→%d", n, calls, src.calls)
	}
	m.Done(n, nil)
}

func TestNonceManagerReusesRejectedNonce(t *testing.T) {
	src := &fakeSource{n: 0}
	m := NewNonceManager(common.Address{1}, src)
	a, b, c := next(t, m), next(t, m), next(t, m)
	m.Done(a, nil)
	m.Done(b, nodeErr("txpool is full: 4096")) // b not used: hand it out again
	m.Done(c, nil)
	if n := next(t, m); n != b {
		t.Fatalf("got %d, want the returned %d", n, b)
	}
	if n := next(t, m); n != 3 {
		t.Fatalf("got %d, want 3", n)
	}
	m.Release(3) // signing failed, say
	if n := next(t, m); n != 3 {
		t.Fatalf("released nonce not reused: %d", n)
	}
}

func TestNonceManagerUnknownOutcome(t *testing.T) {
	src := &fakeSource{n: 0}
	m := NewNonceManager(common.Address{1}, src)
	n0, n1 := next(t, m), next(t, m)
	m.Done(n0, nil)
	// n1 timed out and never reached the node: the pool's count stays 1.
	src.set(1)
	if out := m.Done(n1, context.DeadlineExceeded); out != Unknown {
		t.Fatalf("outcome %s", out)
	}
	// Nothing in flight: the resync goes back and fills the gap, no stall.
	if n := next(t, m); n != 1 {
		t.Fatalf("got %d, want 1 (gap refilled)", n)
	}
}

func TestNonceManagerSoftResyncWhileInFlight(t *testing.T) {
	src := &fakeSource{n: 0}
	m := NewNonceManager(common.Address{1}, src)
	n0, n1 := next(t, m), next(t, m) // both in flight
	m.Done(n0, nodeErr("there is another tx which has the same nonce in the tx pool"))
	src.set(1) // the pool knows only the other worker's nonce 0
	// n1 is still in flight: the resync must not go back below it.
	if n := next(t, m); n != 2 {
		t.Fatalf("got %d, want 2", n)
	}
	m.Done(n1, nil)
}

func TestNonceManagerConcurrentUnique(t *testing.T) {
	m := NewNonceManager(common.Address{1}, &fakeSource{n: 100})
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				n, err := m.Next(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[n] {
					t.Errorf("nonce %d handed out twice", n)
				}
				seen[n] = true
				mu.Unlock()
				m.Done(n, nil)
			}
		}()
	}
	wg.Wait()
	if len(seen) != 1600 {
		t.Fatalf("%d nonces", len(seen))
	}
}
