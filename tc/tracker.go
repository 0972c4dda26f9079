package tc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/networks/rpc"
	"github.com/klayslave/klayslave/klay"
	"github.com/klayslave/klayslave/stats"
)

// Tracker timings.
const (
	trackInterval = 200 * time.Millisecond
	// trackTimeout bounds the wait for the sub-bridge to name the handle
	// transaction; its block is then awaited for the scanner's inclusion
	// timeout (in blocks).
	trackTimeout = 60 * time.Second
	// trackMax bounds the transfers awaited at once, so that a stalled
	// bridge cannot grow memory without limit.
	trackMax = 100_000
)

// transfer is a bridge request whose handling on the other chain is
// awaited.
type transfer struct {
	name string // stats entry, "<case> main→service e2e"
	out  stats.Sink
	// dst is the chain of the handle transaction: its block scanner and
	// client.
	dst    klay.Waiter
	dstC   *klay.Client
	req    common.Hash
	start  time.Time // the iteration's due time
	handle common.Hash
	// done, if set, learns whether the transfer was handled (in the
	// tracker or scanner goroutine; it must not block).
	done func(ok bool)
}

// tracker follows bridge transfers to their handle transactions' blocks,
// so that users go on sending while transfers are in flight: the load
// stays open. One goroutine asks the sub-bridge, in batches, for the handle
// hashes of the waiting requests; the destination chain's block scanner
// then gives each handle transaction's verdict.
type tracker struct {
	sb       *klay.Client
	timeout  time.Duration
	interval time.Duration

	mu      sync.Mutex
	added   []*transfer
	waiting int
}

// startTracker starts the tracker goroutine, which runs until ctx ends;
// transfers whose handle hash is still unknown then are dropped
// unrecorded (those known get the scanner's verdict).
func startTracker(ctx context.Context, sb *klay.Client) *tracker {
	t := &tracker{sb: sb, timeout: trackTimeout, interval: trackInterval}
	go t.run(ctx)
	return t
}

// add hands a sent request to the tracker.
func (t *tracker) add(x *transfer) {
	var err error
	t.mu.Lock()
	switch {
	case t.waiting >= trackMax:
		err = errors.New("too many transfers in flight")
	case x.dst == nil:
		err = errors.New("no block scanner on the destination chain")
	default:
		t.added = append(t.added, x)
		t.waiting++
	}
	t.mu.Unlock()
	if err != nil {
		t.record(x, time.Now(), err)
	}
}

// pending returns how many transfers are awaited.
func (t *tracker) pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.waiting
}

func (t *tracker) run(ctx context.Context) {
	tick := time.NewTicker(t.interval)
	defer tick.Stop()
	var live []*transfer
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		t.mu.Lock()
		live = append(live, t.added...)
		t.added = nil
		t.mu.Unlock()
		if len(live) > 0 {
			live = t.poll(ctx, live)
		}
	}
}

// poll asks for the unknown handle hashes, hands the known ones to their
// scanners and returns the transfers still waiting for theirs.
func (t *tracker) poll(ctx context.Context, live []*transfer) []*transfer {
	t.lookupHandles(ctx, live)
	now := time.Now()
	var known []*transfer
	keep := live[:0]
	for _, x := range live {
		switch {
		case x.handle != (common.Hash{}):
			known = append(known, x)
		case now.Sub(x.start) > t.timeout:
			t.finish(x, now, fmt.Errorf("not handled within %s", t.timeout))
		default:
			keep = append(keep, x)
		}
	}
	clear(live[len(keep):])
	t.follow(ctx, known)
	return keep
}

// lookupHandles asks subbridge_convertRequestTxHashToHandleTxHash for the
// transfers whose handle hash is unknown; a zero hash means not handled yet.
func (t *tracker) lookupHandles(ctx context.Context, live []*transfer) {
	var elems []rpc.BatchElem
	var xs []*transfer
	for _, x := range live {
		if x.handle == (common.Hash{}) {
			xs = append(xs, x)
			elems = append(elems, rpc.BatchElem{Method: "subbridge_convertRequestTxHashToHandleTxHash",
				Args: []any{x.req}, Result: &x.handle})
		}
	}
	if len(elems) == 0 {
		return
	}
	if err := t.sb.BatchCall(ctx, elems); err != nil {
		return // try again next round; the timeout catches a dead node
	}
	for i, e := range elems {
		if e.Error != nil {
			xs[i].handle = common.Hash{}
		}
	}
}

// follow tracks the handle transactions with their chains' scanners. The
// operator sends a handle transaction before the sub-bridge names it, so
// its block may have been scanned before Track: one receipt lookup per
// transfer, batched per chain, covers that.
func (t *tracker) follow(ctx context.Context, xs []*transfer) {
	byDst := map[*klay.Client][]*transfer{}
	for _, x := range xs {
		x.dst.Track(x.handle, func(inc klay.Inclusion) { t.included(x, inc) })
		byDst[x.dstC] = append(byDst[x.dstC], x)
	}
	for c, xs := range byDst {
		hashes := make([]common.Hash, len(xs))
		for i, x := range xs {
			hashes[i] = x.handle
		}
		rs, err := c.TransactionReceipts(ctx, hashes)
		if err != nil {
			continue // the scanner's own lookup at its timeout decides
		}
		for i, r := range rs {
			// Untrack decides between this and the scanner's verdict.
			if r != nil && xs[i].dst.Untrack(xs[i].handle) {
				t.included(xs[i], klay.Inclusion{Hash: r.TxHash, Block: r.BlockNumber, Status: r.Status, TxError: r.TxError, Receipt: r})
			}
		}
	}
}

// included records a handle transaction's verdict.
func (t *tracker) included(x *transfer, inc klay.Inclusion) {
	var err error
	switch {
	case inc.Err != nil:
		err = fmt.Errorf("handle tx: %w", inc.Err)
	case inc.Status != 1:
		err = fmt.Errorf("handle tx reverted (txError %#x)", inc.TxError)
	}
	end := inc.Time
	if err != nil || end.IsZero() {
		end = time.Now()
	}
	t.finish(x, end, err)
}

// finish records an awaited transfer's outcome.
func (t *tracker) finish(x *transfer, end time.Time, err error) {
	t.record(x, end, err)
	t.mu.Lock()
	t.waiting--
	t.mu.Unlock()
}

// record writes the aside row, from the due time to the handle's block.
func (t *tracker) record(x *transfer, end time.Time, err error) {
	x.out.Record(stats.Result{Method: methodE2E, Name: x.name, Aside: true, Latency: end.Sub(x.start), Err: err})
	if x.done != nil {
		x.done(err == nil)
	}
}
