package main

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/kaiachain/kaia/networks/rpc"
)

// Thin JSON-RPC helpers over kaia's networks/rpc. They use the klay_*
// namespace, which both Klaytn-era and Kaia nodes answer.

// defaultCallTimeout bounds each single RPC call.
const defaultCallTimeout = 5 * time.Second

func dial(ctx context.Context, url string) (*rpc.Client, error) {
	return rpc.DialContext(ctx, url)
}

func call(ctx context.Context, c *rpc.Client, result any, method string, args ...any) error {
	return callTimeout(ctx, defaultCallTimeout, c, result, method, args...)
}

// callTimeout is call with its own timeout, for calls that wait on chain
// (subbridge_deployBridge waits for both deployments).
func callTimeout(ctx context.Context, timeout time.Duration, c *rpc.Client, result any, method string, args ...any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return c.CallContext(ctx, result, method, args...)
}

func blockNumber(ctx context.Context, c *rpc.Client) (uint64, error) {
	var n hexutil.Uint64
	err := call(ctx, c, &n, "klay_blockNumber")
	return uint64(n), err
}

func chainID(ctx context.Context, c *rpc.Client) (*big.Int, error) {
	var id hexutil.Big
	err := call(ctx, c, &id, "klay_chainID")
	return id.ToInt(), err
}

func balanceOf(ctx context.Context, c *rpc.Client, addr common.Address) (*big.Int, error) {
	var b hexutil.Big
	err := call(ctx, c, &b, "klay_getBalance", addr, "latest")
	return b.ToInt(), err
}

// receipt holds the receipt fields the devnet looks at.
type receipt struct {
	Status          hexutil.Uint64  `json:"status"`
	BlockNumber     hexutil.Uint64  `json:"blockNumber"`
	ContractAddress *common.Address `json:"contractAddress"`
	GasUsed         hexutil.Uint64  `json:"gasUsed"`
}

// sendTx signs a legacy transaction locally and sends it with
// klay_sendRawTransaction. Chain id, nonce and gas price come from the
// node; gas is estimated when gas == 0.
func sendTx(ctx context.Context, c *rpc.Client, key *ecdsa.PrivateKey, to common.Address, value *big.Int, data []byte, gas uint64) (common.Hash, error) {
	from := keyAddr(key)
	id, err := chainID(ctx, c)
	if err != nil {
		return common.Hash{}, fmt.Errorf("klay_chainID: %w", err)
	}
	var price hexutil.Big
	if err := call(ctx, c, &price, "klay_gasPrice"); err != nil {
		return common.Hash{}, fmt.Errorf("klay_gasPrice: %w", err)
	}
	var nonce hexutil.Uint64
	if err := call(ctx, c, &nonce, "klay_getTransactionCount", from, "pending"); err != nil {
		return common.Hash{}, fmt.Errorf("klay_getTransactionCount: %w", err)
	}
	if gas == 0 {
		var est hexutil.Uint64
		msg := map[string]any{"from": from, "to": to, "value": (*hexutil.Big)(value), "data": hexutil.Bytes(data)}
		if err := call(ctx, c, &est, "klay_estimateGas", msg); err != nil {
			return common.Hash{}, fmt.Errorf("klay_estimateGas: %w", err)
		}
		gas = uint64(est)*3/2 + 10000
	}
	tx := types.NewTransaction(uint64(nonce), to, value, gas, price.ToInt(), data)
	signed, err := types.SignTx(tx, types.LatestSignerForChainID(id), key)
	if err != nil {
		return common.Hash{}, err
	}
	raw, err := signed.MarshalBinary()
	if err != nil {
		return common.Hash{}, err
	}
	var hash common.Hash
	if err := call(ctx, c, &hash, "klay_sendRawTransaction", hexutil.Bytes(raw)); err != nil {
		return common.Hash{}, fmt.Errorf("klay_sendRawTransaction: %w", err)
	}
	return hash, nil
}

// waitReceipt polls for a receipt and fails when the tx reverted.
func waitReceipt(ctx context.Context, c *rpc.Client, hash common.Hash, timeout time.Duration) (*receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		var r *receipt
		if err := call(ctx, c, &r, "klay_getTransactionReceipt", hash); err == nil && r != nil {
			if r.Status != 1 {
				return r, fmt.Errorf("tx %s failed (status %d)", hash.Hex(), r.Status)
			}
			return r, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no receipt for tx %s within %s", hash.Hex(), timeout)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// sendAndWait sends a transaction and waits for its successful receipt.
func sendAndWait(ctx context.Context, c *rpc.Client, key *ecdsa.PrivateKey, to common.Address, value *big.Int, data []byte) (*receipt, error) {
	hash, err := sendTx(ctx, c, key, to, value, data, 0)
	if err != nil {
		return nil, err
	}
	return waitReceipt(ctx, c, hash, 30*time.Second)
}

// kaia converts whole KAIA to peb.
func kaia(n int64) *big.Int {
	return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18))
}
