package klay

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/kaiachain/kaia/crypto"
	"github.com/kaiachain/kaia/networks/rpc"
	"github.com/kaiachain/kaia/params"
)

// laneNode is a JSON-RPC node for lane tests: refuse, if set, answers a
// raw transaction with an error message ("" accepts it).
type laneNode struct {
	mu      sync.Mutex
	pending uint64
	mined   uint64               // the "latest" count
	balance *big.Int             // nil: plenty
	sent    []*types.Transaction // every raw transaction received, in order
	refuse  func(tx *types.Transaction, n int) string
}

func (n *laneNode) received() []*types.Transaction {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*types.Transaction(nil), n.sent...)
}

func newLaneNode(t *testing.T) (*laneNode, *Client) {
	n := &laneNode{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage   `json:"id"`
			Method string            `json:"method"`
			Params []json.RawMessage `json:"params"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		answer := func(result any, errMsg string) {
			out := map[string]any{"jsonrpc": "2.0", "id": req.ID}
			if errMsg != "" {
				out["error"] = map[string]any{"code": -32000, "message": errMsg}
			} else {
				out["result"] = result
			}
			_ = json.NewEncoder(w).Encode(out)
		}
		switch req.Method {
		case "klay_getBalance":
			n.mu.Lock()
			defer n.mu.Unlock()
			b := n.balance
			if b == nil {
				b = new(big.Int).Lsh(big.NewInt(1), 100)
			}
			answer((*hexutil.Big)(b), "")
		case "klay_getTransactionCount":
			n.mu.Lock()
			defer n.mu.Unlock()
			var tag string
			if len(req.Params) > 1 {
				_ = json.Unmarshal(req.Params[1], &tag)
			}
			if tag == "latest" {
				answer(hexutil.Uint64(n.mined), "")
				return
			}
			answer(hexutil.Uint64(n.pending), "")
		case "klay_sendRawTransaction":
			var raw hexutil.Bytes
			_ = json.Unmarshal(req.Params[0], &raw)
			tx := new(types.Transaction)
			if err := tx.UnmarshalBinary(raw); err != nil {
				answer(nil, "bad tx")
				return
			}
			n.mu.Lock()
			n.sent = append(n.sent, tx)
			msg := ""
			if n.refuse != nil {
				msg = n.refuse(tx, len(n.sent))
			}
			n.mu.Unlock()
			answer(tx.Hash(), msg)
		default:
			answer(nil, "method not found")
		}
	}))
	t.Cleanup(srv.Close)
	c, err := rpc.DialHTTP(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return n, NewClient(c, srv.URL)
}

// fakeTracker resolves tracked transactions when a test says so.
type fakeTracker struct {
	mu   sync.Mutex
	head uint64
	cbs  map[common.Hash]func(Inclusion)
}

func (f *fakeTracker) Track(h common.Hash, done func(Inclusion)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cbs == nil {
		f.cbs = map[common.Hash]func(Inclusion){}
	}
	f.cbs[h] = done
}

func (f *fakeTracker) Untrack(h common.Hash) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.cbs[h]
	delete(f.cbs, h)
	return ok
}

func (f *fakeTracker) Head() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.head
}

func (f *fakeTracker) resolve(h common.Hash, inc Inclusion) bool {
	f.mu.Lock()
	cb := f.cbs[h]
	delete(f.cbs, h)
	f.mu.Unlock()
	if cb == nil {
		return false
	}
	inc.Hash = h
	cb(inc)
	return true
}

func newTestLanes(t *testing.T, cfg LanesConfig) (*Lanes, *Account, *fakeTracker) {
	t.Helper()
	tr := &fakeTracker{}
	cfg.Tracker = tr
	ls, a := oneAccountLanes(t, cfg)
	return ls, a, tr
}

// oneAccountLanes is NewLanes(cfg) over one new account.
func oneAccountLanes(t *testing.T, cfg LanesConfig) (*Lanes, *Account) {
	t.Helper()
	key, _ := crypto.GenerateKey()
	a := NewAccount(key, cfg.Client)
	cfg.Accounts = []*Account{a}
	ls, err := NewLanes(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ls, a
}

var laneChain = big.NewInt(2018)

func transfer(a *Account) Builder {
	return func(nonce uint64) (*types.Transaction, error) {
		return a.SignTransfer(laneChain, nonce, a.Address, big.NewInt(1), big.NewInt(25e9))
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// A refused send never leaves a gap: "txpool is full" is a counted
// failure, the lane cools down, and the next send reuses the nonce.
func TestLaneRefusalLeavesNoGap(t *testing.T) {
	node, c := newLaneNode(t)
	node.pending = 7
	node.refuse = func(_ *types.Transaction, n int) string {
		if n == 1 {
			return "txpool is full"
		}
		return ""
	}
	ls, a, _ := newTestLanes(t, LanesConfig{Client: c, CoolDown: 30 * time.Millisecond})
	l := ls.Lane(a.Address)
	_, err := l.Send(context.Background(), transfer(a))
	if OutcomeOf(err) != PoolFull {
		t.Fatalf("first send: %v, want pool full", err)
	}
	start := time.Now()
	tk, err := l.Send(context.Background(), transfer(a))
	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 25*time.Millisecond {
		t.Fatalf("sent again after %v, within the 30 ms cool-down", waited)
	}
	if tk.Tx.Nonce() != 7 {
		t.Fatalf("second send used nonce %d, want 7 again", tk.Tx.Nonce())
	}
}

// No answer: the ticket comes back with ErrOutcomeUnknown and the tracker
// still decides; the nonce is not reused.
func TestLaneUnknownOutcomeIsTracked(t *testing.T) {
	_, c := newLaneNode(t)
	ls, a, tr := newTestLanes(t, LanesConfig{Client: c})
	l := ls.Lane(a.Address)
	if _, err := l.Send(context.Background(), transfer(a)); err != nil { // syncs the nonce
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the send cannot get an answer
	tk, err := l.Send(ctx, func(nonce uint64) (*types.Transaction, error) { return transfer(a)(nonce) })
	if !errors.Is(err, ErrOutcomeUnknown) || tk == nil {
		t.Fatalf("send = %v, %v; want a ticket and an unknown outcome", tk, err)
	}
	got := make(chan Inclusion, 1)
	tk.Then(func(inc Inclusion) { got <- inc })
	if !tr.resolve(tk.Tx.Hash(), Inclusion{Status: 1, Block: 9}) {
		t.Fatal("the unknown-outcome transaction is not tracked")
	}
	if inc := <-got; inc.Block != 9 {
		t.Fatalf("verdict %+v", inc)
	}
	next, err := l.Send(context.Background(), transfer(a))
	if err != nil || next.Tx.Nonce() != tk.Tx.Nonce()+1 {
		t.Fatalf("next send: nonce %v err %v; want %d", next, err, tk.Tx.Nonce()+1)
	}
}

// A lowest transaction that waits StuckAfter blocks is sent again, byte
// for byte; a lost nonce is filled.
func TestLaneResendsStalledAndFillsLost(t *testing.T) {
	node, c := newLaneNode(t)
	var fills []uint64
	var fmu sync.Mutex
	ls, a, tr := newTestLanes(t, LanesConfig{Client: c, StuckAfter: 2,
		Fill: func(acc *Account, nonce uint64) (*types.Transaction, error) {
			fmu.Lock()
			fills = append(fills, nonce)
			fmu.Unlock()
			return acc.SignTransfer(laneChain, nonce, acc.Address, new(big.Int), big.NewInt(25e9))
		}})
	l := ls.Lane(a.Address)
	t0, _ := l.Send(context.Background(), transfer(a))
	t1, _ := l.Send(context.Background(), transfer(a))
	ctx := context.Background()
	ls.OnBlock(ctx, 1) // not stalled yet
	ls.OnBlock(ctx, 2)
	waitUntil(t, "the resend", func() bool { return len(node.received()) == 3 })
	if got := node.received()[2]; got.Hash() != t0.Tx.Hash() {
		t.Fatalf("resent %s, want the very bytes of nonce 0 (%s)", got.Hash().Hex(), t0.Tx.Hash().Hex())
	}
	waitUntil(t, "the resend to finish", func() bool { l.mu.Lock(); defer l.mu.Unlock(); return !l.fixing })
	// Nonce 0 is never included: the tracker gives up on it; nonce 1
	// waits behind the gap until a filler takes nonce 0.
	tr.resolve(t0.Tx.Hash(), Inclusion{Err: ErrNotIncluded})
	ls.OnBlock(ctx, 10)
	waitUntil(t, "the filler", func() bool { fmu.Lock(); defer fmu.Unlock(); return len(fills) == 1 })
	if fills[0] != 0 {
		t.Fatalf("filled nonce %d, want 0", fills[0])
	}
	waitUntil(t, "the filler to be sent", func() bool { return len(node.received()) == 4 })
	filler := node.received()[3]
	if filler.Nonce() != 0 || filler.Value().Sign() != 0 {
		t.Fatalf("filler nonce %d value %v", filler.Nonce(), filler.Value())
	}
	tr.resolve(filler.Hash(), Inclusion{Status: 1})
	tr.resolve(t1.Tx.Hash(), Inclusion{Status: 1})
	if ls.Pending() != 0 {
		t.Fatalf("%d transactions still pending", ls.Pending())
	}
}

// A full lane waits for an inclusion, bounded by the caller's context.
func TestLaneFullWaitsBounded(t *testing.T) {
	_, c := newLaneNode(t)
	ls, a, tr := newTestLanes(t, LanesConfig{Client: c, MaxPending: 2})
	l := ls.Lane(a.Address)
	first, _ := l.Send(context.Background(), transfer(a))
	if _, err := l.Send(context.Background(), transfer(a)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.Send(ctx, transfer(a)); !errors.Is(err, ErrLaneFull) {
		t.Fatalf("third send on a full lane: %v, want ErrLaneFull", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := l.Send(context.Background(), transfer(a))
		done <- err
	}()
	tr.resolve(first.Tx.Hash(), Inclusion{Status: 1})
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an inclusion did not free the lane")
	}
}

// Account.Send (funding, sweep, set-up) gives up on a pool that stays full
// after its patience, with the node's error, instead of retrying for as
// long as its context allows.
func TestAccountSendGivesUpOnAFullPool(t *testing.T) {
	node, c := newLaneNode(t)
	node.refuse = func(*types.Transaction, int) string { return "txpool is full: 5120" }
	key, _ := crypto.GenerateKey()
	a := NewAccount(key, c)
	start := time.Now()
	_, err := a.send(context.Background(), c, transfer(a), 300*time.Millisecond)
	if OutcomeOf(err) != PoolFull {
		t.Fatalf("err = %v, want pool full", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("gave up after %v, want about the 300 ms patience", took)
	}
	if n := len(node.received()); n < 2 {
		t.Fatalf("%d sends, want retries before giving up", n)
	}
}

// An account that cannot pay for one more transaction sends nothing: the
// node would keep it pending, unexecutable, and a full pool of those lets
// nothing in. Once its transactions are included, the balance is read
// again (fees below their upper bound come back).
func TestLaneStopsAtItsFunds(t *testing.T) {
	node, c := newLaneNode(t)
	ls, a, tr := newTestLanes(t, LanesConfig{Client: c})
	l := ls.Lane(a.Address)
	one, _ := transfer(a)(0)
	node.balance = new(big.Int).Mul(one.Cost(), big.NewInt(2)) // two transfers' worth
	first, err := l.Send(context.Background(), transfer(a))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Send(context.Background(), transfer(a)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Send(context.Background(), transfer(a)); !errors.Is(err, ErrOutOfFunds) {
		t.Fatalf("third send: %v, want ErrOutOfFunds", err)
	}
	if n := len(node.received()); n != 2 {
		t.Fatalf("the node got %d transactions, want 2", n)
	}
	// Both included; they cost half their bound, so one more fits.
	tr.resolve(first.Tx.Hash(), Inclusion{Status: 1})
	for _, tx := range node.received()[1:] {
		tr.resolve(tx.Hash(), Inclusion{Status: 1})
	}
	node.mu.Lock()
	node.balance = one.Cost()
	node.mu.Unlock()
	if _, err := l.Send(context.Background(), transfer(a)); err != nil {
		t.Fatalf("after the balance was read again: %v", err)
	}
}

// A gap that was none: the transaction the lane gave up on was mined after
// all. The filler is refused ("nonce too low"), the lane learns the mined
// count, and it fills no more.
func TestLaneStopsFillingAMinedNonce(t *testing.T) {
	node, c := newLaneNode(t)
	ls, a, tr := newTestLanes(t, LanesConfig{Client: c, StuckAfter: 1,
		Fill: func(acc *Account, nonce uint64) (*types.Transaction, error) {
			return acc.SignTransfer(laneChain, nonce, acc.Address, new(big.Int), big.NewInt(25e9))
		}})
	l := ls.Lane(a.Address)
	t0, _ := l.Send(context.Background(), transfer(a))
	if _, err := l.Send(context.Background(), transfer(a)); err != nil {
		t.Fatal(err)
	}
	tr.resolve(t0.Tx.Hash(), Inclusion{Err: ErrUnconfirmed}) // given up on, yet mined
	node.mu.Lock()
	node.mined = 1
	node.refuse = func(tx *types.Transaction, _ int) string {
		if tx.Nonce() == 0 {
			return "nonce too low"
		}
		return ""
	}
	node.mu.Unlock()
	ls.OnBlock(context.Background(), 5)
	waitUntil(t, "the filler", func() bool { return len(node.received()) == 3 })
	waitUntil(t, "the fill to end", func() bool { l.mu.Lock(); defer l.mu.Unlock(); return !l.fixing && l.confirmed == 1 })
	ls.OnBlock(context.Background(), 5)
	waitUntil(t, "the check to end", func() bool { l.mu.Lock(); defer l.mu.Unlock(); return !l.fixing })
	for _, tx := range node.received()[3:] {
		if tx.Nonce() == 0 {
			t.Fatalf("filled nonce 0 again after the node said it was mined")
		}
	}
}

// eagerTracker reports every transaction included as soon as it is
// tracked: a block scanned before the node's answer to the send arrived.
type eagerTracker struct{ fakeTracker }

func (e *eagerTracker) Track(h common.Hash, done func(Inclusion)) {
	done(Inclusion{Hash: h, Status: 1})
}

// An inclusion seen before the send's answer leaves nothing in flight: the
// lane does not fill up with transactions already mined.
func TestLaneInclusionBeforeAnswer(t *testing.T) {
	_, c := newLaneNode(t)
	ls, a := oneAccountLanes(t, LanesConfig{Client: c, Tracker: &eagerTracker{}, MaxPending: 2})
	l := ls.Lane(a.Address)
	for i := range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		tk, err := l.Send(ctx, transfer(a))
		cancel()
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		got := make(chan Inclusion, 1)
		tk.Then(func(inc Inclusion) { got <- inc })
		select {
		case inc := <-got:
			if inc.Status != 1 || inc.Err != nil {
				t.Fatalf("send %d: verdict %+v", i, inc)
			}
		default:
			t.Fatalf("send %d: no verdict though the block came first", i)
		}
	}
	if n := ls.Pending(); n != 0 {
		t.Fatalf("%d transactions in flight after all were included", n)
	}
}

// seenTracker keeps each transaction's seen and live hooks for the test
// to call.
type seenTracker struct {
	fakeTracker
	seen   map[common.Hash]func()
	live   map[common.Hash]func() bool
	proven map[common.Hash]bool
}

func (s *seenTracker) TrackLive(h common.Hash, o TrackHooks, done func(Inclusion)) {
	s.Track(h, done)
	s.mu.Lock()
	s.seen[h], s.live[h], s.proven[h] = o.Seen, o.Live, o.Proven
	s.mu.Unlock()
}

func newSeenTracker() *seenTracker {
	return &seenTracker{seen: map[common.Hash]func(){}, live: map[common.Hash]func() bool{}, proven: map[common.Hash]bool{}}
}

// A lane's transfer may rest on a receipt its block's header proves; a
// contract creation, legacy or Kaia's own type, needs the node's receipt
// for the contract's address.
func TestLaneProvenReceiptsForAllButCreations(t *testing.T) {
	_, c := newLaneNode(t)
	tr := newSeenTracker()
	ls, a := oneAccountLanes(t, LanesConfig{Client: c, Tracker: tr, MaxPending: 8})
	l := ls.Lane(a.Address)
	legacyCreation := func(nonce uint64) (*types.Transaction, error) {
		return a.Sign(types.NewContractCreation(nonce, big.NewInt(0), 100_000, big.NewInt(25e9), []byte{0x60, 0x00}), laneChain)
	}
	kaiaDeploy := func(nonce uint64) (*types.Transaction, error) {
		tx, err := types.NewTransactionWithMap(types.TxTypeSmartContractDeploy, map[types.TxValueKeyType]interface{}{
			types.TxValueKeyNonce: nonce, types.TxValueKeyFrom: a.Address, types.TxValueKeyTo: (*common.Address)(nil),
			types.TxValueKeyAmount: big.NewInt(0), types.TxValueKeyGasLimit: uint64(100_000), types.TxValueKeyGasPrice: big.NewInt(25e9),
			types.TxValueKeyData: []byte{0x60, 0x00}, types.TxValueKeyHumanReadable: false, types.TxValueKeyCodeFormat: params.CodeFormatEVM,
		})
		if err != nil {
			return nil, err
		}
		return a.Sign(tx, laneChain)
	}
	for _, c := range []struct {
		name   string
		build  Builder
		proven bool
	}{{"transfer", transfer(a), true}, {"legacy creation", legacyCreation, false}, {"Kaia deploy", kaiaDeploy, false}} {
		tk, err := l.Send(context.Background(), c.build)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		tr.mu.Lock()
		got, ok := tr.proven[tk.Tx.Hash()]
		tr.mu.Unlock()
		if !ok || got != c.proven {
			t.Errorf("%s: tracked with Proven %v (tracked: %v), want %v", c.name, got, ok, c.proven)
		}
	}
}

// A block that holds the transaction frees its slot before the receipt
// gives the verdict, which still comes once.
func TestLaneSlotFreedWhenSeen(t *testing.T) {
	_, c := newLaneNode(t)
	tr := newSeenTracker()
	ls, a := oneAccountLanes(t, LanesConfig{Client: c, Tracker: tr, MaxPending: 1})
	l := ls.Lane(a.Address)
	first, err := l.Send(context.Background(), transfer(a))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.Send(ctx, transfer(a)); !errors.Is(err, ErrLaneFull) {
		t.Fatalf("second send before the block: %v, want ErrLaneFull", err)
	}
	tr.mu.Lock()
	seen := tr.seen[first.Tx.Hash()]
	tr.mu.Unlock()
	seen()
	seen() // a block fetched again
	ctx2, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	if _, err := l.Send(ctx2, transfer(a)); err != nil {
		t.Fatalf("send after the block held the first: %v", err)
	}
	var verdicts atomic.Int32
	first.Then(func(Inclusion) { verdicts.Add(1) })
	if verdicts.Load() != 0 {
		t.Fatal("a verdict before the receipt")
	}
	tr.resolve(first.Tx.Hash(), Inclusion{Status: 1})
	if n := verdicts.Load(); n != 1 {
		t.Fatalf("%d verdicts, want 1", n)
	}
	if n := ls.Pending(); n != 1 {
		t.Fatalf("%d in flight, want the second send's 1", n)
	}
}

// A lane tells the tracker that its transaction can still be included
// while it is in flight and no block has spent its nonce, and no longer
// once a block holds it or a later nonce.
func TestLaneTellsWhetherStillIncludable(t *testing.T) {
	_, c := newLaneNode(t)
	tr := newSeenTracker()
	ls, a := oneAccountLanes(t, LanesConfig{Client: c, Tracker: tr, MaxPending: 4})
	l := ls.Lane(a.Address)
	var tks []*Ticket
	for range 3 {
		tk, err := l.Send(context.Background(), transfer(a))
		if err != nil {
			t.Fatal(err)
		}
		tks = append(tks, tk)
	}
	hook := func(i int) (func(), func() bool) {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		h := tks[i].Tx.Hash()
		return tr.seen[h], tr.live[h]
	}
	for i := range tks {
		if _, live := hook(i); live == nil || !live() {
			t.Fatalf("transaction %d in flight: live says it cannot be included", i)
		}
	}
	seen0, live0 := hook(0)
	seen0()
	if live0() {
		t.Fatal("transaction 0: live after a block held it")
	}
	// A block holds nonce 2: nonce 1, still in flight, can no longer be
	// included.
	seen2, live2 := hook(2)
	_, live1 := hook(1)
	seen2()
	if live1() || live2() {
		t.Fatalf("after a block held nonce 2: live(1) %v, live(2) %v, want false", live1(), live2())
	}
}

// When no lane can send, Pick hands out a full lane that will free, not
// one whose lowest transaction is stalled; once a block takes that
// transaction, the lane is picked again.
func TestPickAvoidsAStalledLane(t *testing.T) {
	_, c := newLaneNode(t)
	tr := &fakeTracker{}
	var accts []*Account
	for range 3 {
		key, _ := crypto.GenerateKey()
		accts = append(accts, NewAccount(key, c))
	}
	ls, err := NewLanes(LanesConfig{Client: c, Tracker: tr, Accounts: accts, MaxPending: 1, StuckAfter: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stuck, err := ls.Lane(accts[0].Address).Send(ctx, transfer(accts[0])) // sent at head 0
	if err != nil {
		t.Fatal(err)
	}
	tr.mu.Lock()
	tr.head = 2
	tr.mu.Unlock()
	for _, a := range accts[1:] {
		if _, err := ls.Lane(a.Address).Send(ctx, transfer(a)); err != nil {
			t.Fatal(err)
		}
	}
	ls.OnBlock(ctx, 2) // the first lane's transaction has waited 2 blocks
	for range 200 {
		if got := ls.Pick(); got == accts[0] {
			t.Fatal("Pick handed out the stalled lane while others were only full")
		}
	}
	tr.resolve(stuck.Tx.Hash(), Inclusion{Status: 1})
	for range 20 {
		if got := ls.Pick(); got != accts[0] {
			t.Fatalf("Pick gave %s, want the lane a block has just freed", got.Address.Hex())
		}
	}
}

// A stalled transaction the node keeps saying it has is reported, once a
// block for all such, with the node's answer.
func TestLaneReportsTransactionsTheNodeHolds(t *testing.T) {
	node, c := newLaneNode(t)
	node.refuse = func(tx *types.Transaction, n int) string {
		if n > 1 {
			return "known transaction: " + tx.Hash().Hex()[2:]
		}
		return ""
	}
	var logs syncBuffer
	ls, a, _ := newTestLanes(t, LanesConfig{Client: c, StuckAfter: 1, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	l := ls.Lane(a.Address)
	if _, err := l.Send(context.Background(), transfer(a)); err != nil {
		t.Fatal(err)
	}
	for head := uint64(1); head <= 3; head++ {
		ls.OnBlock(context.Background(), head)
		waitUntil(t, "the resend", func() bool { return len(node.received()) == int(head)+1 })
		waitUntil(t, "the resend to finish", func() bool { l.mu.Lock(); defer l.mu.Unlock(); return !l.fixing })
	}
	if strings.Contains(logs.String(), "no block holds them") {
		t.Fatalf("reported before the third resend: %s", logs.String())
	}
	ls.OnBlock(context.Background(), 4)
	if got := logs.String(); !strings.Contains(got, `no block holds them yet" count=1 `) || !strings.Contains(got, "nonce 0: known (known transaction:") {
		t.Fatalf("log:\n%s", got)
	}
}
