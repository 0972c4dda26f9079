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
	trackTimeout  = 60 * time.Second
	// trackMax bounds the transfers awaited at once, so that a stalled
	// bridge cannot grow memory without limit.
	trackMax = 100_000
)

// transfer is a bridge request whose handling on the other chain is
// awaited.
type transfer struct {
	name   string // stats entry, "<case> main→service e2e"
	out    stats.Sink
	src    *klay.Client // chain of the request
	dst    *klay.Client // chain of the handle transaction
	req    common.Hash
	start  time.Time // when the request was about to be sent
	handle common.Hash
	// done, if set, learns whether the transfer was handled (in the
	// tracker goroutine; it must not block).
	done func(ok bool)
}

// tracker follows bridge transfers to their handle receipts in one
// goroutine, so that users go on sending while transfers are in flight:
// the load stays open. Each poll asks the sub-bridge for the handle hashes
// of the waiting requests and the destination chains for the receipts of
// the known handle transactions, in batches.
type tracker struct {
	sb       *klay.Client
	timeout  time.Duration
	interval time.Duration

	mu      sync.Mutex
	added   []*transfer
	waiting int
}

// startTracker starts the tracker goroutine, which runs until ctx ends;
// transfers still in flight then are dropped unrecorded.
func startTracker(ctx context.Context, sb *klay.Client) *tracker {
	t := &tracker{sb: sb, timeout: trackTimeout, interval: trackInterval}
	go t.run(ctx)
	return t
}

// add hands a sent request to the tracker.
func (t *tracker) add(x *transfer) {
	t.mu.Lock()
	full := t.waiting >= trackMax
	if !full {
		t.added = append(t.added, x)
		t.waiting++
	}
	t.mu.Unlock()
	if full {
		t.finish(x, errors.New("too many transfers in flight"))
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
			n := len(live)
			live = t.poll(ctx, live)
			t.mu.Lock()
			t.waiting -= n - len(live)
			t.mu.Unlock()
		}
	}
}

// poll advances every transfer one step and returns those still waiting.
func (t *tracker) poll(ctx context.Context, live []*transfer) []*transfer {
	t.lookupHandles(ctx, live)
	t.lookupReceipts(ctx, live)
	now := time.Now()
	keep := live[:0]
	for _, x := range live {
		switch {
		case x.out == nil: // finished this round
		case now.Sub(x.start) > t.timeout:
			t.finish(x, t.timeoutError(ctx, x))
		default:
			keep = append(keep, x)
			continue
		}
	}
	clear(live[len(keep):])
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

// lookupReceipts fetches the handle receipts, one batch per destination.
func (t *tracker) lookupReceipts(ctx context.Context, live []*transfer) {
	byDst := map[*klay.Client][]*transfer{}
	for _, x := range live {
		if x.handle != (common.Hash{}) {
			byDst[x.dst] = append(byDst[x.dst], x)
		}
	}
	for c, xs := range byDst {
		hashes := make([]common.Hash, len(xs))
		for i, x := range xs {
			hashes[i] = x.handle
		}
		rs, err := c.TransactionReceipts(ctx, hashes)
		if err != nil {
			continue
		}
		for i, r := range rs {
			switch {
			case r == nil:
			case r.Status == 1:
				t.finish(xs[i], nil)
			default:
				t.finish(xs[i], fmt.Errorf("handle tx reverted (txError %#x)", r.TxError))
			}
		}
	}
}

// timeoutError explains a transfer that was not handled in time: most
// often the request itself failed.
func (t *tracker) timeoutError(ctx context.Context, x *transfer) error {
	r, err := x.src.TransactionReceipt(ctx, x.req)
	switch {
	case err == nil && r.Status != 1:
		return fmt.Errorf("request tx reverted (txError %#x)", r.TxError)
	case errors.Is(err, klay.ErrNotFound):
		return fmt.Errorf("request tx not mined within %s", t.timeout)
	case x.handle != (common.Hash{}):
		return fmt.Errorf("handle tx not mined within %s", t.timeout)
	}
	return fmt.Errorf("not handled within %s", t.timeout)
}

// finish records the outcome, an aside row, and marks x finished (out
// and done nil).
func (t *tracker) finish(x *transfer, err error) {
	x.out.Record(stats.Result{Method: methodE2E, Name: x.name, Aside: true, Latency: time.Since(x.start), Err: err})
	if x.done != nil {
		x.done(err == nil)
	}
	x.out, x.done = nil, nil
}
