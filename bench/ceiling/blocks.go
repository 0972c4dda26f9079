package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/kaiachain/kaia/networks/rpc"
	"github.com/klayslave/klayslave/klay"
)

// block is what the count needs of one block.
type block struct {
	Number      uint64  `json:"number"`
	TimeMs      int64   `json:"timeMs"` // unix ms: timestamp + timestampFoS × 10 ms
	Txs         int     `json:"txs"`    // all transactions
	Ours        int     `json:"ours"`   // transactions of this run
	GasUsed     uint64  `json:"gasUsed"`
	BaseFeeGkei float64 `json:"baseFeeGkei,omitempty"`
}

// rpcBlock is klay_getBlockByNumber(n, false) as Kaia v1.0.3 answers it.
type rpcBlock struct {
	Number       *hexutil.Uint64 `json:"number"`
	Timestamp    *hexutil.Uint64 `json:"timestamp"`
	TimestampFoS hexutil.Uint64  `json:"timestampFoS"` // fraction of the second, in 10 ms: 0..99
	GasUsed      hexutil.Uint64  `json:"gasUsed"`
	BaseFee      *hexutil.Big    `json:"baseFeePerGas"`
	Transactions []common.Hash   `json:"transactions"`
}

var errNoBlock = errors.New("no such block")

// decodeBlock reads a block answer; ours is the set of this run's hashes.
func decodeBlock(raw json.RawMessage, ours map[common.Hash]struct{}) (block, error) {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return block{}, errNoBlock
	}
	var b rpcBlock
	if err := json.Unmarshal(raw, &b); err != nil {
		return block{}, fmt.Errorf("malformed block: %v", oneLine(err.Error()))
	}
	if b.Number == nil || b.Timestamp == nil {
		return block{}, errors.New("malformed block: no number or timestamp")
	}
	if b.TimestampFoS > 99 || uint64(*b.Timestamp) > 1<<40 {
		return block{}, fmt.Errorf("malformed block %d: timestamp %d, timestampFoS %d out of range", uint64(*b.Number), uint64(*b.Timestamp), uint64(b.TimestampFoS))
	}
	out := block{Number: uint64(*b.Number), TimeMs: int64(*b.Timestamp)*1000 + int64(b.TimestampFoS)*10,
		Txs: len(b.Transactions), GasUsed: uint64(b.GasUsed)}
	for _, h := range b.Transactions {
		if _, ok := ours[h]; ok {
			out.Ours++
		}
	}
	if b.BaseFee != nil {
		out.BaseFeeGkei, _ = new(big.Float).Quo(new(big.Float).SetInt(b.BaseFee.ToInt()), big.NewFloat(1e9)).Float64()
	}
	return out, nil
}

// blockBatch is how many blocks one JSON-RPC batch asks for: a saturated
// block lists a few thousand hashes (~70 bytes each).
const blockBatch = 16

// fetchBlocks returns blocks from..to (inclusive) in order.
func fetchBlocks(ctx context.Context, c *klay.Client, from, to uint64, ours map[common.Hash]struct{}) ([]block, error) {
	var out []block
	for lo := from; lo <= to; lo += blockBatch {
		hi := min(lo+blockBatch-1, to)
		raws := make([]json.RawMessage, hi-lo+1)
		elems := make([]rpc.BatchElem, len(raws))
		for i := range elems {
			elems[i] = rpc.BatchElem{Method: "klay_getBlockByNumber", Args: []interface{}{hexutil.Uint64(lo + uint64(i)), false}, Result: &raws[i]}
		}
		if err := c.BatchCall(ctx, elems); err != nil {
			return out, fmt.Errorf("blocks %d..%d from %s: %w", lo, hi, c.URL(), err)
		}
		for i := range elems {
			n := lo + uint64(i)
			if elems[i].Error != nil {
				return out, fmt.Errorf("block %d from %s: %w", n, c.URL(), elems[i].Error)
			}
			b, err := decodeBlock(raws[i], ours)
			if err != nil {
				return out, fmt.Errorf("block %d from %s: %w", n, c.URL(), err)
			}
			if b.Number != n {
				return out, fmt.Errorf("asked %s for block %d, got %d", c.URL(), n, b.Number)
			}
			out = append(out, b)
		}
		if hi == to { // also stops lo+blockBatch from wrapping
			break
		}
	}
	return out, nil
}

