package klay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/klayslave/klayslave/jsonrpc"
)

// Block is the part of a klay_getBlockByNumber(n, false) answer the scanner
// uses.
type Block struct {
	Number     uint64
	Hash       common.Hash
	ParentHash common.Hash
	// Time is timestamp (s) + timestampFoS × 10 ms: Kaia keeps the
	// fraction of the second apart, and blocks come every second, so the
	// seconds alone would make every interval 0 s or 1 s.
	Time    time.Time
	GasUsed uint64
	Txs     []common.Hash
	// Receipts is the header's receiptsRoot (zero when the node gave
	// none): see receiptroot.go.
	Receipts common.Hash
	// Logged: the header's logsBloom has a bit set, so some transaction
	// of the block logged (false when the node gave no bloom).
	Logged bool
}

type rpcBlock struct {
	Number       *hexutil.Big    `json:"number"`
	Hash         *common.Hash    `json:"hash"`
	ParentHash   common.Hash     `json:"parentHash"`
	Timestamp    *hexutil.Big    `json:"timestamp"`
	TimestampFoS *hexutil.Uint64 `json:"timestampFoS"`
	GasUsed      hexutil.Uint64  `json:"gasUsed"`
	ReceiptsRoot *common.Hash    `json:"receiptsRoot"`
	LogsBloom    *types.Bloom    `json:"logsBloom"`
	Transactions []common.Hash   `json:"transactions"`
}

// maxBlockTime bounds a block's timestamp (year 2514): time.Unix would
// overflow on a hostile node's huge value and every interval would be
// nonsense anyway.
const maxBlockTime = 1 << 34

// decodeBlock decodes a klay_getBlockByNumber(n, false) result; a null
// result (the block does not exist yet) is ErrNotFound.
func decodeBlock(raw json.RawMessage) (*Block, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, ErrNotFound
	}
	var b rpcBlock
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("decode block: %w", err)
	}
	if b.Number == nil || b.Hash == nil || b.Timestamp == nil {
		return nil, errors.New("decode block: number, hash or timestamp missing")
	}
	num, ts := b.Number.ToInt(), b.Timestamp.ToInt()
	if !num.IsUint64() {
		return nil, fmt.Errorf("decode block: number %s out of range", num)
	}
	if !ts.IsUint64() || ts.Uint64() > maxBlockTime {
		return nil, fmt.Errorf("decode block %d: timestamp %s out of range", num.Uint64(), ts)
	}
	var fos uint64
	if b.TimestampFoS != nil {
		fos = uint64(*b.TimestampFoS)
	}
	// The fraction of second counts tens of milliseconds.
	if fos > 99 {
		return nil, fmt.Errorf("decode block %d: timestampFoS %d out of range", num.Uint64(), fos)
	}
	var receiptsRoot common.Hash
	if b.ReceiptsRoot != nil {
		receiptsRoot = *b.ReceiptsRoot
	}
	return &Block{
		Number:     num.Uint64(),
		Hash:       *b.Hash,
		ParentHash: b.ParentHash,
		Time:       time.Unix(int64(ts.Uint64()), int64(fos)*int64(10*time.Millisecond)),
		GasUsed:    uint64(b.GasUsed),
		Txs:        b.Transactions,
		Receipts:   receiptsRoot,
		Logged:     b.LogsBloom != nil && *b.LogsBloom != types.Bloom{},
	}, nil
}

// blockReceipt is one entry of eth_ or klay_getBlockReceipts: a receipt plus the
// block it belongs to, so that an answer from another fork is caught.
type blockReceipt struct {
	rpcReceipt
	BlockHash *common.Hash `json:"blockHash"`
}

// errReceiptsOtherBlock: the receipts answer is for another block of the
// same height (a reorg between the two halves of the batch).
var errReceiptsOtherBlock = errors.New("receipts belong to another block")

