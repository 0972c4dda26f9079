package tc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/networks/rpc"
	"github.com/klayslave/klayslave/contracts"
	"github.com/klayslave/klayslave/jsonrpc"
	"github.com/klayslave/klayslave/klay"
	"github.com/klayslave/klayslave/runner"
	"github.com/klayslave/klayslave/stats"
)

// methodRead is the stats method of the read cases' rows.
const methodRead = "read"

// readNeeds is what a read's set-up gathers before the load.
type readNeeds uint8

const (
	needHead     readNeeds = 1 << iota // the head block number
	needAddrs                          // addresses of accounts that exist
	needTxs                            // hashes of mined transactions
	needContract                       // the read-target contract, deployed by the funder
)

// readRow is one read case: the JSON-RPC call of an iteration and what its
// answer must be. Its requests are encoded at set-up (bodies) or appended
// into a reused buffer (next), never through reflection.
type readRow struct {
	name, desc string
	needs      readNeeds
	// chains: the case needs a funder and test accounts (accounts that
	// surely exist, a contract, transactions to look up).
	chains bool
	// bodies returns the pre-encoded requests the case picks from at
	// random; the index picked is passed to check.
	bodies func(s *readSetup) [][]byte
	// next appends the request of one iteration to dst instead and returns
	// the key passed to check (a block number).
	next  func(ctx context.Context, s *readSetup, dst []byte) ([]byte, uint64)
	check func(s *readSetup, key uint64, result []byte) error
}

// readRows is the read family. kaia-load-tester's names work as written.
func readRows() []readRow {
	return []readRow{
		{name: "rpcPing", desc: "klay_blockNumber to -mcEndpoint; the answer must be a block number",
			bodies: oneBody(jsonrpc.Body("klay_blockNumber")),
			check:  func(_ *readSetup, _ uint64, res []byte) error { _, err := jsonrpc.Uint64(res); return err }},
		{name: "readBlockNumber", desc: "klay_blockNumber: a positive number, not behind the head seen at set-up",
			needs: needHead, bodies: oneBody(jsonrpc.Body("klay_blockNumber")), check: checkBlockNumber},
		{name: "readGasPrice", desc: "klay_gasPrice: a positive price (any price; never compared with 750 gkei)",
			bodies: oneBody(jsonrpc.Body("klay_gasPrice")), check: checkGasPrice},
		{name: "readGetBlockByNumber", desc: "klay_getBlockByNumber of a random block up to the head: its number and hash",
			needs: needHead, next: randomBlock("klay_getBlockByNumber", ",false"), check: checkBlock},
		{name: "readGetBlockWithConsensusInfoByNumber", desc: "klay_getBlockWithConsensusInfoByNumber of a random block up to the head: its number and hash",
			needs: needHead, next: randomBlock("klay_getBlockWithConsensusInfoByNumber", ""), check: checkBlock},
		{name: "readGetBalance", desc: "klay_getBalance of a test account (or of an address seen in recent blocks): a quantity",
			needs: needAddrs, bodies: perAddress("klay_getBalance"), check: checkBalance},
		{name: "readGetAccount", desc: "klay_getAccount of a test account: an externally owned account (accType 1)",
			needs: needAddrs, chains: true, bodies: perAddress("klay_getAccount"), check: checkAccount},
		{name: "readGetStorageAt", desc: "klay_getStorageAt of a token's total-supply slot: the value read at set-up",
			needs: needContract, chains: true, bodies: func(s *readSetup) [][]byte { return [][]byte{s.slotBody} }, check: sameAs(func(s *readSetup) []byte { return s.slotWant })},
		{name: "readCall", desc: "klay_call of a token's totalSupply(): the value read at set-up",
			needs: needContract, chains: true, bodies: func(s *readSetup) [][]byte { return [][]byte{s.callBody} }, check: sameAs(func(s *readSetup) []byte { return s.callWant })},
		{name: "readEstimateGas", desc: "klay_estimateGas of a token approve(): the estimate made at set-up",
			needs: needContract, chains: true, bodies: func(s *readSetup) [][]byte { return [][]byte{s.gasBody} }, check: sameAs(func(s *readSetup) []byte { return s.gasWant })},
		{name: "receiptCheckTx", desc: "klay_getTransactionReceipt of transactions mined before the load: hash, block and status",
			needs: needTxs, chains: true, bodies: receiptBodies, check: checkReceipt},
	}
}

