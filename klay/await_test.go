package klay

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/kaiachain/kaia/crypto"
	"github.com/kaiachain/kaia/networks/rpc"
)

// nonceNode answers nonces (mined for "latest" and block numbers, pending
// for "pending") and takes raw transactions, single or batched.
type nonceNode struct {
	mu             sync.Mutex
	mined, pending uint64
	sent           []*types.Transaction
}

func (n *nonceNode) set(mined, pending uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mined, n.pending = mined, pending
}

func (n *nonceNode) received() []*types.Transaction {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*types.Transaction(nil), n.sent...)
}

type nodeReq struct {
	ID     json.RawMessage   `json:"id"`
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
}

func (n *nonceNode) answer(r nodeReq) map[string]any {
	out := map[string]any{"jsonrpc": "2.0", "id": r.ID}
	n.mu.Lock()
	defer n.mu.Unlock()
	switch r.Method {
	case "klay_getTransactionCount":
		var tag string
		_ = json.Unmarshal(r.Params[1], &tag)
		if tag == "pending" {
			out["result"] = hexutil.Uint64(n.pending)
		} else {
			out["result"] = hexutil.Uint64(n.mined)
		}
	case "klay_sendRawTransaction":
		var raw hexutil.Bytes
		_ = json.Unmarshal(r.Params[0], &raw)
		tx := new(types.Transaction)
		if err := tx.UnmarshalBinary(raw); err != nil {
			out["error"] = map[string]any{"code": -32000, "message": "bad tx"}
			break
		}
		n.sent = append(n.sent, tx)
		out["result"] = tx.Hash()
	default:
		out["error"] = map[string]any{"code": -32601, "message": "method not found"}
	}
	return out
}

func newNonceNode(t *testing.T) (*nonceNode, *Client) {
	n := &nonceNode{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var batch []nodeReq
		if json.Unmarshal(body, &batch) == nil {
			out := make([]map[string]any, len(batch))
			for i, x := range batch {
				out[i] = n.answer(x)
			}
			_ = json.NewEncoder(w).Encode(out)
			return
		}
		var one nodeReq
		_ = json.Unmarshal(body, &one)
		_ = json.NewEncoder(w).Encode(n.answer(one))
	}))
	t.Cleanup(srv.Close)
	c, err := rpc.DialHTTP(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return n, NewClient(c, srv.URL)
}

// fakeWaiter is a fakeTracker whose head the test moves.
type fakeWaiter struct {
	fakeTracker
	changed chan struct{}
}

func newFakeWaiter() *fakeWaiter { return &fakeWaiter{changed: make(chan struct{})} }

func (w *fakeWaiter) WaitHead(ctx context.Context, n uint64) error {
	for {
		w.mu.Lock()
		ok, ch := w.head >= n, w.changed
		w.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// block moves the head by one.
func (w *fakeWaiter) block() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.head++
	close(w.changed)
	w.changed = make(chan struct{})
}

func (w *fakeWaiter) tracking() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.cbs)
}

// blocksUntil moves the head block by block until cond holds.
func (w *fakeWaiter) blocksUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		w.block()
		time.Sleep(5 * time.Millisecond)
	}
}

func awaitAccount(t *testing.T, c *Client) *Account {
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return NewAccount(key, c)
}

// A transaction whose nonce the chain used for another one is lost at
// once, not at the timeout, and no longer tracked.
func TestAwaitReplaced(t *testing.T) {
	node, c := newNonceNode(t)
	node.set(5, 5)
	w := newFakeWaiter()
	a := awaitAccount(t, c)
	set := newAwaitSet(c, w)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tx, err := set.send(ctx, a, 0, transfer(a))
	if err != nil || tx.Nonce() != 5 {
		t.Fatalf("send: nonce %v, %v", tx, err)
	}
	node.set(6, 6) // another transaction took nonce 5
	got := make(chan outcome, 2)
	go set.wait(ctx, time.Minute, func(o outcome) { got <- o })
	var o outcome
	w.blocksUntil(t, "the verdict", func() bool {
		select {
		case o = <-got:
			return true
		default:
			return false
		}
	})
	if !errors.Is(o.inc.Err, ErrReplaced) || o.a.tx.Hash() != tx.Hash() {
		t.Fatalf("verdict %+v, want replaced", o.inc)
	}
	if n := w.tracking(); n != 0 {
		t.Fatalf("%d transactions still tracked", n)
	}
}

// A gap below the sender's waiting transactions (nothing executable, the
// mined nonce below ours) is filled with the missing nonce.
func TestAwaitFillsGap(t *testing.T) {
	node, c := newNonceNode(t)
	node.set(3, 3)
	w := newFakeWaiter()
	a := awaitAccount(t, c)
	set := newAwaitSet(c, w)
	set.fill = func(_ context.Context, from *Account, nonce uint64) (*types.Transaction, error) {
		return from.SignTransfer(laneChain, nonce, from.Address, new(big.Int), big.NewInt(25e9))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The manager believes nonce 3 went to another worker sharing the key.
	n := next(t, a.Nonce)
	a.Nonce.Done(n, nodeErr("nonce too low: next nonce 4, tx nonce 3"))
	tx, err := set.send(ctx, a, 0, transfer(a))
	if err != nil || tx.Nonce() != 4 {
		t.Fatalf("send: %v, %v", tx, err)
	}
	got := make(chan outcome, 4)
	go set.wait(ctx, time.Minute, func(o outcome) { got <- o })
	var filler *types.Transaction
	w.blocksUntil(t, "a filler", func() bool {
		for _, x := range node.received() {
			if x.Nonce() == 3 {
				filler = x
				return true
			}
		}
		return false
	})
	// Both reach a block.
	if !w.resolve(filler.Hash(), Inclusion{Status: 1, Receipt: &Receipt{Status: 1}}) ||
		!w.resolve(tx.Hash(), Inclusion{Status: 1, Receipt: &Receipt{Status: 1}}) {
		t.Fatal("the filler or the transfer is not tracked")
	}
	seen := map[int]bool{}
	for range 2 {
		select {
		case o := <-got:
			if o.inc.Err != nil {
				t.Fatalf("verdict %+v", o.inc)
			}
			seen[o.a.index] = true
		case <-ctx.Done():
			t.Fatal("no verdict")
		}
	}
	if !seen[0] || !seen[-1] {
		t.Fatalf("verdicts for %v, want the transfer (0) and the filler (-1)", seen)
	}
}

// A wait ends when its timeout passes: what is left is not included and
// untracked.
func TestAwaitTimeout(t *testing.T) {
	node, c := newNonceNode(t)
	node.set(0, 1)
	w := newFakeWaiter()
	a := awaitAccount(t, c)
	set := newAwaitSet(c, w)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := set.send(ctx, a, 0, transfer(a)); err != nil {
		t.Fatal(err)
	}
	var got []outcome
	set.wait(ctx, 50*time.Millisecond, func(o outcome) { got = append(got, o) })
	if len(got) != 1 || !errors.Is(got[0].inc.Err, ErrNotIncluded) {
		t.Fatalf("verdicts %+v, want one not included", got)
	}
	if n := w.tracking(); n != 0 {
		t.Fatalf("%d transactions still tracked", n)
	}
}
