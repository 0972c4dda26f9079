package klay

import (
	"context"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/kaiachain/kaia/networks/rpc"
)

// watchItem is a sent transaction whose receipt is awaited.
type watchItem struct {
	tx     *types.Transaction
	from   *Account
	index  int // the caller's tag (recipient or account index)
	sentAt time.Time
	// strikes counts polls that found the sender's mined nonce past the
	// transaction's nonce while its receipt was missing.
	strikes int
}

// watchResult is either a receipt or a verdict that the transaction is lost
// (replaced by another with the same nonce, or dropped).
type watchResult struct {
	item    *watchItem
	receipt *Receipt
	lost    bool
}

// watcher polls receipts of many transactions in batches, so that waiting
// for N receipts costs N/250 requests per poll, not N goroutines.
type watcher struct {
	c         *Client
	interval  time.Duration // between polls
	checkLost time.Duration // age after which a missing receipt is examined
	timeout   time.Duration // age after which a missing receipt means lost
	in        chan *watchItem
	out       chan watchResult
	// fill, when set, sends a transaction with the given nonce to close a
	// gap that holds the sender's later transactions back (a nonce another
	// worker sharing the key took and then gave up). Its transaction is
	// watched as index -1.
	fill func(ctx context.Context, from *Account, nonce uint64) (*types.Transaction, error)
	gaps map[common.Address]int // consecutive polls that saw a gap
}

// senderNonces is a sender's mined ("latest") and pool ("pending") nonce.
type senderNonces struct{ mined, pending uint64 }

func newWatcher(c *Client, timeout time.Duration) *watcher {
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	return &watcher{
		c:         c,
		interval:  250 * time.Millisecond,
		checkLost: 3 * time.Second,
		timeout:   timeout,
		in:        make(chan *watchItem, 1024),
		out:       make(chan watchResult, 1024),
		gaps:      map[common.Address]int{},
	}
}

// run polls until in is closed and every item has a result, or ctx ends.
// It closes out when it returns.
func (w *watcher) run(ctx context.Context) {
	defer close(w.out)
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	var items []*watchItem
	in := w.in
	for {
		if in == nil && len(items) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case it, ok := <-in:
			if !ok {
				in = nil
				continue
			}
			items = append(items, it)
		case <-tick.C:
			items = w.poll(ctx, items)
		}
	}
}

// poll checks every item once and returns those still waiting.
func (w *watcher) poll(ctx context.Context, items []*watchItem) []*watchItem {
	if len(items) == 0 {
		return items
	}
	now := time.Now()
	// Mined nonces first, receipts second: a transaction mined before the
	// nonce query has its receipt by the receipt query.
	nonces := w.senderNonces(ctx, items, now)
	hashes := make([]common.Hash, len(items))
	for i, it := range items {
		hashes[i] = it.tx.Hash()
	}
	receipts, err := w.c.TransactionReceipts(ctx, hashes)
	if err != nil {
		return items // node busy or unreachable; try again next tick
	}
	keep := items[:0]
	for i, it := range items {
		if r := receipts[i]; r != nil {
			w.out <- watchResult{item: it, receipt: r}
			continue
		}
		if n, ok := nonces[it.from.Address]; ok && n.mined > it.tx.Nonce() {
			it.strikes++
		}
		if it.strikes >= 2 || now.Sub(it.sentAt) > w.timeout {
			w.out <- watchResult{item: it, lost: true}
			continue
		}
		keep = append(keep, it)
	}
	return w.fillGaps(ctx, keep, nonces, now)
}

// fillGaps looks for senders whose waiting transactions sit above a nonce
// nobody uses: nothing is executable in the pool (pending == mined) yet a
// transaction above the mined nonce waits. After two such polls in a row it
// sends a filler with the missing nonce.
func (w *watcher) fillGaps(ctx context.Context, items []*watchItem, nonces map[common.Address]senderNonces, now time.Time) []*watchItem {
	if w.fill == nil {
		return items
	}
	stuck := map[common.Address]*Account{}
	for _, it := range items {
		n, ok := nonces[it.from.Address]
		if ok && n.pending == n.mined && it.tx.Nonce() > n.mined && now.Sub(it.sentAt) >= w.checkLost {
			stuck[it.from.Address] = it.from
		}
	}
	for addr := range w.gaps {
		if stuck[addr] == nil {
			delete(w.gaps, addr)
		}
	}
	for addr, from := range stuck {
		w.gaps[addr]++
		if w.gaps[addr] < 2 {
			continue
		}
		delete(w.gaps, addr)
		tx, err := w.fill(ctx, from, nonces[addr].mined)
		if err == nil && tx != nil {
			items = append(items, &watchItem{tx: tx, from: from, index: -1, sentAt: now})
		}
	}
	return items
}

// senderNonces returns the mined and pool nonces of the senders of items
// that have waited longer than checkLost.
func (w *watcher) senderNonces(ctx context.Context, items []*watchItem, now time.Time) map[common.Address]senderNonces {
	var addrs []common.Address
	seen := map[common.Address]bool{}
	for _, it := range items {
		if now.Sub(it.sentAt) >= w.checkLost && !seen[it.from.Address] {
			seen[it.from.Address] = true
			addrs = append(addrs, it.from.Address)
		}
	}
	if len(addrs) == 0 {
		return nil
	}
	mined := make([]hexutil.Uint64, len(addrs))
	pending := make([]hexutil.Uint64, len(addrs))
	elems := make([]rpc.BatchElem, 0, 2*len(addrs))
	for i, a := range addrs {
		elems = append(elems,
			rpc.BatchElem{Method: "klay_getTransactionCount", Args: []interface{}{a, "latest"}, Result: &mined[i]},
			rpc.BatchElem{Method: "klay_getTransactionCount", Args: []interface{}{a, "pending"}, Result: &pending[i]})
	}
	if err := w.c.BatchCall(ctx, elems); err != nil {
		return nil
	}
	out := make(map[common.Address]senderNonces, len(addrs))
	for i, a := range addrs {
		if elems[2*i].Error == nil && elems[2*i+1].Error == nil {
			out[a] = senderNonces{mined: uint64(mined[i]), pending: uint64(pending[i])}
		}
	}
	return out
}
