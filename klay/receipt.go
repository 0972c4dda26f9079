package klay

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/kaiachain/kaia/networks/rpc"
)

// Receipt is the part of a klay_getTransactionReceipt answer klayslave uses.
type Receipt struct {
	TxHash      common.Hash
	BlockNumber uint64
	From        common.Address
	To          *common.Address
	Status      uint64 // 1 success, 0 failure
	TxError     uint64 // Kaia's failure code when Status is 0
	GasUsed     uint64
	// GasPrice is the price the transaction offered.
	GasPrice *big.Int
	// EffectiveGasPrice is the price actually charged; nil if the node
	// does not report it.
	EffectiveGasPrice *big.Int
	ContractAddress   *common.Address
	Logs              []*types.Log
}

// Fee returns gasUsed × the effective gas price (the offered price when the
// node does not report an effective one).
func (r *Receipt) Fee() *big.Int {
	price := r.EffectiveGasPrice
	if price == nil {
		price = r.GasPrice
	}
	if price == nil {
		return new(big.Int)
	}
	return new(big.Int).Mul(price, new(big.Int).SetUint64(r.GasUsed))
}

type rpcReceipt struct {
	TxHash            common.Hash     `json:"transactionHash"`
	BlockNumber       *hexutil.Big    `json:"blockNumber"`
	From              common.Address  `json:"from"`
	To                *common.Address `json:"to"`
	Status            hexutil.Uint64  `json:"status"`
	TxError           *hexutil.Uint64 `json:"txError"`
	GasUsed           hexutil.Uint64  `json:"gasUsed"`
	GasPrice          *hexutil.Big    `json:"gasPrice"`
	EffectiveGasPrice *hexutil.Big    `json:"effectiveGasPrice"`
	ContractAddress   *common.Address `json:"contractAddress"`
	Logs              []*types.Log    `json:"logs"`
}

func (r *rpcReceipt) receipt() *Receipt {
	out := &Receipt{
		TxHash:          r.TxHash,
		From:            r.From,
		To:              r.To,
		Status:          uint64(r.Status),
		GasUsed:         uint64(r.GasUsed),
		ContractAddress: r.ContractAddress,
		Logs:            r.Logs,
	}
	if r.BlockNumber != nil {
		out.BlockNumber = r.BlockNumber.ToInt().Uint64()
	}
	if r.TxError != nil {
		out.TxError = uint64(*r.TxError)
	}
	if r.GasPrice != nil {
		out.GasPrice = r.GasPrice.ToInt()
	}
	if r.EffectiveGasPrice != nil {
		out.EffectiveGasPrice = r.EffectiveGasPrice.ToInt()
	}
	return out
}

// TransactionReceipt returns the receipt of a mined transaction, or
// ErrNotFound while it is pending or unknown.
func (c *Client) TransactionReceipt(ctx context.Context, hash common.Hash) (*Receipt, error) {
	var raw json.RawMessage
	if err := c.Call(ctx, &raw, "klay_getTransactionReceipt", hash); err != nil {
		return nil, err
	}
	return decodeReceipt(raw)
}

// byHash calls method(hash) for every hash in one JSON-RPC batch and returns
// each raw result with its error; err is the batch's own.
func (c *Client) byHash(ctx context.Context, method string, hashes []common.Hash) (raws []json.RawMessage, errs []error, err error) {
	raws = make([]json.RawMessage, len(hashes))
	elems := make([]rpc.BatchElem, len(hashes))
	for i, h := range hashes {
		elems[i] = rpc.BatchElem{Method: method, Args: []interface{}{h}, Result: &raws[i]}
	}
	if err := c.BatchCall(ctx, elems); err != nil {
		return nil, nil, err
	}
	errs = make([]error, len(hashes))
	for i := range elems {
		errs[i] = elems[i].Error
	}
	return raws, errs, nil
}

// TransactionReceipts fetches many receipts in batches. The result has one
// entry per hash, nil where the receipt is not available yet.
func (c *Client) TransactionReceipts(ctx context.Context, hashes []common.Hash) ([]*Receipt, error) {
	raws, errs, err := c.byHash(ctx, "klay_getTransactionReceipt", hashes)
	if err != nil {
		return nil, err
	}
	out := make([]*Receipt, len(hashes))
	for i := range raws {
		if errs[i] != nil {
			return nil, fmt.Errorf("receipt %s: %w", hashes[i].Hex(), errs[i])
		}
		r, err := decodeReceipt(raws[i])
		if err == ErrNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

func decodeReceipt(raw json.RawMessage) (*Receipt, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, ErrNotFound
	}
	var r rpcReceipt
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("decode receipt: %w", err)
	}
	if r.BlockNumber == nil {
		return nil, ErrNotFound
	}
	return r.receipt(), nil
}