// reads returns the read family's cases. They share one set-up per
// environment: one scan of recent blocks, one contract.
func reads() []Case {
	setups := &readSetups{byEnv: map[*Env]*readSetup{}}
	var out []Case
	for _, row := range readRows() {
		row := row
		out = append(out, Case{
			Name:        row.name,
			Description: row.desc,
			Family:      "read",
			NeedsChains: row.chains,
			New: func(ctx context.Context, env *Env) (Task, error) {
				s, err := setups.get(ctx, env, row)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", row.name, err)
				}
				return newReadTask(s, row), nil
			},
		})
	}
	return out
}

func oneBody(body []byte) func(*readSetup) [][]byte {
	return func(*readSetup) [][]byte { return [][]byte{body} }
}

// readTask runs one read case.
type readTask struct {
	name   string
	s      *readSetup
	row    readRow
	bodies [][]byte
}

func newReadTask(s *readSetup, row readRow) *readTask {
	t := &readTask{name: row.name, s: s, row: row}
	if row.bodies != nil {
		t.bodies = row.bodies(s)
	}
	return t
}

// Run implements Task: one call, its answer checked.
func (t *readTask) Run(ctx context.Context, it runner.Iteration, out stats.Sink) {
	var body []byte
	var key uint64
	if t.row.next != nil {
		req := t.s.rpc.Get()
		defer t.s.rpc.Put(req)
		req.B, key = t.row.next(ctx, t.s, req.B[:0])
		body = req.B
	} else {
		if len(t.bodies) > 1 {
			key = uint64(rand.IntN(len(t.bodies)))
		}
		body = t.bodies[key]
	}
	buf := t.s.rpc.Get()
	n, result, err := t.s.rpc.Do(ctx, body, buf)
	if err == nil {
		err = t.row.check(t.s, key, result)
	}
	t.s.rpc.Put(buf)
	r := it.Result(methodRead, t.name, stopped(ctx, err))
	r.Bytes = n
	out.Record(r)
}

// readSetups shares one set-up per environment between the read cases.
type readSetups struct {
	mu    sync.Mutex
	byEnv map[*Env]*readSetup
}

// readSetup is what the read cases learn before the load.
type readSetup struct {
	rpc *jsonrpc.Client
	// head is the highest block number seen; headAt when it was last
	// asked (unix nanoseconds), so that it is refreshed once a second.
	head   atomic.Uint64
	headAt atomic.Int64
	// setupHead is the head at set-up: no answer may be far behind it.
	setupHead uint64

	done  readNeeds
	addrs []common.Address
	txs   []minedTx

	slotBody, slotWant []byte
	callBody, callWant []byte
	gasBody, gasWant   []byte
}

type minedTx struct {
	hash  common.Hash
	block uint64
}

func (ss *readSetups) get(ctx context.Context, env *Env, row readRow) (*readSetup, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byEnv[env]
	if s == nil {
		c, err := jsonrpc.New(env.MCEndpoint, env.HTTP)
		if err != nil {
			return nil, err
		}
		s = &readSetup{rpc: c}
		ss.byEnv[env] = s
	}
	if row.chains && (env.MC == nil || len(env.MC.Accounts) == 0) {
		return nil, errors.New("needs main-chain test accounts: give a -mcKey and -numMcUser of 1 or more")
	}
	if err := s.prepare(ctx, env, row.needs&^s.done); err != nil {
		return nil, err
	}
	return s, nil
}