// decodeBlockReceipts decodes an eth_ or klay_getBlockReceipts result into receipts
// by transaction hash. Null entries (the node lacks that receipt) are left
// out; the caller finds them missing. A null result gives an empty map.
func decodeBlockReceipts(raw json.RawMessage, blockHash common.Hash) (map[common.Hash]*Receipt, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return map[common.Hash]*Receipt{}, nil
	}
	elems, ok := jsonrpc.Elements(raw)
	if !ok {
		// Not an array Elements can walk: encoding/json decides, and
		// says what is wrong.
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("decode block receipts: %w", err)
		}
		elems = make([][]byte, len(list))
		for i, e := range list {
			elems[i] = e
		}
	}
	out := make(map[common.Hash]*Receipt, len(elems))
	other := false
	for _, e := range elems {
		r, bh, skip, fast := scanBlockReceipt(e)
		if !fast {
			var br *blockReceipt
			if err := json.Unmarshal(e, &br); err != nil {
				return nil, fmt.Errorf("decode block receipts: %w", err)
			}
			skip = br == nil || br.BlockNumber == nil
			if !skip {
				r, bh = br.receipt(), br.BlockHash
			}
		}
		if skip {
			continue
		}
		if bh != nil && *bh != blockHash {
			other = true // said once every entry has decoded, as before
		}
		out[r.TxHash] = r
	}
	if other {
		return nil, errReceiptsOtherBlock
	}
	return out, nil
}

// receiptsSource is where the scanner takes a block's receipts from, best
// first; it moves down the list when a node lacks a method.
type receiptsSource int

const (
	// ethBlockReceipts: eth_getBlockReceipts costs a Kaia v1.0.3 node
	// less than half the CPU of klay_getBlockReceipts (17 against 39 µs a
	// transaction, bench/receiptcost.py), CPU its blocks do not get when
	// klayslave shares its machine. It lacks Kaia's txError, which the
	// scanner fetches for the reverted transactions only.
	ethBlockReceipts receiptsSource = iota
	klayBlockReceipts
	// txReceipts: the tracked transactions' receipts one by one.
	txReceipts
)

func (r receiptsSource) method() string {
	switch r {
	case ethBlockReceipts:
		return "eth_getBlockReceipts"
	case klayBlockReceipts:
		return "klay_getBlockReceipts"
	}
	return "klay_getTransactionReceipt"
}

// blockAndReceipts fetches block n and, unless receiptsMethod is "", its
// receipts with that method (eth_ or klay_getBlockReceipts): two calls
// sent at once, so one round trip. (Not one JSON-RPC batch: Kaia v1.0.3's
// HTTP batch blocks forever, whatever the context, when a node answers
// with more elements than asked; single calls are bounded.) The receipts
// are asked by number, not by the block's hash, which would need a second
// round trip; decodeBlockReceipts then checks they belong to the block
// fetched. receiptsErr is the node's error for the receipts (e.g. method
// not found, or receipts of another block); err is an I/O error or an
// undecodable block.
//
// gotBlock, if not nil, is called with the block as soon as it is decoded,
// while the receipts may still be on their way.
func (c *Client) blockAndReceipts(ctx context.Context, n uint64, receiptsMethod string, gotBlock func(*Block)) (b *Block, receipts map[common.Hash]*Receipt, receiptsErr, err error) {
	num := hexutil.EncodeUint64(n)
	var rawReceipts json.RawMessage
	var wg sync.WaitGroup
	if receiptsMethod != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rawReceipts, receiptsErr = c.callLarge(ctx, receiptsMethod, num)
		}()
	}
	var rawBlock json.RawMessage
	callErr := c.Call(ctx, &rawBlock, "klay_getBlockByNumber", num, false)
	if callErr == nil {
		b, err = decodeBlock(rawBlock)
		if err == nil && gotBlock != nil {
			gotBlock(b)
		}
	}
	wg.Wait()
	if callErr != nil {
		return nil, nil, nil, fmt.Errorf("block %d: %w", n, callErr)
	}
	if err != nil || receiptsMethod == "" {
		return b, nil, nil, err
	}
	if receiptsErr != nil {
		return b, nil, receiptsErr, nil
	}
	receipts, receiptsErr = decodeBlockReceipts(rawReceipts, b.Hash)
	return b, receipts, receiptsErr, nil
}

