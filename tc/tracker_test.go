package tc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/klay"
)

// fakeNode answers the JSON-RPC calls the tracker makes: request r is
// handled by handle[r], whose receipt, once in a block, has
// status[handle].
type fakeNode struct {
	mu     sync.Mutex
	handle map[common.Hash]common.Hash
	status map[common.Hash]int
}

type rpcReq struct {
	ID     json.RawMessage   `json:"id"`
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
}

func (f *fakeNode) answer(r rpcReq) map[string]any {
	var h common.Hash
	_ = json.Unmarshal(r.Params[0], &h)
	f.mu.Lock()
	defer f.mu.Unlock()
	var result any
	switch r.Method {
	case "subbridge_convertRequestTxHashToHandleTxHash":
		result = f.handle[h] // zero hash while not handled
	case "klay_getTransactionReceipt":
		if s, ok := f.status[h]; ok {
			result = map[string]any{"transactionHash": h, "blockNumber": "0x1", "status": fmt.Sprintf("%#x", s), "gasUsed": "0x1"}
		}
	}
	return map[string]any{"jsonrpc": "2.0", "id": r.ID, "result": result}
}

func (f *fakeNode) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var batch []rpcReq
	if json.Unmarshal(body, &batch) == nil {
		out := make([]map[string]any, len(batch))
		for i, r := range batch {
			out[i] = f.answer(r)
		}
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	var one rpcReq
	_ = json.Unmarshal(body, &one)
	_ = json.NewEncoder(w).Encode(f.answer(one))
}

// fakeWaiter stands for a block scanner: the test gives the verdicts.
type fakeWaiter struct {
	mu      sync.Mutex
	tracked map[common.Hash]func(klay.Inclusion)
}

func (w *fakeWaiter) Track(h common.Hash, done func(klay.Inclusion)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tracked[h] = done
}

func (w *fakeWaiter) Untrack(h common.Hash) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.tracked[h]
	delete(w.tracked, h)
	return ok
}

func (w *fakeWaiter) Head() uint64                                 { return 0 }
func (w *fakeWaiter) WaitHead(ctx context.Context, n uint64) error { return ctx.Err() }

func (w *fakeWaiter) has(h common.Hash) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.tracked[h]
	return ok
}

// include gives h's verdict as a block would.
func (w *fakeWaiter) include(h common.Hash, status uint64) {
	w.mu.Lock()
	done := w.tracked[h]
	delete(w.tracked, h)
	w.mu.Unlock()
	done(klay.Inclusion{Hash: h, Block: 1, Time: time.Now(), Status: status})
}

func TestTrackerRecordsOutcomes(t *testing.T) {
	node := &fakeNode{handle: map[common.Hash]common.Hash{}, status: map[common.Hash]int{}}
	srv := httptest.NewServer(node)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := klay.Dial(ctx, srv.URL, 4)
	if err != nil {
		t.Fatal(err)
	}
	w := &fakeWaiter{tracked: map[common.Hash]func(klay.Inclusion){}}
	tr := &tracker{sb: c, timeout: 500 * time.Millisecond, interval: 10 * time.Millisecond}
	go tr.run(ctx)

	ok, reverted, lost, early := common.HexToHash("0x1"), common.HexToHash("0x2"), common.HexToHash("0x3"), common.HexToHash("0x4")
	rec := newCounts()
	var mu sync.Mutex
	done := map[common.Hash]bool{}
	for _, h := range []common.Hash{ok, reverted, lost, early} {
		tr.add(&transfer{name: "x e2e", out: rec, dst: w, dstC: c, req: h, start: time.Now(),
			done: func(success bool) { mu.Lock(); done[h] = success; mu.Unlock() }})
	}
	time.Sleep(50 * time.Millisecond)
	if n, f := rec.get("x e2e"); n+f != 0 {
		t.Fatalf("recorded before handling: %d ok, %d failed", n, f)
	}
	// The handles appear; one was in a block before the sub-bridge named
	// it, which the scanner would not look at again.
	a1, a2, a4 := common.HexToHash("0xa1"), common.HexToHash("0xa2"), common.HexToHash("0xa4")
	node.mu.Lock()
	node.handle[ok], node.handle[reverted], node.handle[early] = a1, a2, a4
	node.status[a4] = 1
	node.mu.Unlock()
	waitFor(t, 5*time.Second, "the handles to be tracked", func() bool { return w.has(a1) && w.has(a2) })
	w.include(a1, 1)
	w.include(a2, 0)
	waitFor(t, 5*time.Second, "all transfers to finish", func() bool { return tr.pending() == 0 })
	if n, f := rec.get("x e2e"); n != 2 || f != 2 {
		t.Fatalf("got %d successes and %d failures, want 2 and 2", n, f)
	}
	if w.has(a4) {
		t.Fatal("the handle found by its receipt is still tracked")
	}
	mu.Lock()
	defer mu.Unlock()
	if !done[ok] || !done[early] || done[reverted] || done[lost] || len(done) != 4 {
		t.Fatalf("done callbacks: %v", done)
	}
}

func TestAliasesResolve(t *testing.T) {
	r := Builtin()
	for alias, name := range map[string]string{
		"scKLAYTransferTc":            "scValueTransferTc",
		"scKLAYTransferTcWithCheck":   "scValueTransferWithCheckTc",
		"scKLAYTransferFallbackTc":    "scValueTransferFallbackTc",
		"scERC20TransferTc":           "scTokenTransferTc",
		"scERC20TransferTcWithCheck":  "scTokenTransferWithCheckTc",
		"scERC20Transfer2StepTc":      "scTokenTransfer2StepTc",
		"scERC721TransferTcWithCheck": "scNFTTransferWithCheckTc",
		"scERC721Transfer2StepTc":     "scNFTTransfer2StepTc",
	} {
		c, ok := r.Lookup(alias)
		if !ok || c.Name != name {
			t.Errorf("%s resolves to %q, want %s", alias, c.Name, name)
		}
		if !c.NeedsChains {
			t.Errorf("%s does not need chains", name)
		}
	}
	for _, name := range []string{"mcValueTransferTc", "scChainValueTransferTc", "transferSignedTx"} {
		if c, ok := r.Lookup(name); !ok || !c.NeedsChains {
			t.Errorf("%s missing or without NeedsChains", name)
		}
	}
}

func TestCasesRefuseEnvWithoutChains(t *testing.T) {
	for _, c := range Builtin().All() {
		if !c.NeedsChains {
			continue
		}
		if _, err := c.New(context.Background(), &Env{}); err == nil {
			t.Errorf("%s.New accepted an env without chains", c.Name)
		}
	}
}

func TestNFTPools(t *testing.T) {
	p := newNFTPools()
	a := common.HexToAddress("0xa")
	if p.take(mainToService, a) != nil {
		t.Fatal("empty pool gave an id")
	}
	p.put(mainToService, a, big.NewInt(1))
	if p.take(serviceToMain, a) != nil {
		t.Fatal("pools of the two directions are shared")
	}
	if id := p.take(mainToService, a); id == nil || id.Int64() != 1 {
		t.Fatalf("got %v", id)
	}
}