// prepare gathers what needs asks and s lacks.
func (s *readSetup) prepare(ctx context.Context, env *Env, needs readNeeds) error {
	if needs == 0 {
		return nil
	}
	client, err := setupClient(ctx, env)
	if err != nil {
		return err
	}
	if env.MC == nil || env.MC.Client != client {
		defer client.Close()
	}
	head, err := client.BlockNumber(ctx)
	if err != nil {
		return fmt.Errorf("head block of %s: %w", env.MCEndpoint, err)
	}
	if s.setupHead == 0 {
		s.setupHead = head
		s.head.Store(head)
		s.headAt.Store(time.Now().UnixNano())
	}
	if needs&(needAddrs|needTxs) != 0 {
		if err := s.scanRecent(ctx, client, head); err != nil {
			return err
		}
		if env.MC != nil {
			s.addrs = append(klay.Addresses(env.MC.Accounts), s.addrs...)
		}
		if len(s.addrs) == 0 {
			s.addrs = []common.Address{{}} // any address has a balance, if zero
		}
		if needs&needTxs != 0 && len(s.txs) == 0 {
			if err := s.mine(ctx, env); err != nil {
				return err
			}
		}
		s.done |= needAddrs | needTxs
	}
	if needs&needContract != 0 {
		if err := s.deploy(ctx, env, client); err != nil {
			return err
		}
		s.done |= needContract
	}
	s.done |= needHead
	return nil
}

// setupClient returns a Kaia RPC client of the main chain for set-up calls.
func setupClient(ctx context.Context, env *Env) (*klay.Client, error) {
	if env.MC != nil && env.MC.Client != nil {
		return env.MC.Client, nil
	}
	return klay.Dial(ctx, env.MCEndpoint, 4)
}

// recentBlocks is how far back set-up looks for transactions and the
// addresses that sent them; maxMined is how many it keeps.
const (
	recentBlocks = 200
	maxMined     = 512
)

// scanRecent collects mined transactions and their senders from the blocks
// before head.
func (s *readSetup) scanRecent(ctx context.Context, c *klay.Client, head uint64) error {
	type tx struct {
		Hash        common.Hash    `json:"hash"`
		From        common.Address `json:"from"`
		BlockNumber string         `json:"blockNumber"`
	}
	type block struct {
		Transactions []tx `json:"transactions"`
	}
	seen := map[common.Address]bool{}
	for hi := head; hi > 0 && head-hi < recentBlocks && len(s.txs) < maxMined; {
		lo := hi - min(hi, 20)
		blocks := make([]block, hi-lo)
		elems := make([]rpc.BatchElem, len(blocks))
		for i := range elems {
			elems[i] = rpc.BatchElem{Method: "klay_getBlockByNumber", Args: []any{"0x" + strconv.FormatUint(hi-uint64(i), 16), true}, Result: &blocks[i]}
		}
		if err := c.BatchCall(ctx, elems); err != nil {
			return fmt.Errorf("recent blocks of %s: %w", c.URL(), err)
		}
		for i, b := range blocks {
			if elems[i].Error != nil {
				return fmt.Errorf("block %d of %s: %w", hi-uint64(i), c.URL(), elems[i].Error)
			}
			for _, t := range b.Transactions {
				s.txs = append(s.txs, minedTx{hash: t.Hash, block: hi - uint64(i)})
				if !seen[t.From] && len(seen) < maxMined {
					seen[t.From] = true
					s.addrs = append(s.addrs, t.From)
				}
			}
		}
		hi = lo
	}
	s.txs = s.txs[:min(len(s.txs), maxMined)]
	return nil
}

// mine sends a few transfers from the funder to itself when no recent
// block holds a transaction (an idle chain), so that receipts exist.
func (s *readSetup) mine(ctx context.Context, env *Env) error {
	mc := env.MC
	if mc == nil || mc.Funder == nil {
		return errors.New("no transaction in the last blocks to read receipts of, and no -mcKey to send some")
	}
	from := mc.Funder
	to := from.Address
	for range 4 {
		r, err := klay.Transact(ctx, mc.Client, mc.Waiter, mc.ChainID, from, &to, nil, nil)
		if err != nil {
			return fmt.Errorf("sending transactions to read receipts of: %w", err)
		}
		s.txs = append(s.txs, minedTx{hash: r.TxHash, block: r.BlockNumber})
	}
	return nil
}

