package klay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/kaiachain/kaia/networks/rpc"
)

// Waiter is a Tracker whose scanned head can be waited for: the one way
// klay waits for transactions (funding, sweep, set-up). *Scanner
// implements it.
type Waiter interface {
	Tracker
	WaitHead(ctx context.Context, n uint64) error
}

// withWaiter returns w, or, when w is nil, a scanner of c that runs until
// stop is called. A one-shot call with no run around it (a test, `klayslave
// sweep -run`, a set-up helper) has no scanner of its own; this keeps the
// block scanner the only code path that waits for receipts.
func withWaiter(ctx context.Context, c *Client, w Waiter, log *slog.Logger) (_ Waiter, stop func()) {
	if w != nil {
		return w, func() {}
	}
	s := NewScanner(ScannerConfig{Client: c, WSURL: WSEndpointFor(c.URL()), Log: log})
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(sctx)
	}()
	return s, func() { cancel(); <-done }
}

// awaited is a sent transaction whose block is awaited.
type awaited struct {
	tx    *types.Transaction
	from  *Account
	index int    // the caller's tag; -1 for a gap filler
	head  uint64 // the waiter's head when it was tracked
}

// outcome is an awaited transaction's verdict: inc.Err is nil when a block
// holds it (check inc.Status), else it is lost (not included, replaced).
type outcome struct {
	a   *awaited
	inc Inclusion
}

// awaitSet follows the transactions of one batch (a funding round, a sweep
// round, set-up calls) through a Waiter. Between blocks it looks at the
// senders of the transactions that wait long: a nonce the chain used for
// another transaction means ours is lost, and a gap below ours (a nonce
// another worker sharing the key took and never sent) is filled when fill
// is set, rather than waiting out the timeout.
type awaitSet struct {
	w Waiter
	c *Client
	// fill, when set, signs a transaction with the given nonce that closes
	// a gap holding the sender's later transactions back.
	fill func(ctx context.Context, from *Account, nonce uint64) (*types.Transaction, error)
	// checkAfter is how many blocks a transaction waits before its sender
	// is looked at.
	checkAfter uint64

	verdict chan struct{} // signalled when done grows

	mu   sync.Mutex
	live map[common.Hash]*awaited
	done []outcome
	gaps map[common.Address]int // consecutive checks that saw a gap
}

func newAwaitSet(c *Client, w Waiter) *awaitSet {
	return &awaitSet{w: w, c: c, checkAfter: 2, verdict: make(chan struct{}, 1),
		live: map[common.Hash]*awaited{}, gaps: map[common.Address]int{}}
}

// send sends one transaction of from through Account.Send. Every signed
// transaction is tracked before it goes out, so no block can hold it
// unseen; those Send did not end with are untracked.
func (s *awaitSet) send(ctx context.Context, from *Account, index int, build Builder) (*types.Transaction, error) {
	var signed []common.Hash
	tx, err := from.Send(ctx, s.c, func(nonce uint64) (*types.Transaction, error) {
		tx, err := build(nonce)
		if err == nil {
			s.track(tx, from, index)
			signed = append(signed, tx.Hash())
		}
		return tx, err
	})
	for _, h := range signed {
		if tx == nil || h != tx.Hash() {
			s.drop(h)
		}
	}
	return tx, err
}

func (s *awaitSet) track(tx *types.Transaction, from *Account, index int) {
	a := &awaited{tx: tx, from: from, index: index, head: s.w.Head()}
	s.mu.Lock()
	s.live[tx.Hash()] = a
	s.mu.Unlock()
	s.w.Track(tx.Hash(), func(inc Inclusion) { s.resolved(a, inc) })
}

// resolved is the waiter's callback: it runs in the scanner goroutine and
// only queues the verdict.
func (s *awaitSet) resolved(a *awaited, inc Inclusion) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live[inc.Hash] == a {
		delete(s.live, inc.Hash)
		s.done = append(s.done, outcome{a, inc})
		select {
		case s.verdict <- struct{}{}:
		default:
		}
	}
}

// drop forgets h without a verdict (a transaction not sent). It returns
// false when h had its verdict already.
func (s *awaitSet) drop(h common.Hash) bool {
	s.mu.Lock()
	_, ok := s.live[h]
	delete(s.live, h)
	s.mu.Unlock()
	if ok {
		s.w.Untrack(h)
	}
	return ok
}

// giveUp ends h with err unless its verdict came first.
func (s *awaitSet) giveUp(h common.Hash, err error) {
	s.mu.Lock()
	a, ok := s.live[h]
	if ok {
		delete(s.live, h)
		s.done = append(s.done, outcome{a, Inclusion{Hash: h, Err: err}})
	}
	s.mu.Unlock()
	if ok {
		s.w.Untrack(h)
	}
}

func (s *awaitSet) take() ([]outcome, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.done
	s.done = nil
	return out, len(s.live)
}

