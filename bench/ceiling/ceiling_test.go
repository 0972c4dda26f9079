package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/crypto"
	"github.com/kaiachain/kaia/networks/rpc"
	"github.com/klayslave/klayslave/klay"
)

func TestPerAccount(t *testing.T) {
	got := perAccount(10, 4)
	want := []int{3, 3, 2, 2}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("perAccount(10, 4) = %v, want %v", got, want)
		}
	}
	if n := perAccount(200000, 500)[499]; n != 400 {
		t.Fatalf("200,000 over 500 accounts: last gets %d, want 400", n)
	}
}

// The signed bytes must decode as Kaia value transfers from the right
// account with consecutive nonces: that is what the node will check.
func TestSignPlan(t *testing.T) {
	funder, _ := crypto.GenerateKey()
	accs, err := klay.DeriveAccounts(funder, "ceiling-test", 0, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	chainID := big.NewInt(2018)
	to := common.HexToAddress("0x1000000000000000000000000000000000000001")
	gp := big.NewInt(750e9)
	p, err := signPlan(context.Background(), accs, []uint64{0, 5, 9}, []int{2, 2, 1}, chainID, to, big.NewInt(1), gp)
	if err != nil {
		t.Fatal(err)
	}
	if p.total() != 5 || len(p.hashes()) != 5 {
		t.Fatalf("total %d, distinct hashes %d; want 5 and 5", p.total(), len(p.hashes()))
	}
	signer := types.LatestSignerForChainID(chainID)
	for i, txs := range p {
		for j, s := range txs {
			tx := new(types.Transaction)
			if err := tx.UnmarshalBinary(s.raw); err != nil {
				t.Fatalf("account %d tx %d: %v", i, j, err)
			}
			if tx.Type() != types.TxTypeValueTransfer {
				t.Fatalf("type %v, want TxTypeValueTransfer", tx.Type())
			}
			if want := []uint64{0, 5, 9}[i] + uint64(j); tx.Nonce() != want {
				t.Fatalf("account %d tx %d: nonce %d, want %d", i, j, tx.Nonce(), want)
			}
			from, err := types.Sender(signer, tx)
			if err != nil || from != accs[i].Address {
				t.Fatalf("account %d tx %d: sender %s (%v), want %s", i, j, from.Hex(), err, accs[i].Address.Hex())
			}
			if tx.Hash() != s.hash || *tx.To() != to || tx.GasPrice().Cmp(gp) != 0 {
				t.Fatalf("account %d tx %d: hash, recipient or gas price differ from what was signed", i, j)
			}
		}
	}
}

const kaiaBlock = `{"number":"0x2a","timestamp":"0x6560a1f0","timestampFoS":"0x19","gasUsed":"0xa410",
 "baseFeePerGas":"0x5d21dba00","hash":"0x01","transactions":["0x%064x","0x%064x"]}`

func TestDecodeBlock(t *testing.T) {
	ours := map[common.Hash]struct{}{common.BigToHash(big.NewInt(7)): {}}
	b, err := decodeBlock(json.RawMessage(fmt.Sprintf(kaiaBlock, 7, 8)), ours)
	if err != nil {
		t.Fatal(err)
	}
	want := block{Number: 42, TimeMs: 0x6560a1f0*1000 + 250, Txs: 2, Ours: 1, GasUsed: 42000, BaseFeeGkei: 25}
	if b != want {
		t.Fatalf("got %+v, want %+v", b, want)
	}
	if _, err := decodeBlock(json.RawMessage("null"), ours); !errors.Is(err, errNoBlock) {
		t.Fatalf("null block: %v, want errNoBlock", err)
	}
	if _, err := decodeBlock(json.RawMessage(`{"number":"0x1","timestamp":"0x1","timestampFoS":"0x64","transactions":[]}`), ours); err == nil {
		t.Fatal("timestampFoS 100 accepted")
	}
}

// Blocks come from another program: no answer may panic the count or give
// a block with more of ours than it holds.
func FuzzDecodeBlock(f *testing.F) {
	f.Add([]byte(fmt.Sprintf(kaiaBlock, 7, 8)))
	f.Add([]byte(`{"number":"0x1","timestamp":"0x1"}`))
	f.Add([]byte(`{"number":null,"transactions":["0x07"]}`))
	f.Add([]byte(`[]`))
	ours := map[common.Hash]struct{}{common.BigToHash(big.NewInt(7)): {}}
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := decodeBlock(raw, ours)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error on several lines: %q", err)
			}
			return
		}
		if b.Ours > b.Txs || b.Txs < 0 || b.TimeMs < 0 {
			t.Fatalf("impossible block %+v", b)
		}
	})
}