// deploy deploys the read-target contract (an ERC-20 whose supply the
// funder holds) and records the answers of the contract reads.
func (s *readSetup) deploy(ctx context.Context, env *Env, c *klay.Client) error {
	mc := env.MC
	tok, err := contracts.Load(contracts.ERC20)
	if err != nil {
		return err
	}
	code, err := tok.DeployData(new(big.Int).Exp(big.NewInt(10), big.NewInt(24), nil))
	if err != nil {
		return err
	}
	addr, err := klay.Deploy(ctx, c, mc.Waiter, mc.ChainID, mc.Funder, code)
	if err != nil {
		return fmt.Errorf("deploying the read-target token on %s: %w", c.URL(), err)
	}
	to := quote(addr.Hex())
	supply, _ := tok.ABI.Pack("totalSupply")
	s.callBody = jsonrpc.Body("klay_call", `{"to":`+to+`,"data":"0x`+common.Bytes2Hex(supply)+`"}`, `"latest"`)
	approve, err := tok.ABI.Pack("approve", mc.Accounts[0].Address, common.Big1)
	if err != nil {
		return err
	}
	s.gasBody = jsonrpc.Body("klay_estimateGas", `{"from":`+quote(mc.Funder.Address.Hex())+`,"to":`+to+`,"data":"0x`+common.Bytes2Hex(approve)+`"}`)
	if s.callWant, err = s.answer(ctx, s.callBody); err != nil {
		return fmt.Errorf("totalSupply() of the read-target token: %w", err)
	}
	if s.gasWant, err = s.answer(ctx, s.gasBody); err != nil {
		return fmt.Errorf("estimating approve() on the read-target token: %w", err)
	}
	want, err := jsonrpc.Hex(s.callWant, 32)
	if err != nil {
		return err
	}
	// The total supply's slot depends on the compiler's layout: find it.
	for slot := 0; slot < 16; slot++ {
		body := jsonrpc.Body("klay_getStorageAt", to, quote("0x"+strconv.Itoa(slot)), `"latest"`)
		got, err := s.answer(ctx, body)
		if err != nil {
			return fmt.Errorf("storage of the read-target token: %w", err)
		}
		if d, err := jsonrpc.Hex(got, 32); err == nil && strings.EqualFold(string(d), string(want)) {
			s.slotBody, s.slotWant = body, got
			return nil
		}
	}
	return fmt.Errorf("read-target token at %s: no storage slot below 16 holds its total supply", addr.Hex())
}

// answer returns a copy of the result of one call.
func (s *readSetup) answer(ctx context.Context, body []byte) ([]byte, error) {
	var out []byte
	_, err := s.rpc.Call(ctx, body, func(res []byte) error { out = append(out, res...); return nil })
	return out, err
}

func quote(s string) string { return `"` + s + `"` }

func perAddress(method string) func(s *readSetup) [][]byte {
	return func(s *readSetup) [][]byte {
		out := make([][]byte, len(s.addrs))
		for i, a := range s.addrs {
			out[i] = jsonrpc.Body(method, quote(strings.ToLower(a.Hex())), `"latest"`)
		}
		return out
	}
}

func receiptBodies(s *readSetup) [][]byte {
	out := make([][]byte, len(s.txs))
	for i, t := range s.txs {
		out[i] = jsonrpc.Body("klay_getTransactionReceipt", quote(t.hash.Hex()))
	}
	return out
}

// randomBlock asks for a random block from 0 to the head; the head is
// refreshed once a second by the iteration that finds it stale.
func randomBlock(method, tail string) func(ctx context.Context, s *readSetup, dst []byte) ([]byte, uint64) {
	return func(ctx context.Context, s *readSetup, dst []byte) ([]byte, uint64) {
		n := rand.Uint64N(s.headNow(ctx) + 1)
		dst = append(dst, `{"jsonrpc":"2.0","id":1,"method":"`...)
		dst = append(dst, method...)
		dst = append(dst, `","params":["0x`...)
		dst = strconv.AppendUint(dst, n, 16)
		dst = append(dst, '"')
		dst = append(dst, tail...)
		return append(dst, "]}"...), n
	}
}

var blockNumberBody = jsonrpc.Body("klay_blockNumber")

// headNow returns the head, asking the node when the last answer is older
// than a second. A failed refresh keeps the old head.
func (s *readSetup) headNow(ctx context.Context) uint64 {
	at := s.headAt.Load()
	now := time.Now().UnixNano()
	if now-at > int64(time.Second) && s.headAt.CompareAndSwap(at, now) {
		_, _ = s.rpc.Call(ctx, blockNumberBody, func(res []byte) error {
			n, err := jsonrpc.Uint64(res)
			if err == nil {
				s.seeHead(n)
			}
			return err
		})
	}
	return s.head.Load()
}