// wait hands every verdict to on, in this goroutine, until nothing is
// awaited. When ctx ends or timeout passes first, what is still awaited is
// handed on as not included.
func (s *awaitSet) wait(ctx context.Context, timeout time.Duration, on func(outcome)) {
	if timeout <= 0 {
		timeout = ReceiptTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		out, n := s.take()
		for _, o := range out {
			on(o)
		}
		if n == 0 {
			return
		}
		moved, err := s.next(wctx)
		if err != nil {
			break
		}
		if moved {
			s.check(wctx)
		}
	}
	s.mu.Lock()
	rest := make([]common.Hash, 0, len(s.live))
	for h := range s.live {
		rest = append(rest, h)
	}
	s.mu.Unlock()
	err := fmt.Errorf("%w within %s", ErrNotIncluded, timeout)
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	for _, h := range rest {
		s.giveUp(h, err)
	}
	out, _ := s.take()
	for _, o := range out {
		on(o)
	}
}

// next waits for a new head or a verdict given without one (the scanner's
// Abandon). A block's verdicts are given before the head moves to it.
func (s *awaitSet) next(ctx context.Context) (moved bool, err error) {
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	woke := make(chan struct{})
	go func() {
		defer close(woke)
		select {
		case <-s.verdict:
			cancel()
		case <-hctx.Done():
		}
	}()
	err = s.w.WaitHead(hctx, s.w.Head()+1)
	cancel()
	<-woke
	if err != nil && ctx.Err() == nil && errors.Is(err, context.Canceled) {
		return false, nil // a verdict
	}
	return err == nil, err
}

// senderNonces is a sender's nonce at the scanned head and, for the gap
// check, its mined ("latest") and pool ("pending") nonces now.
type senderNonces struct{ atHead, mined, pending uint64 }

// check looks at the senders of the transactions waiting checkAfter blocks
// or more. Every verdict of the blocks up to the head is in by now, so a
// transaction still awaited whose nonce the chain used by the head was
// replaced.
func (s *awaitSet) check(ctx context.Context) {
	head := s.w.Head()
	lowest := map[common.Address]*awaited{}
	s.mu.Lock()
	for _, a := range s.live {
		if head < a.head+s.checkAfter {
			continue
		}
		if cur := lowest[a.from.Address]; cur == nil || a.tx.Nonce() < cur.tx.Nonce() {
			lowest[a.from.Address] = a
		}
	}
	s.mu.Unlock()
	for addr := range s.gaps {
		if lowest[addr] == nil {
			delete(s.gaps, addr)
		}
	}
	if len(lowest) == 0 {
		return
	}
	nonces := s.nonces(ctx, lowest, head)
	var lost []common.Hash
	s.mu.Lock()
	for h, a := range s.live {
		if n, ok := nonces[a.from.Address]; ok && a.tx.Nonce() < n.atHead {
			lost = append(lost, h)
		}
	}
	s.mu.Unlock()
	for _, h := range lost {
		s.giveUp(h, ErrReplaced)
	}
	if s.fill == nil {
		return
	}
	for addr, a := range lowest {
		n, ok := nonces[addr]
		// Nothing of the sender's is executable, yet ours wait above the
		// mined nonce: a gap holds them back.
		if !ok || n.pending != n.mined || a.tx.Nonce() <= n.mined {
			delete(s.gaps, addr)
			continue
		}
		if s.gaps[addr]++; s.gaps[addr] < 2 {
			continue
		}
		delete(s.gaps, addr)
		s.sendFiller(ctx, a.from, n.mined)
	}
}

// sendFiller sends a filler with nonce; another sender may fill it first,
// which is as good.
func (s *awaitSet) sendFiller(ctx context.Context, from *Account, nonce uint64) {
	tx, err := s.fill(ctx, from, nonce)
	if err != nil {
		return
	}
	s.track(tx, from, -1)
	if _, err := s.c.SendTransaction(ctx, tx); err != nil {
		s.drop(tx.Hash())
	}
}

// nonces asks, in one batch, the nonces of the senders in `of`.
func (s *awaitSet) nonces(ctx context.Context, of map[common.Address]*awaited, head uint64) map[common.Address]senderNonces {
	type q struct {
		addr                   common.Address
		atHead, mined, pending hexutil.Uint64
	}
	qs := make([]*q, 0, len(of))
	var elems []rpc.BatchElem
	per := 1
	if s.fill != nil {
		per = 3
	}
	for addr := range of {
		x := &q{addr: addr}
		qs = append(qs, x)
		elems = append(elems, rpc.BatchElem{Method: "klay_getTransactionCount", Args: []any{addr, hexutil.Uint64(head)}, Result: &x.atHead})
		if s.fill != nil {
			elems = append(elems,
				rpc.BatchElem{Method: "klay_getTransactionCount", Args: []any{addr, "latest"}, Result: &x.mined},
				rpc.BatchElem{Method: "klay_getTransactionCount", Args: []any{addr, "pending"}, Result: &x.pending})
		}
	}
	if err := s.c.BatchCall(ctx, elems); err != nil {
		return nil // the next block's check asks again
	}
	out := make(map[common.Address]senderNonces, len(qs))
	for i, x := range qs {
		ok := true
		for _, e := range elems[i*per : (i+1)*per] {
			ok = ok && e.Error == nil
		}
		if ok {
			out[x.addr] = senderNonces{atHead: uint64(x.atHead), mined: uint64(x.mined), pending: uint64(x.pending)}
		}
	}
	return out
}