func TestSummarize(t *testing.T) {
	start := block{Number: 100, TimeMs: 1_000_000}
	var bs []block
	for i := range 30 {
		n := 2000
		if i >= 24 {
			n = 500
		}
		if i == 29 {
			n = 0
		}
		bs = append(bs, block{Number: uint64(101 + i), TimeMs: 1_000_000 + int64(i+1)*1000, Txs: n, Ours: n})
	}
	s := summarize(start, bs, 24)
	if s.First.Blocks != 24 || s.First.Txs != 48000 || s.First.Seconds != 24 || s.First.TPS != 2000 {
		t.Fatalf("first window %+v, want 24 blocks, 48,000 txs over 24 s = 2,000/s", s.First)
	}
	if s.Run.Txs != 48000+5*500 || s.Run.Seconds != 30 || s.EmptyBlocks != 1 || s.FirstBlock != 101 || s.LastBlock != 130 {
		t.Fatalf("run %+v, empty %d, blocks %d..%d", s.Run, s.EmptyBlocks, s.FirstBlock, s.LastBlock)
	}
	// A run shorter than the early window counts what there is.
	if s := summarize(start, bs[:3], 24); s.First.Blocks != 3 || s.First.TPS != 2000 {
		t.Fatalf("3-block run: first window %+v", s.First)
	}
	if s := summarize(start, nil, 24); s.Run.TPS != 0 || s.PerBlock == nil {
		t.Fatalf("no blocks: %+v", s)
	}
}

func TestTrimTail(t *testing.T) {
	bs := []block{{Number: 1, Ours: 5}, {Number: 2, Ours: 0, Txs: 3}, {Number: 3, Ours: 4}, {Number: 4}, {Number: 5}}
	if got := trimTail(bs, 2); len(got) != 3 {
		t.Fatalf("kept %d blocks, want 3 (up to the last one holding ours)", len(got))
	}
	if got := trimTail(bs, 4); len(got) != 4 {
		t.Fatalf("kept %d blocks, want 4 (up to the deadline block)", len(got))
	}
}

// fakeNode answers klay_sendRawTransaction like a Kaia pool would: it
// checks nonce order per account, says "txpool is full" for the first
// fullAnswers sends of selected transactions, and rejects others.
type fakeNode struct {
	mu       sync.Mutex
	next     map[byte]byte // account → next nonce expected
	fullLeft map[string]int
	reject   map[string]bool
	taken    []string
	delay    time.Duration
}

type rpcErr string

func (e rpcErr) Error() string  { return string(e) }
func (e rpcErr) ErrorCode() int { return -32000 }

var _ rpc.Error = rpcErr("")