func (s *readSetup) seeHead(n uint64) {
	for {
		h := s.head.Load()
		if n <= h || s.head.CompareAndSwap(h, n) {
			return
		}
	}
}

// headLag is how far behind the set-up's head a block number may be: a
// load balancer may spread the reads over nodes a few blocks apart.
const headLag = 16

func checkBlockNumber(s *readSetup, _ uint64, res []byte) error {
	n, err := jsonrpc.Uint64(res)
	if err != nil {
		return err
	}
	if n == 0 || n+headLag < s.setupHead {
		return fmt.Errorf("block number %d: the head was %d at set-up", n, s.setupHead)
	}
	s.seeHead(n)
	return nil
}

func checkGasPrice(_ *readSetup, _ uint64, res []byte) error {
	p, err := jsonrpc.Big(res)
	if err != nil {
		return err
	}
	if p.Sign() <= 0 {
		return fmt.Errorf("gas price %v: want a positive price", p)
	}
	return nil
}

var errNull = errors.New("null answer")

func checkBlock(_ *readSetup, want uint64, res []byte) error {
	if bytes.Equal(res, []byte("null")) {
		return fmt.Errorf("block %d: %w", want, errNull)
	}
	num, ok := jsonrpc.Field(res, "number")
	if !ok {
		return fmt.Errorf("block %d: the answer has no number", want)
	}
	n, err := jsonrpc.Uint64(num)
	if err != nil {
		return err
	}
	if n != want {
		return fmt.Errorf("asked for block %d, got block %d", want, n)
	}
	hash, _ := jsonrpc.Field(res, "hash")
	if _, err := jsonrpc.Hex(hash, 32); err != nil {
		return fmt.Errorf("block %d hash: %w", want, err)
	}
	return nil
}

func checkBalance(_ *readSetup, _ uint64, res []byte) error {
	_, err := jsonrpc.Big(res)
	return err
}

func checkAccount(s *readSetup, i uint64, res []byte) error {
	if bytes.Equal(res, []byte("null")) {
		return fmt.Errorf("account %s: %w", s.addrs[i].Hex(), errNull)
	}
	typ, _ := jsonrpc.Field(res, "accType")
	if string(typ) != "1" {
		return fmt.Errorf("account %s: accType %s, want 1 (externally owned)", s.addrs[i].Hex(), typ)
	}
	if _, ok := jsonrpc.Field(res, "account"); !ok {
		return fmt.Errorf("account %s: the answer has no account", s.addrs[i].Hex())
	}
	return nil
}

func sameAs(want func(*readSetup) []byte) func(*readSetup, uint64, []byte) error {
	return func(s *readSetup, _ uint64, res []byte) error {
		if w := want(s); !bytes.Equal(res, w) {
			return fmt.Errorf("answer %.70s, want %.70s as at set-up", res, w)
		}
		return nil
	}
}

func checkReceipt(s *readSetup, i uint64, res []byte) error {
	t := s.txs[i]
	if bytes.Equal(res, []byte("null")) {
		return fmt.Errorf("receipt of %s: %w", t.hash.Hex(), errNull)
	}
	h, _ := jsonrpc.Field(res, "transactionHash")
	if d, err := jsonrpc.Hex(h, 32); err != nil || !strings.EqualFold(string(d), t.hash.Hex()[2:]) {
		return fmt.Errorf("receipt of %s has transactionHash %.70s", t.hash.Hex(), h)
	}
	bn, _ := jsonrpc.Field(res, "blockNumber")
	if n, err := jsonrpc.Uint64(bn); err != nil || n != t.block {
		return fmt.Errorf("receipt of %s: block %.20s, want %d", t.hash.Hex(), bn, t.block)
	}
	st, _ := jsonrpc.Field(res, "status")
	if n, err := jsonrpc.Uint64(st); err != nil || n > 1 {
		return fmt.Errorf("receipt of %s: status %.20s", t.hash.Hex(), st)
	}
	return nil
}
