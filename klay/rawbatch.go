package klay

import (
	"context"
	"sync"

	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/kaiachain/kaia/networks/rpc"
)

// Coalescing of klay_sendRawTransaction calls.
//
// At saturation the node and klayslave share the machine's cores, and an
// HTTP request per transaction costs both sides more than the node's own
// work on it (a profile put a quarter of klayslave's CPU in the HTTP send).
// Calls made while earlier ones are in flight are queued and go out
// together as one JSON-RPC batch, each element with its own answer. At a
// low rate a call finds a free slot and goes out alone, at once: batching
// adds no latency, it only happens when callers would otherwise queue on
// the connection pool.
const (
	// rawBatchMax is the most transactions in one batch: about 30 KB of
	// request for value transfers, far under Kaia's request size limit.
	rawBatchMax = 128
	// rawBatchSlots is how many batches may be in flight at once. The
	// node runs a batch's elements one after another; two keep a 2-core
	// devnet's EN as busy as four did (1,749-1,846 against 1,555-1,750
	// tx/s in alternating 30 s runs), in larger batches that cost
	// klayslave less CPU per transaction.
	rawBatchSlots = 2
)

// rawCall is one queued klay_sendRawTransaction.
type rawCall struct {
	ctx  context.Context
	raw  []byte
	hash common.Hash
	err  error
	done chan struct{}
}

// rawBatcher queues calls and runs at most rawBatchSlots flushers, each of
// which sends what is queued, in batches, until the queue is empty.
type rawBatcher struct {
	c *Client
	// send sends one batch through Kaia's RPC client (any transport).
	send func(ctx context.Context, elems []rpc.BatchElem) error
	// post, set for HTTP endpoints, sends calls as one request and answers
	// each: the hot path, without the RPC client's reflection.
	post func(ctx context.Context, calls []*rawCall) error

	mu       sync.Mutex
	queue    []*rawCall
	flushers int
}

// do queues raw and waits, bounded by ctx, for its answer.
func (b *rawBatcher) do(ctx context.Context, raw []byte) (common.Hash, error) {
	call := &rawCall{ctx: ctx, raw: raw, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, call)
	start := b.flushers < rawBatchSlots
	if start {
		b.flushers++
	}
	b.mu.Unlock()
	if start {
		go b.flush()
	}
	select {
	case <-call.done:
		return call.hash, call.err
	case <-ctx.Done():
		// Sent or not, the caller learns nothing more: an unknown
		// outcome, as for any call cut short.
		return common.Hash{}, ctx.Err()
	}
}

// flush sends batches until the queue is empty, then ends.
func (b *rawBatcher) flush() {
	for {
		b.mu.Lock()
		n := min(len(b.queue), rawBatchMax)
		if n == 0 {
			b.flushers--
			b.mu.Unlock()
			return
		}
		calls := make([]*rawCall, 0, n)
		for _, c := range b.queue[:n] {
			if c.ctx.Err() == nil { // its caller has gone: never sent
				calls = append(calls, c)
			}
		}
		b.queue = append(b.queue[:0], b.queue[n:]...)
		b.mu.Unlock()
		if len(calls) > 0 {
			b.sendBatch(calls)
		}
	}
}

// sendBatch sends calls as one JSON-RPC batch (a lone call as a plain
// call) and answers each. The batch is bounded by the client's call
// timeout, not by any one caller's context: the others still wait for it.
func (b *rawBatcher) sendBatch(calls []*rawCall) {
	ctx, cancel := context.WithTimeout(context.Background(), b.c.callTimeout)
	defer cancel()
	if b.post != nil {
		if err := b.post(ctx, calls); err != nil {
			for _, c := range calls {
				c.err = err
			}
		}
		for _, c := range calls {
			close(c.done)
		}
		return
	}
	if len(calls) == 1 {
		c := calls[0]
		c.err = b.c.rpc.CallContext(ctx, &c.hash, "klay_sendRawTransaction", hexutil.Bytes(c.raw))
		close(c.done)
		return
	}
	elems := make([]rpc.BatchElem, len(calls))
	for i, c := range calls {
		elems[i] = rpc.BatchElem{Method: "klay_sendRawTransaction", Args: []interface{}{hexutil.Bytes(c.raw)}, Result: &c.hash}
	}
	err := b.send(ctx, elems)
	for i, c := range calls {
		switch {
		case err != nil:
			c.err = err
		case elems[i].Error != nil:
			c.err = elems[i].Error
		}
		close(c.done)
	}
}