// raw bytes in these tests are {account, nonce}.
func (n *fakeNode) SendRawTransaction(ctx context.Context, raw []byte) (common.Hash, error) {
	if n.delay > 0 {
		select {
		case <-time.After(n.delay):
		case <-ctx.Done():
			return common.Hash{}, ctx.Err()
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	id := fmt.Sprintf("%d/%d", raw[0], raw[1])
	if n.fullLeft[id] > 0 {
		n.fullLeft[id]--
		return common.Hash{}, rpcErr("txpool is full: 5120")
	}
	if n.reject[id] {
		return common.Hash{}, rpcErr("insufficient funds of the sender for value")
	}
	if raw[1] != n.next[raw[0]] {
		return common.Hash{}, rpcErr(fmt.Sprintf("out of order: %s, expected nonce %d", id, n.next[raw[0]]))
	}
	n.next[raw[0]]++
	n.taken = append(n.taken, id)
	return common.Hash{}, nil
}

func testPlan(accounts, perAcct int) plan {
	p := make(plan, accounts)
	for i := range p {
		for j := range perAcct {
			p[i] = append(p[i], signedTx{raw: []byte{byte(i), byte(j)}})
		}
	}
	return p
}

func TestSendAllOrderRetryAndReject(t *testing.T) {
	node := &fakeNode{next: map[byte]byte{}, fullLeft: map[string]int{"0/0": 3, "2/1": 2}, reject: map[string]bool{"3/2": true}}
	p := testPlan(5, 4)
	st := newSendStats(time.Now(), 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sendAll(ctx, node, p, 2, st)
	r := st.report(time.Second)
	// Account 3 loses nonce 2 and so nonce 3: 20 − 2 taken.
	if r.Taken != 18 || r.PoolFull != 5 || r.Rejected != 1 || r.AbandonedAccounts != 1 || r.NoAnswer != 0 {
		t.Fatalf("report %+v; want 18 taken, 5 pool-full retries, 1 rejected, 1 account dropped", r)
	}
	for a := range byte(5) {
		want := byte(4)
		if a == 3 {
			want = 2
		}
		if node.next[a] != want {
			t.Fatalf("account %d reached nonce %d, want %d", a, node.next[a], want)
		}
	}
	if r.AllSentAfterSec == nil {
		t.Fatal("every sender finished, but the report says the plan was not sent in full")
	}
	if !strings.Contains(r.FirstErrors["rejected"], "insufficient funds") {
		t.Fatalf("first errors %v", r.FirstErrors)
	}
}

// The deadline stops the senders even while the pool stays full.
func TestSendAllStopsAtDeadline(t *testing.T) {
	node := &fakeNode{next: map[byte]byte{}, fullLeft: map[string]int{"0/0": 1 << 30, "1/0": 1 << 30}}
	st := newSendStats(time.Now(), time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan struct{})
	go func() { sendAll(ctx, node, testPlan(2, 3), 2, st); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("senders still running 5 s after a 300 ms deadline")
	}
	r := st.report(300 * time.Millisecond)
	if r.Taken != 0 || r.PoolFull == 0 || r.AllSentAfterSec != nil {
		t.Fatalf("report %+v; want nothing taken, pool-full retries, plan not sent in full", r)
	}
}

// The saturation script reads these keys: keep them.
func TestResultJSONKeys(t *testing.T) {
	start := block{Number: 9, TimeMs: 1000}
	sum := summarize(start, []block{{Number: 10, TimeMs: 2000, Txs: 2500, Ours: 2400}, {Number: 11, TimeMs: 3000}}, 24)
	st := newSendStats(time.Now(), time.Second)
	r := &result{Label: "EN", Send: st.report(time.Second), Blocks: &sum}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Blocks struct {
			Run         struct{ TPS float64 } `json:"run"`
			First       struct{ TPS float64 } `json:"first"`
			EmptyBlocks int                   `json:"emptyBlocks"`
			PerBlock    []struct {
				Txs int `json:"txs"`
			} `json:"perBlock"`
		} `json:"blocks"`
		Send struct {
			TakenTPS float64 `json:"takenTps"`
		} `json:"send"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Blocks.Run.TPS != 1250 || m.Blocks.First.TPS != 1250 || m.Blocks.EmptyBlocks != 1 || len(m.Blocks.PerBlock) != 2 {
		t.Fatalf("JSON %s", b)
	}
	var out strings.Builder
	printTable(&out, r)
	for _, want := range []string{"first 24 blocks", "1,250", "2,500", "1 empty"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("table lacks %q:\n%s", want, out.String())
		}
	}
}