// blockReceipts fetches the receipts of block n, which must be blockHash,
// with method (eth_ or klay_getBlockReceipts).
func (c *Client) blockReceipts(ctx context.Context, n uint64, method string, blockHash common.Hash) (map[common.Hash]*Receipt, error) {
	raw, err := c.callLarge(ctx, method, hexutil.EncodeUint64(n))
	if err != nil {
		return nil, err
	}
	return decodeBlockReceipts(raw, blockHash)
}

// maxLargeAnswer bounds an answer to callLarge: a block's receipts take
// about 1 KB a transaction, 5 MB for the largest blocks a devnet made.
const maxLargeAnswer = 256 << 20

// callLarge calls method with args and returns the raw result, for
// methods whose answers run to megabytes. Over HTTP the answer is read once
// into one buffer and its result found by a scan: Kaia's RPC client reads
// it three times (stream, message, result), and at saturation that was a
// tenth of klayslave's CPU. Other transports go through Call. An error in
// the answer is a *jsonRPCError (an rpc.Error).
func (c *Client) callLarge(ctx context.Context, method string, args ...interface{}) (json.RawMessage, error) {
	if c.post == nil {
		var raw json.RawMessage
		err := c.Call(ctx, &raw, method, args...)
		return raw, err
	}
	params, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	body := `{"jsonrpc":"2.0","id":1,"method":"` + method + `","params":` + string(params) + `}`
	data, err := c.post(ctx, []byte(body), maxLargeAnswer)
	if err != nil {
		return nil, err
	}
	if _, ok := jsonrpc.Field(data, "jsonrpc"); !ok {
		return nil, fmt.Errorf("malformed JSON-RPC answer from %s", c.url)
	}
	return answerResult(data, c.url)
}

// pooled returns which of hashes the node holds but no block does yet (its
// transaction pool): klay_getTransactionByHash answers them with no block
// number.
func (c *Client) pooled(ctx context.Context, hashes []common.Hash) (map[common.Hash]bool, error) {
	raws, errs, err := c.byHash(ctx, "klay_getTransactionByHash", hashes)
	if err != nil {
		return nil, err
	}
	out := map[common.Hash]bool{}
	for i := range raws {
		if errs[i] != nil || len(raws[i]) == 0 || string(raws[i]) == "null" {
			continue
		}
		var tx struct {
			Hash        *common.Hash    `json:"hash"`
			BlockNumber *hexutil.Uint64 `json:"blockNumber"`
		}
		if json.Unmarshal(raws[i], &tx) != nil || tx.Hash == nil || *tx.Hash != hashes[i] || tx.BlockNumber != nil {
			continue
		}
		out[hashes[i]] = true
	}
	return out, nil
}

// receiptsOf fetches the receipts of hashes with batched
// klay_getTransactionReceipt, keeping only those of block blockHash (any
// block when it is zero). It is the fallback for nodes without
// klay_getBlockReceipts, and the last look before ErrNotIncluded.
func (c *Client) receiptsOf(ctx context.Context, hashes []common.Hash, blockHash common.Hash) (map[common.Hash]*Receipt, error) {
	raws, errs, err := c.byHash(ctx, "klay_getTransactionReceipt", hashes)
	if err != nil {
		return nil, err
	}
	out := make(map[common.Hash]*Receipt, len(hashes))
	for i := range raws {
		if errs[i] != nil || len(raws[i]) == 0 || string(raws[i]) == "null" {
			continue
		}
		var r blockReceipt
		if json.Unmarshal(raws[i], &r) != nil || r.BlockNumber == nil || r.TxHash != hashes[i] {
			continue
		}
		if blockHash != (common.Hash{}) && (r.BlockHash == nil || *r.BlockHash != blockHash) {
			continue // mined in another fork's block: missing for this one
		}
		out[r.TxHash] = r.receipt()
	}
	return out, nil
}
