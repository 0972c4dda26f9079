package klay

import (
	"sync"
	"time"
)

// BlockTally adds up scanned blocks: the on-chain side of a run's figures,
// which come from blocks, not from RPC acceptance. Safe for concurrent use.
type BlockTally struct {
	mu sync.Mutex
	t  Tally
}

// Tally is a run of blocks.
type Tally struct {
	Blocks      int
	First, Last uint64
	// Span is the time the blocks took: from the block before the first to
	// the last (each block holds what arrived since the one before it).
	Span        time.Duration
	Ours, All   int
	GasUsed     uint64
	EmptyOfOurs int           // blocks that held none of our transactions
	MaxInterval time.Duration // the longest wait between two blocks
	last        time.Time
}

// TPS is our transactions per second of block time.
func (t Tally) TPS() float64 {
	if t.Span <= 0 {
		return 0
	}
	return float64(t.Ours) / t.Span.Seconds()
}

// Add counts one block; a block already counted (a reorg's rescan) is not
// counted again.
func (bt *BlockTally) Add(b BlockStats) {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	t := &bt.t
	if t.Blocks > 0 && b.Number <= t.Last {
		return
	}
	if t.Blocks == 0 {
		t.First = b.Number
		t.Span = b.Interval
	} else {
		t.Span += b.Time.Sub(t.last)
	}
	t.Blocks++
	t.Last, t.last = b.Number, b.Time
	t.Ours += b.Ours
	t.All += b.Txs
	t.GasUsed += b.GasUsed
	if b.Ours == 0 {
		t.EmptyOfOurs++
	}
	t.MaxInterval = max(t.MaxInterval, b.Interval)
}

// Reset starts a new tally (a new test).
func (bt *BlockTally) Reset() {
	bt.mu.Lock()
	bt.t = Tally{}
	bt.mu.Unlock()
}

// Get returns the tally so far.
func (bt *BlockTally) Get() Tally {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	return bt.t
}