// drain follows the blocks after the deadline block until one holds none
// of this run's transfers (the pool has no more of them), for at most
// maxBlocks blocks and maxWait. It returns the blocks it read.
func drain(ctx context.Context, c *klay.Client, after uint64, ours map[common.Hash]struct{}, maxBlocks int, maxWait time.Duration) ([]block, error) {
	ctx, cancel := context.WithTimeout(ctx, maxWait)
	defer cancel()
	var out []block
	next := after + 1
	for len(out) < maxBlocks {
		head, err := c.BlockNumber(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return out, nil // waited long enough: count what came
			}
			return out, fmt.Errorf("block number from %s: %w", c.URL(), err)
		}
		if head >= next {
			bs, err := fetchBlocks(ctx, c, next, min(head, next+uint64(maxBlocks-len(out))-1), ours)
			for _, b := range bs {
				out = append(out, b)
				if b.Ours == 0 {
					return out, nil
				}
			}
			if err != nil {
				if ctx.Err() != nil {
					return out, nil
				}
				return out, err
			}
			next += uint64(len(bs))
			continue
		}
		t := time.NewTimer(200 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return out, nil
		}
	}
	return out, nil
}

// window is a rate over a run of blocks.
type window struct {
	Blocks  int     `json:"blocks"`
	Txs     int     `json:"txs"`
	Ours    int     `json:"ours"`
	Seconds float64 `json:"seconds"` // last block time − the time of the block before the first
	TPS     float64 `json:"tps"`     // Txs / Seconds
	OursTPS float64 `json:"oursTps"` // Ours / Seconds
}

// summary is the count from blocks.
type summary struct {
	StartBlock  uint64  `json:"startBlock"` // head when sending began; not counted
	FirstBlock  uint64  `json:"firstBlock"`
	LastBlock   uint64  `json:"lastBlock"`
	Run         window  `json:"run"`
	First       window  `json:"first"` // the first FirstN blocks
	FirstN      int     `json:"firstN"`
	EmptyBlocks int     `json:"emptyBlocks"` // counted blocks without any transaction
	PerBlock    []block `json:"perBlock"`
}

// rate counts blocks bs, timed from `before` (the block preceding bs[0]):
// a block holds what arrived since the block before it, so n blocks span n
// block intervals.
func rate(before block, bs []block) window {
	w := window{Blocks: len(bs)}
	if len(bs) == 0 {
		return w
	}
	for _, b := range bs {
		w.Txs += b.Txs
		w.Ours += b.Ours
	}
	w.Seconds = float64(bs[len(bs)-1].TimeMs-before.TimeMs) / 1000
	if w.Seconds > 0 {
		w.TPS = float64(w.Txs) / w.Seconds
		w.OursTPS = float64(w.Ours) / w.Seconds
	}
	return w
}

// summarize counts the blocks after start; firstN sets the early window.
func summarize(start block, bs []block, firstN int) summary {
	s := summary{StartBlock: start.Number, FirstN: firstN, PerBlock: bs,
		Run: rate(start, bs), First: rate(start, bs[:min(firstN, len(bs))])}
	if len(bs) > 0 {
		s.FirstBlock, s.LastBlock = bs[0].Number, bs[len(bs)-1].Number
	}
	for _, b := range bs {
		if b.Txs == 0 {
			s.EmptyBlocks++
		}
	}
	if s.PerBlock == nil {
		s.PerBlock = []block{}
	}
	return s
}

// trimTail drops the blocks after the last one holding a transfer of this
// run, keeping at least the blocks up to keep: empty blocks after the pool
// ran dry say nothing about the node's ceiling.
func trimTail(bs []block, keep uint64) []block {
	end := len(bs)
	for end > 0 && bs[end-1].Ours == 0 && bs[end-1].Number > keep {
		end--
	}
	return bs[:end]
}
